/* Calls system call NR N times with arguments a fuzzer would pick (small numbers, -1,
 * huge ones, pointers into a scratch buffer and at its very end, past memory), the
 * buffer changed between calls: whatever the cage passes, the runtime answers with
 * an errno or a result, never with an exception of its own.
 * usage: coop_fuzz NR N */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
static char scratch[65536];
static uint64_t rnd(void) {
    static uint64_t s = 88172645463325252ULL;
    s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s;
}
static long arg(void) {
    switch (rnd() % 12) {
    case 0: return 0;
    case 1: return -1;
    case 2: return (long)(rnd() % 8);
    case 3: return (long)(rnd() % 4096);
    case 4: return (long)(uintptr_t)(scratch + rnd() % sizeof scratch);
    case 5: return (long)(uintptr_t)scratch;
    case 6: return (long)0xFFFFFFF0UL;
    case 7: return (long)(rnd());
    case 8: return (long)(1UL << (rnd() % 63));
    case 9: return -(long)(rnd() % 100);
    case 10: return (long)(uintptr_t)(scratch + sizeof scratch - 4);
    default: return (long)(rnd() % 0x7FFFFFFF);
    }
}
int main(int argc, char **argv) {
    int nr = atoi(argv[1]), n = atoi(argv[2]);
    for (int i = 0; i < n; i++) {
        for (unsigned j = 0; j < 64; j++) scratch[rnd() % sizeof scratch] = (char)rnd();
        long a[6];
        for (int k = 0; k < 6; k++) a[k] = arg();
        syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    printf("done %d\n", nr);
    return 0;
}
