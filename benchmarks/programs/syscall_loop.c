/* Times N calls of one system call from inside the program: prints ns per call.
 * Usage: syscall_loop geteuid|getpid|close|read0|lseek|fstat|stat|access|poll|readdir|
 *               statat|rename|unlink|clock N
 *   geteuid, getpid   identity calls (Lind answers them from its C table, no kernel call)
 *   close             close(-1) (Lind answers EBADF from its C table, no kernel call)
 *   read0             read(fd, buf, 0) on a host file (reaches the host kernel in Lind too)
 *   lseek             lseek(fd, 0, SEEK_CUR) on a host file (reaches the host kernel too)
 *   fstat             fstat(fd, &st) on a host file (reaches the host kernel too)
 *   stat              stat(name, &st) of that host file
 *   statat            fstatat(dirfd, name, &st, 0) of it, from a directory fd (tree walkers)
 *   access            access(name, R_OK) of that host file
 *   poll              poll of a pipe with nothing to read and its writable end, 0 ms
 *   readdir           opendir, readdir to the end and closedir of a directory of 50 files
 *   rename            rename of that host file to another name and back (two calls)
 *   unlink            a new file made (open O_CREAT, close) and unlinked
 *   clock             clock_gettime(CLOCK_MONOTONIC) (natively the vDSO, no kernel entry)
 *   sleep1, sleep10   nanosleep of 1 or 10 ms: prints the CPU time (getrusage) each sleep
 *                     costs, not its length: what an idle program polling so pays */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

static long long cpu_ns(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000000LL +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1000LL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s geteuid|getpid|close|read0|lseek|fstat|stat|access|poll|"
                "readdir|statat|rename|unlink|clock|sleep1|sleep10 N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    volatile long sink = 0;
    char buf[1];
    int fd = -1;
    if (!strcmp(argv[1], "read0") || !strcmp(argv[1], "lseek") || !strcmp(argv[1], "fstat") ||
        !strcmp(argv[1], "stat") || !strcmp(argv[1], "access") || !strcmp(argv[1], "rename") ||
        !strcmp(argv[1], "statat")) {
        fd = open("syscall.dat", O_CREAT | O_RDWR | O_TRUNC, 0644);
        if (fd < 0 || write(fd, "x", 1) != 1) {
            perror("syscall.dat");
            return 1;
        }
    }
    enum { LISTED = 50 };
    char name[64];
    if (!strcmp(argv[1], "readdir")) {
        mkdir("syscall.d", 0755);
        for (int i = 0; i < LISTED; i++) {
            snprintf(name, sizeof name, "syscall.d/entry_%02d", i);
            int made = open(name, O_CREAT | O_WRONLY, 0644);
            if (made < 0) {
                perror(name);
                return 1;
            }
            close(made);
        }
    }
    long long start = now_ns(), cpu_used = -1;
    if (!strcmp(argv[1], "geteuid")) {
        for (long i = 0; i < n; i++) sink += syscall(SYS_geteuid);
    } else if (!strcmp(argv[1], "getpid")) {
        for (long i = 0; i < n; i++) sink += syscall(SYS_getpid);
    } else if (!strcmp(argv[1], "close")) {
        for (long i = 0; i < n; i++) sink += close(-1);
    } else if (!strcmp(argv[1], "read0")) {
        for (long i = 0; i < n; i++) sink += read(fd, buf, 0);
    } else if (!strcmp(argv[1], "lseek")) {
        for (long i = 0; i < n; i++) sink += lseek(fd, 0, SEEK_CUR);
    } else if (!strcmp(argv[1], "fstat")) {
        struct stat st;
        for (long i = 0; i < n; i++) sink += fstat(fd, &st) + st.st_size;
    } else if (!strcmp(argv[1], "stat")) {
        struct stat st;
        for (long i = 0; i < n; i++) sink += stat("syscall.dat", &st) + st.st_size;
    } else if (!strcmp(argv[1], "statat")) {
        struct stat st;
        int here = open(".", O_RDONLY | O_DIRECTORY);
        if (here < 0) {
            perror(".");
            return 1;
        }
        for (long i = 0; i < n; i++) sink += fstatat(here, "syscall.dat", &st, 0) + st.st_size;
        close(here);
    } else if (!strcmp(argv[1], "access")) {
        for (long i = 0; i < n; i++) sink += access("syscall.dat", R_OK);
    } else if (!strcmp(argv[1], "poll")) {
        int p[2];
        if (pipe(p)) {
            perror("pipe");
            return 1;
        }
        struct pollfd both[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
        for (long i = 0; i < n; i++) sink += poll(both, 2, 0) + both[1].revents;
    } else if (!strcmp(argv[1], "readdir")) {
        for (long i = 0; i < n; i++) {
            DIR *d = opendir("syscall.d");
            if (!d) {
                perror("syscall.d");
                return 1;
            }
            while (readdir(d))
                sink++;
            closedir(d);
        }
    } else if (!strcmp(argv[1], "rename")) {
        for (long i = 0; i < n; i++) {
            if (rename("syscall.dat", "syscall.moved") || rename("syscall.moved", "syscall.dat")) {
                perror("rename");
                return 1;
            }
        }
    } else if (!strcmp(argv[1], "unlink")) {
        for (long i = 0; i < n; i++) {
            int made = open("syscall.new", O_CREAT | O_WRONLY, 0644);
            if (made < 0 || close(made) || unlink("syscall.new")) {
                perror("syscall.new");
                return 1;
            }
        }
    } else if (!strcmp(argv[1], "sleep1") || !strcmp(argv[1], "sleep10")) {
        struct timespec pause = {0, (strcmp(argv[1], "sleep10") ? 1 : 10) * 1000000L};
        long long cpu = cpu_ns();
        for (long i = 0; i < n; i++) sink += nanosleep(&pause, NULL);
        cpu_used = cpu_ns() - cpu;
    } else if (!strcmp(argv[1], "clock")) {
        struct timespec t;
        for (long i = 0; i < n; i++) sink += clock_gettime(CLOCK_MONOTONIC, &t) + t.tv_nsec;
    } else {
        fprintf(stderr, "unknown call %s\n", argv[1]);
        return 2;
    }
    long long elapsed = cpu_used >= 0 ? cpu_used : now_ns() - start;
    if (fd >= 0) {
        close(fd);
        unlink("syscall.dat");
    }
    if (!strcmp(argv[1], "readdir")) {
        for (int i = 0; i < LISTED; i++) {
            snprintf(name, sizeof name, "syscall.d/entry_%02d", i);
            unlink(name);
        }
        rmdir("syscall.d");
    }
    printf("%.2f\n", (double)elapsed / (double)n);
    return 0;
}
