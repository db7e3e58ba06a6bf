/* Sleeps (poll_oneoff with a clock) or spins, for kill and timeout tests; or raises. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
int32_t raw_proc_raise(int32_t sig);

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "sleep";
    if (strcmp(how, "sleep") == 0) {
        sleep(30);
    } else if (strcmp(how, "spin") == 0) {
        volatile uint64_t n = 0;
        for (;;)
            n++;
    } else if (strcmp(how, "raise") == 0) {
        int r = raw_proc_raise(atoi(argv[2]));
        printf("proc_raise returned %d\n", r);
    } else if (strcmp(how, "utimes") == 0) {
        int fd = open("f", O_CREAT | O_WRONLY, 0644);
        struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
        errno = 0;
        int r = futimens(fd, ts);
        printf("futimens: %d %d\n", r, r ? errno : 0);
    }
    return 0;
}
