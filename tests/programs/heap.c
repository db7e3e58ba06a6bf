/* malloc-heavy work: many sizes, large blocks, realloc growth, free and reuse. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    enum { N = 20000 };
    static char *blocks[N];
    uint64_t sum = 0;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            size_t size = 1 + (size_t)((i * 7919 + round * 31) % 3000);
            blocks[i] = malloc(size);
            if (!blocks[i]) { puts("malloc failed"); return 1; }
            memset(blocks[i], (i + round) & 0xff, size);
        }
        for (int i = 0; i < N; i += 2) {
            sum += (unsigned char)blocks[i][0];
            free(blocks[i]);
        }
        for (int i = 1; i < N; i += 2)
            free(blocks[i]);
    }
    size_t big = 64u << 20;
    char *p = malloc(big);
    if (!p) { puts("big malloc failed"); return 1; }
    for (size_t i = 0; i < big; i += 4096)
        p[i] = (char)i;
    sum += (unsigned char)p[big - 4096];
    free(p);
    char *r = NULL;
    for (size_t size = 16; size <= (8u << 20); size *= 2) {
        r = realloc(r, size);
        r[size - 1] = 7;
    }
    sum += r[(8u << 20) - 1];
    free(r);
    int *arr = calloc(1000000, sizeof *arr);
    for (int i = 0; i < 1000000; i++)
        sum += arr[i];
    free(arr);
    printf("sum=%llu\n", (unsigned long long)sum);
    return 0;
}
