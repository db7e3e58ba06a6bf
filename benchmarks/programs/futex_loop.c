/* futex round trip between two processes over a word in MAP_SHARED memory:
 *   futex_loop pingpong N    each side waits for its turn, hands it over, wakes the other
 * Prints ns per round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1

/* Wait until *turn == mine, then give the turn to the other side. */
static void take_turn(volatile int *turn, int mine) {
    while (*turn != mine)
        syscall(SYS_futex, turn, FUTEX_WAIT, !mine, 0, 0, 0);
    *turn = !mine;
    syscall(SYS_futex, turn, FUTEX_WAKE, 1, 0, 0, 0);
}

int main(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "pingpong")) {
        fprintf(stderr, "usage: %s pingpong N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    volatile int *turn = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (turn == MAP_FAILED)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        for (long i = 0; i < n; i++)
            take_turn(turn, 1);
        _exit(0);
    }
    long long start = now_ns();
    for (long i = 0; i < n; i++)
        take_turn(turn, 0);
    long long elapsed = now_ns() - start;
    waitpid(pid, NULL, 0);
    printf("%.2f\n", (double)elapsed / (double)n);
    return 0;
}
