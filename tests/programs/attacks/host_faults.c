/* Faults a cage raises in Wasmtime's and Lind's hands: out-of-bounds, `unreachable`,
 * a division by zero (compiled code), and memset at NULL (host code on the guarded
 * page). Each must end this cage alone, whatever fault handlers the host process
 * installed after Lind's. With "counting", the fault comes after a while of counting,
 * so that a handler installed meanwhile meets it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (argc > 2 && strcmp(argv[2], "counting") == 0) {
        printf("counting\n");
        fflush(stdout);
        volatile uint64_t n = 0;
        while (n < 400000000)
            n++;
    }
    printf("faulting: %s\n", argv[1]);
    fflush(stdout);
    volatile int seven = 7, zero = 0;
    char *volatile far = (char *)(uintptr_t)0xFFFFFFF0u;
    char *volatile null = 0;
    if (strcmp(argv[1], "out_of_bounds") == 0)
        return *far;
    if (strcmp(argv[1], "unreachable") == 0)
        __builtin_trap();
    if (strcmp(argv[1], "divide") == 0)
        return seven / zero;
    if (strcmp(argv[1], "null_memset") == 0) {
        memset(null, 1, 64);
        __asm__ volatile("" ::: "memory");   /* the stores are seen: not dropped as dead */
        printf("after memset\n");
        return 0;
    }
    return 3;
}
