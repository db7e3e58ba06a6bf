/* Pure computation, to see the cost of WebAssembly itself; prints ns per operation.
 *   compute fib N        recursive fib(27), N times: the argument is read from a volatile
 *                        and each result is added to a volatile sink, so clang can neither
 *                        hoist the call out of the loop nor drop it (it used to time one
 *                        call and divide by N)
 *   compute memcpy N     copy 1 MiB between two buffers, N times
 *   compute malloc N     N malloc/free pairs of mixed sizes, 64 live at a time
 *   compute arena N      N times: malloc a 256 MiB buffer, use 1 MiB of it, free it (what
 *                        a fresh mapping costs where the program does not touch it)
 *   compute strtod N     N strtod calls on short decimals ("12.5", "0.001953125", ...)
 *   compute scan N       N sscanf calls of "12.5 7" with "%lf %d"
 *   compute format N     N snprintf calls of a double with "%.14g" (Lua's tostring) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"

static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

/* Opaque to the optimiser: read afresh on every iteration. */
static volatile int fib_arg = 27;

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s fib|memcpy|malloc|arena|strtod|scan|format N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    volatile long sink = 0;
    long long start = now_ns();
    if (!strcmp(argv[1], "fib")) {
        for (long i = 0; i < n; i++)
            sink += fib(fib_arg);
    } else if (!strcmp(argv[1], "memcpy")) {
        size_t size = 1 << 20;
        char *a = malloc(size), *b = malloc(size);
        memset(a, 1, size);
        for (long i = 0; i < n; i++) {
            memcpy(b, a, size);
            a[i % size] = (char)i;
            sink += b[(i * 7) % size];
        }
    } else if (!strcmp(argv[1], "malloc")) {
        void *live[64] = {0};
        for (long i = 0; i < n; i++) {
            int slot = (int)(i * 2654435761u % 64);
            free(live[slot]);
            live[slot] = malloc(16 + (size_t)(i * 40503u % 4000));
            sink += (long)(live[slot] != NULL);
        }
        for (int i = 0; i < 64; i++)
            free(live[i]);
    } else if (!strcmp(argv[1], "arena")) {
        for (long i = 0; i < n; i++) {
            char *arena = malloc(256u << 20);
            if (!arena)
                return 1;
            memset(arena, (int)i, 1u << 20);
            sink += arena[(i * 4099) % (1u << 20)];
            free(arena);
        }
    } else if (!strcmp(argv[1], "strtod")) {
        static const char *const numbers[8] = {"12.5", "0.001953125", "-3.25e4", "100",
                                               "6.02214076e23", "42.42", "1e-7", "99.999"};
        double sum = 0;
        for (long i = 0; i < n; i++)
            sum += strtod(numbers[i & 7], NULL);
        sink += (long)sum;
    } else if (!strcmp(argv[1], "scan")) {
        double x = 0;
        int k = 0;
        for (long i = 0; i < n; i++)
            sink += sscanf("12.5 7", "%lf %d", &x, &k) + k + (long)x;
    } else if (!strcmp(argv[1], "format")) {
        char text[32];
        for (long i = 0; i < n; i++)
            sink += snprintf(text, sizeof text, "%.14g", (double)i * 1.37);
    } else {
        return 2;
    }
    printf("%.2f\n", (double)(now_ns() - start) / (double)n);
    return 0;
}
