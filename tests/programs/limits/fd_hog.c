/* Opens files (with "mmap", maps shared pages, a host memfd each; with "memfd",
 * makes memfds) until that
 * fails, says how many and why, then holds them (sleeps). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int n = 0;
    if (argc > 1 && strcmp(argv[1], "mmap") == 0) {
        while (mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) != MAP_FAILED)
            n++;
    } else if (argc > 1 && strcmp(argv[1], "memfd") == 0) {
        while (memfd_create("hog", 0) >= 0)
            n++;
    } else {
        while (open("/data", O_RDONLY) >= 0)
            n++;
    }
    printf("held %d %s\n", n, errno == EMFILE ? "EMFILE" : errno == ENFILE ? "ENFILE" : strerror(errno));
    fflush(stdout);
    sleep(60);
    return 0;
}
