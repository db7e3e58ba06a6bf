/* setjmp and longjmp, as an interpreter's error handling (Lua's pcall) uses them; prints
 * ns per operation.
 *   jump_loop setjmp N    N setjmps, each followed by a call that returns normally
 *   jump_loop longjmp N   N setjmps, each followed by a call that longjmps back */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"

static volatile int jump_every = 1;   /* opaque: the optimiser cannot tell which calls jump */

__attribute__((noinline)) static int protected_call(jmp_buf *env, long i, int jumping) {
    if (jumping && i % jump_every == 0)
        longjmp(*env, (int)(i & 0xff) + 1);
    return (int)(i & 1);
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "setjmp") && strcmp(argv[1], "longjmp"))) {
        fprintf(stderr, "usage: %s setjmp|longjmp N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    int jumping = !strcmp(argv[1], "longjmp");
    volatile long sink = 0;
    long long start = now_ns();
    for (long i = 0; i < n; i++) {
        jmp_buf env;
        int r = setjmp(env);
        if (r == 0)
            sink += protected_call(&env, i, jumping);
        else
            sink += r;
    }
    printf("%.2f\n", (double)(now_ns() - start) / (double)n);
    return 0;
}
