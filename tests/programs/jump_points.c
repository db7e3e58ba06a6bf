/* setjmp and longjmp in a program that forks (so Asyncify carries them, and the
 * trampoline runs them without Python): an interpreter's top-level handler outliving
 * thousands of protected calls, longjmp out of deep recursion, an exception-macro
 * pattern that saves and restores one global jmp_buf by copying its bytes, a child
 * jumping to a point its parent set before fork, and threads jumping at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static jmp_buf top, handler;

static int dive(jmp_buf *env, int depth, int fail_at) {
    volatile char pad[64];
    pad[depth % 64] = (char)depth;
    if (depth == fail_at)
        longjmp(*env, depth + 1);
    return depth > 100 ? pad[depth % 64] : dive(env, depth + 1, fail_at);
}

/* one protected call, as lua_pcall: 0 if the body returned, else the error */
static int protected_call(int i) {
    jmp_buf env;
    int err = setjmp(env);
    if (err == 0)
        dive(&env, 0, i % 3 == 0 ? i % 50 : -1);
    return err;
}

/* TRY over one global jmp_buf: the outer handler is saved as bytes and put back */
static int nested_try(int fail_inner) {
    jmp_buf saved;
    memcpy(saved, handler, sizeof saved);
    int caught = setjmp(handler);
    if (caught == 0) {
        if (fail_inner)
            longjmp(handler, 11);
        memcpy(handler, saved, sizeof saved);
        return 0;
    }
    memcpy(handler, saved, sizeof saved);
    return caught;
}

static void *jumper(void *arg) {
    long id = (long)arg, sum = 0;
    for (int i = 0; i < 3000; i++) {
        jmp_buf env;
        volatile int round = i;
        int v = setjmp(env);
        if (v == 0) {
            if (round % 2)
                longjmp(env, (int)id * 1000 + round % 7 + 1);
        } else {
            sum += v;
        }
    }
    return (void *)sum;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    volatile int stage = 0;
    int v = setjmp(top);
    if (v != 0) {
        printf("top-level handler got %d at stage %d\n", v, stage);
        if (stage == 1)
            goto forked;
        return 0;
    }

    long errors = 0, sum = 0;
    for (int i = 0; i < 5000; i++) {
        int err = protected_call(i);
        errors += err != 0;
        sum += err;
    }
    printf("protected calls: %ld failed, sum %ld\n", errors, sum);

    int outer = setjmp(handler);
    if (outer == 0) {
        int inner = 0;
        for (int i = 0; i < 2000; i++)
            inner += nested_try(i % 5 == 0);
        printf("inner handlers caught %d\n", inner);
        longjmp(handler, 99);    /* the outer handler, put back by the copies */
    }
    printf("outer handler got %d\n", outer);

    stage = 1;
    longjmp(top, 7);             /* after 7,000 newer jump points */

forked:;
    jmp_buf before;
    int w = setjmp(before);
    if (w == 0) {
        pid_t pid = fork();
        if (pid == 0)
            longjmp(before, 42); /* the parent's point, copied by fork */
        int status;
        waitpid(pid, &status, 0);
        printf("child exited %d\n", WEXITSTATUS(status));
    } else {
        _exit(w);
    }

    pthread_t threads[4];
    for (long t = 0; t < 4; t++)
        pthread_create(&threads[t], NULL, jumper, (void *)(t + 1));
    long total = 0;
    for (int t = 0; t < 4; t++) {
        void *r;
        pthread_join(threads[t], &r);
        total += (long)r;
    }
    printf("threads jumped for %ld\n", total);
    stage = 2;
    longjmp(top, 3);
}
