/* Opens files until open fails, says how many and why, then holds them (sleeps). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    int n = 0;
    while (open("/data", O_RDONLY) >= 0)
        n++;
    printf("held %d %s\n", n, errno == EMFILE ? "EMFILE" : errno == ENFILE ? "ENFILE" : strerror(errno));
    fflush(stdout);
    sleep(60);
    return 0;
}
