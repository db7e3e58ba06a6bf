/* setjmp/longjmp: returning twice, value 0 -> 1, nesting, jumping out of deep recursion,
 * sigsetjmp/siglongjmp restoring the signal mask, and fork after setjmp. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static jmp_buf outer, inner;
static sigjmp_buf sigenv;

static void dive(int depth) {
    volatile char pad[128];
    pad[0] = (char)depth;
    if (depth == 200)
        longjmp(outer, depth + pad[0] - depth);
    dive(depth + 1);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);  /* musl and glibc buffer a pipe differently at first */
    volatile int rounds = 0;
    int v = setjmp(outer);
    printf("setjmp returned %d (round %d)\n", v, rounds);
    if (rounds++ < 3)
        longjmp(outer, rounds * 10);

    if ((v = setjmp(outer)) == 0)
        longjmp(outer, 0);
    printf("longjmp(0) gives %d\n", v);

    if ((v = setjmp(outer)) == 0)
        dive(0);
    printf("out of recursion with %d\n", v);

    if ((v = setjmp(outer)) == 0) {
        if ((v = setjmp(inner)) == 0)
            longjmp(inner, 5);
        printf("inner %d\n", v);
        longjmp(outer, 6);
    }
    printf("outer %d\n", v);

    sigset_t set, now;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    if ((v = sigsetjmp(sigenv, 1)) == 0) {
        sigprocmask(SIG_BLOCK, &set, NULL);
        sigprocmask(SIG_SETMASK, NULL, &now);
        printf("blocked before jump: %d\n", sigismember(&now, SIGUSR1));
        siglongjmp(sigenv, 9);
    }
    sigprocmask(SIG_SETMASK, NULL, &now);
    printf("siglongjmp %d, blocked after: %d\n", v, sigismember(&now, SIGUSR1));

    if ((v = setjmp(outer)) == 0) {
        pid_t pid = fork();
        if (pid == 0)
            longjmp(outer, 77);
        int status;
        waitpid(pid, &status, 0);
        printf("child exited %d\n", WEXITSTATUS(status));
        return 0;
    }
    printf("child jumped with %d\n", v);
    fflush(stdout);
    _exit(v == 77 ? 4 : 1);
}
