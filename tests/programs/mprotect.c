/* mprotect's page protection: guard pages fault, read-only pages refuse stores, system
 * calls given a protected buffer answer EFAULT (tests/test_mprotect.py). The modes that
 * print rather than fault are compared with the native build. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static volatile char *pages(int n)
{
    char *p = mmap(NULL, (size_t)n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(p, 'x', (size_t)n * PAGE);
    return p;
}

static void say(const char *what, long r)
{
    printf("%s: %s\n", what, r < 0 ? strerror(errno) : "ok");
    fflush(stdout);
}

static void on_fault(int sig)
{
    static const char line[] = "caught the fault\n";
    write(1, line, sizeof line - 1);
    _exit(0);
}

/* read/write and readv/writev given protected buffers, and the pages made usable again */
static void efault(void)
{
    volatile char *p = pages(3);
    int fds[2];
    pipe(fds);
    write(fds[1], "hello world", 11);
    say("mprotect none", mprotect((void *)(p + PAGE), PAGE, PROT_NONE));
    say("read into none", read(fds[0], (void *)(p + PAGE), 5));
    say("write from none", write(fds[1], (void *)(p + PAGE), 5));
    say("mprotect read", mprotect((void *)(p + PAGE), PAGE, PROT_READ));
    say("read into read-only", read(fds[0], (void *)(p + PAGE), 5));
    say("write from read-only", write(fds[1], (void *)(p + PAGE), 5));
    printf("load from read-only: %c\n", p[PAGE + 7]);
    struct iovec v = {(void *)(p + PAGE), 4};
    say("readv into read-only", readv(fds[0], &v, 1));
    say("writev from read-only", writev(fds[1], &v, 1));
    say("mprotect read|write", mprotect((void *)(p + PAGE), PAGE, PROT_READ | PROT_WRITE));
    say("read into restored", read(fds[0], (void *)(p + PAGE), 5));
    p[PAGE] = 'y';
    printf("store to restored: %c\n", p[PAGE]);
    say("mprotect page 0 of 3, none", mprotect((void *)p, 3 * PAGE, PROT_NONE));
    say("munmap", munmap((void *)p, 3 * PAGE));
    volatile char *q = mmap((void *)p, 3 * PAGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    q[PAGE] = 'z';
    printf("after munmap and mmap: %s %c\n", q == p ? "same place" : "elsewhere", q[PAGE]);
    say("mprotect none again", mprotect((void *)(q + PAGE), PAGE, PROT_NONE));
    volatile char *r = mmap((void *)q, 3 * PAGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    r[PAGE] = 'w';
    printf("after MAP_FIXED over it: %c\n", r[PAGE]);
}

/* the child of a fork inherits the protection; the parent's pages stay protected */
static void child(void)
{
    volatile char *p = pages(3);
    p[PAGE] = 'k';
    p[2 * PAGE] = 'q';
    mprotect((void *)(p + PAGE), PAGE, PROT_READ);
    mprotect((void *)(p + 2 * PAGE), PAGE, PROT_NONE);    /* copied all the same */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("child loads: %c\n", p[PAGE]);
        mprotect((void *)(p + 2 * PAGE), PAGE, PROT_READ);
        printf("child's copy of the inaccessible page: %c\n", p[2 * PAGE]);
        int fds[2];
        pipe(fds);
        write(fds[1], "abc", 3);
        say("child read into read-only", read(fds[0], (void *)(p + PAGE), 3));
        p[PAGE] = 'm';
        printf("child: not reached\n");
        exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child ended by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    mprotect((void *)(p + PAGE), PAGE, PROT_READ | PROT_WRITE);
    p[PAGE] = 'n';
    printf("parent stores after restoring: %c\n", p[PAGE]);
}

static volatile char *shared_page;

static void *protect_it(void *unused)
{
    mprotect((void *)shared_page, PAGE, PROT_NONE);
    return NULL;
}

/* A call's result as an errno number (musl's and glibc's strerror texts differ). */
static void number(const char *what, long r)
{
    printf("%s: %d\n", what, r < 0 ? errno : 0);
    fflush(stdout);
}

/* Every other page of a large region protected until mprotect is refused (Linux past
 * its map count, a cage past its cap of ranges), then pages alternately read-only and
 * inaccessible, each one more split, until refused too: munmap or mmap(MAP_FIXED) of
 * the middle page of a 3-page PROT_NONE range would split it, and is ENOMEM with every
 * protection as it was (a cage dropped all of them and said ok). */
static void full(void)
{
    enum { SPLITS = 40000 };
    char *range = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *readonly = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *many = mmap(NULL, (size_t)SPLITS * 3 * PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (range == MAP_FAILED || readonly == MAP_FAILED || many == MAP_FAILED ||
        mprotect(range, 3 * PAGE, PROT_NONE) || mprotect(readonly, PAGE, PROT_READ)) {
        perror("setup");
        exit(2);
    }
    int i = 0, k = 0;
    while (i < SPLITS && mprotect(many + (size_t)i * 2 * PAGE, PAGE, PROT_NONE) == 0)
        i++;
    printf("every other page, then errno %d\n", i < SPLITS ? errno : 0);
    char *next = many + (size_t)i * 2 * PAGE + PAGE;   /* pages after the last one protected */
    while (k < SPLITS && mprotect(next + (size_t)k * PAGE, PAGE, k & 1 ? PROT_NONE : PROT_READ) == 0)
        k++;
    printf("one more split each, then errno %d\n", k < SPLITS ? errno : 0);
    int fds[2];
    pipe(fds);
    write(fds[1], "x", 1);
    number("munmap the middle page", munmap(range + PAGE, PAGE));
    number("mmap(MAP_FIXED) over it", mmap(range + PAGE, PAGE, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ? -1 : 0);
    number("write from the range", write(fds[1], range + PAGE, 1));
    number("write from the first page protected", write(fds[1], many, 1));
    number("write from the last one", write(fds[1], many + (size_t)(i - 1) * 2 * PAGE, 1));
    number("read into a read-only page", read(fds[0], readonly, 1));
    number("munmap the region", munmap(many, (size_t)SPLITS * 3 * PAGE));
    number("munmap the middle page now", munmap(range + PAGE, PAGE));
    number("write from the range's end", write(fds[1], range + 2 * PAGE, 1));
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "efault")) {
        efault();
    } else if (!strcmp(mode, "child")) {
        child();
    } else if (!strcmp(mode, "store")) {          /* a guard page after a buffer */
        volatile char *p = pages(2);
        mprotect((void *)(p + PAGE), PAGE, PROT_NONE);
        printf("before\n");
        fflush(stdout);
        p[PAGE + 16] = 1;
        printf("not reached\n");
    } else if (!strcmp(mode, "load")) {
        volatile char *p = pages(2);
        mprotect((void *)(p + PAGE), PAGE, PROT_NONE);
        printf("before\n");
        fflush(stdout);
        printf("not reached %d\n", p[PAGE + 16]);
    } else if (!strcmp(mode, "readonly")) {
        volatile char *p = pages(2);
        mprotect((void *)(p + PAGE), PAGE, PROT_READ);
        printf("loads %c\n", p[PAGE + 16]);
        fflush(stdout);
        p[PAGE + 16] = 1;
        printf("not reached\n");
    } else if (!strcmp(mode, "handler")) {      /* libsodium's sodium_utils2 does this */
        signal(SIGSEGV, on_fault);
        volatile char *p = pages(2);
        mprotect((void *)(p + PAGE), PAGE, PROT_NONE);
        p[PAGE] = 1;
        printf("not reached\n");
    } else if (!strcmp(mode, "thread")) {       /* another thread's protection holds here */
        shared_page = pages(1);
        pthread_t t;
        pthread_create(&t, NULL, protect_it, NULL);
        pthread_join(t, NULL);
        printf("joined\n");
        fflush(stdout);
        shared_page[0] = 1;
        printf("not reached\n");
    } else if (!strcmp(mode, "bulk")) {         /* memset over a guard: host code faults */
        char *p = (char *)pages(2);
        mprotect(p + PAGE, PAGE, PROT_NONE);
        memset(p, 1, 2 * PAGE);
        printf("not reached\n");
    } else if (!strcmp(mode, "cap")) {          /* ranges are capped: ENOMEM past it */
        int n = 4096;
        volatile char *p = pages(n);
        int i = 0;
        for (; i < n; i += 2)
            if (mprotect((void *)(p + (size_t)i * PAGE), PAGE, PROT_NONE) != 0)
                break;
        printf("protected %d ranges, then %s\n", i / 2, i < n ? strerror(errno) : "no error");
        for (int k = 0; k < 100000; k++) {      /* churn: no range is left behind */
            char *at = (char *)p + (size_t)(k % 64) * PAGE + PAGE;
            mprotect(at, PAGE, k & 1 ? PROT_READ | PROT_WRITE : PROT_READ);
        }
        say("after churn, unprotect all", mprotect((void *)p, (size_t)n * PAGE, PROT_READ | PROT_WRITE));
        p[0] = 1;
        say("protect again", mprotect((void *)(p + PAGE), PAGE, PROT_NONE));
    } else if (!strcmp(mode, "full")) {         /* no room to split: ENOMEM, nothing changed */
        full();
    } else if (!strcmp(mode, "reuse")) {        /* a child's memory, kept for the next fork */
        volatile char *p = pages(64);
        for (int round = 0; round < 3; round++) {
            pid_t pid = fork();
            if (pid == 0) {
                for (int i = 0; i < 64; i++)
                    p[i * PAGE] = (char)(i + round);
                mprotect((void *)p, 64 * PAGE, round == 1 ? PROT_READ : PROT_NONE);
                _exit(0);
            }
            int status;
            waitpid(pid, &status, 0);
            printf("round %d: child status %d\n", round, status);
        }
        for (int i = 0; i < 64; i++)
            p[i * PAGE] = 1;
        printf("parent writes\n");
    } else if (!strcmp(mode, "exec")) {         /* exec clears what the program protected */
        volatile char *p = pages(64);
        mprotect((void *)p, 64 * PAGE, PROT_NONE);
        fflush(stdout);
        execl(argv[2], argv[2], "fresh", (char *)NULL);
        perror("execl");
        return 1;
    } else if (!strcmp(mode, "fresh")) {        /* what a cage before protected is usable */
        volatile char *p = pages(64);
        for (int i = 0; i < 64; i++)
            p[i * PAGE] = (char)i;
        printf("fresh ok\n");
    } else {
        fprintf(stderr, "mode?\n");
        return 2;
    }
    return 0;
}
