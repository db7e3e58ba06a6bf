/* Ranges put back on the host while mprotect's ranges were all being dropped. A thread
 * memsets a protected page (Wasmtime's memory.fill: host code, which Lind's fault
 * handler opens and owes the cage a SIGSEGV for) and makes a system call, at whose start
 * the trampoline closed the page again by putting every range back, without Python's
 * lock; meanwhile the first thread munmaps a page in the middle of a range with all
 * its ranges held (as many as it may), which drops them all (no room to split one). Ranges put back after
 * that stayed inaccessible with no range or fault slot to say so: a system call given
 * a pointer there passed Lind's checks and its host code's write ended the process.
 *   protect_apply_race ROUNDS RANGES   (RANGES: a cage's most, protection_limits()[0])
 * Looks, after each drop, for a page of a dropped range that write(2) cannot read
 * (EFAULT from the kernel: inaccessible on the host), and hands it to clock_gettime.
 * Prints "done stray N segv M" (N: such pages found). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#define PAGE 4096
static int RANGES;
static char *region;
static volatile int stop, segv;
static void on_segv(int s) { segv++; }
static void *toucher(void *arg)
{
    while (!stop) {
        __builtin_memset(region + PAGE, 1, 4096);     /* memory.fill in place */
        syscall(SYS_getppid);
    }
    return NULL;
}
static int protect_all(void)
{
    for (int k = 0; k < RANGES; k++)
        if (mprotect(region + (size_t)4 * k * PAGE, 3 * PAGE, PROT_NONE) != 0)
            return -1;
    return 0;
}
int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    RANGES = argc > 2 ? atoi(argv[2]) : 1023;
    struct sigaction sa = {0};
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    region = mmap(NULL, (size_t)4 * RANGES * PAGE + PAGE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fds[2];
    pipe(fds);
    if (protect_all()) { printf("protect failed %d\n", errno); return 1; }
    pthread_t t1;
    pthread_create(&t1, NULL, toucher, NULL);
    int stray = 0;
    for (int r = 0; r < rounds && !stray; r++) {
        munmap(region + (size_t)4 * (RANGES - 1) * PAGE + PAGE, PAGE);
        int cleared = -1;
        for (int k = 0; k < RANGES && !stray; k++) {
            char *page = region + (size_t)4 * k * PAGE + 2 * PAGE;
            long w = syscall(SYS_write, fds[1], page, 1);
            if (w == 1) {
                char c;
                read(fds[0], &c, 1);
            }
            if (k == 0)
                cleared = w == 1;        /* else the ranges were not cleared this round */
            if (!cleared)
                break;
            if (w < 0 && errno == EFAULT) {
                printf("round %d: range %d left inaccessible with no protection known\n", r, k);
                fflush(stdout);
                stray = 1;
                syscall(SYS_clock_gettime, CLOCK_MONOTONIC, page);   /* host code writes it */
                printf("host wrote into it and lived\n");
            }
        }
        mmap(region + (size_t)4 * (RANGES - 1) * PAGE + PAGE, PAGE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        protect_all();     /* EINTR now and then: the SIGSEGV owed for the memsets */
    }
    stop = 1;
    pthread_join(t1, NULL);
    printf("done stray %d segv %d\n", stray, segv);
    return 0;
}
