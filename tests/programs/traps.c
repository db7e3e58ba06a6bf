/* Ends in the way argv[1] names, to check the status a trap or signal gives. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int depth(int n) {
    volatile char pad[256];
    pad[0] = (char)n;
    return depth(n + 1) + pad[0];
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "";
    fflush(stdout);
    if (!strcmp(how, "segv"))
        return *(volatile int *)(uintptr_t)0xFFFFFFF0u;
    if (!strcmp(how, "stack"))
        return depth(0);
    if (!strcmp(how, "abort"))
        abort();
    if (!strcmp(how, "trap"))
        __builtin_trap();
    if (!strcmp(how, "div")) {
        volatile int zero = 0;
        return 1 / zero;
    }
    if (!strcmp(how, "kill"))
        raise(SIGTERM);
    if (!strcmp(how, "ignored")) {
        signal(SIGTERM, SIG_IGN);
        raise(SIGTERM);
        puts("survived");
        return 0;
    }
    if (!strcmp(how, "spin"))
        for (;;) ;
    return 3;
}
