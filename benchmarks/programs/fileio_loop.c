/* Times N reads or writes of SIZE bytes at offset 0 of a file (hot page cache), N
 * open+close pairs (for reading, or for appending), or N lines of SIZE bytes written
 * with fwrite and read back with fgets (stdio's buffers: writev and read of 1 KiB):
 * prints ns per operation (per line).
 * Usage: fileio_loop read|write|open|open-append|lines SIZE N   (works on ./bench.dat) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s read|write|open|open-append|lines SIZE N\n", argv[0]);
        return 2;
    }
    size_t size = (size_t)atol(argv[2]);
    long n = atol(argv[3]);
    char *buf = malloc(size ? size : 1);
    memset(buf, 'x', size);
    int fd = open("bench.dat", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0 || pwrite(fd, buf, size, 0) != (ssize_t)size) {
        perror("bench.dat");
        return 1;
    }
    long long start = now_ns();
    if (!strcmp(argv[1], "read")) {
        for (long i = 0; i < n; i++)
            if (pread(fd, buf, size, 0) != (ssize_t)size) return 1;
    } else if (!strcmp(argv[1], "write")) {
        for (long i = 0; i < n; i++)
            if (pwrite(fd, buf, size, 0) != (ssize_t)size) return 1;
    } else if (!strcmp(argv[1], "open")) {
        for (long i = 0; i < n; i++)
            close(open("bench.dat", O_RDONLY));
    } else if (!strcmp(argv[1], "open-append")) {
        for (long i = 0; i < n; i++)
            close(open("bench.dat", O_WRONLY | O_APPEND));
    } else if (!strcmp(argv[1], "lines") && size > 0) {
        FILE *f = fdopen(fd, "w+");
        char *line = malloc(size + 1);
        buf[size - 1] = '\n';
        for (long i = 0; i < n; i++)
            if (fwrite(buf, 1, size, f) != size) return 1;
        if (fflush(f) || fseek(f, 0, SEEK_SET)) return 1;
        for (long i = 0; i < n; i++)
            if (!fgets(line, (int)size + 1, f)) return 1;
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    long long elapsed = now_ns() - start;
    close(fd);
    unlink("bench.dat");
    printf("%.2f\n", (double)elapsed / (double)n);
    return 0;
}
