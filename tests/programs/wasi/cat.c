/* cat: each argument's contents to stdout, or why it could not be read (exit 1). */
#include <fcntl.h>
#include <unistd.h>
#include "check.h"

int main(int argc, char **argv) {
    int status = 0;
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            printf("%s: %s\n", argv[i], strerror(errno));
            status = 1;
            continue;
        }
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            fwrite(buf, 1, (size_t)n, stdout);
        close(fd);
    }
    if (argc > 1 && strcmp(argv[argc - 1], "--write") == 0) {
        FILE *f = fopen("/data/new.txt", "w");
        printf("write into /data: %s\n", f ? "ok" : strerror(errno));
    }
    return status;
}
