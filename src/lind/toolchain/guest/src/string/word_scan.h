#ifndef LIND_WORD_SCAN_H
#define LIND_WORD_SCAN_H
/* wasm32-lind: what the word-at-a-time string scans share (strlen.c, memchr.c, strnlen.c,
 * strchrnul.c, strchr.c, strcmp.c, strncmp.c, memcmp.c, bcmp.c): the string scans programs
 * spend their time in, eight bytes at a time.
 *
 * zig's libc and compiler_rt give strlen, memchr, strchr, strcmp, memcmp and friends as loops
 * of one byte each (fine where a native build has its own assembly; in a cage they
 * were 17-140x slower than glibc's on 60-1000 byte strings). These are strong symbols
 * in libc.a and win over zig's weak ones, one function a file as in musl: a program
 * that defines one of them itself (http-parser's tests define strnlen) links with the
 * others, where one object holding them all was a "duplicate symbol". Each looks at
 * aligned 64-bit words: an aligned word never crosses the end of linear memory (a
 * multiple of 64 KiB), so reading the rest of the word a string ends in is safe in
 * wasm, and Lind keeps no page protection inside the memory.
 *
 * zero_bytes(x) has the top bit set in each byte of x that is zero, and maybe in bytes
 * above one that is (a borrow), never below: on a little-endian word the lowest set
 * bit names the first zero byte. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

typedef uint64_t __attribute__((__may_alias__)) word;

#define ONES ((word)0x0101010101010101ull)
#define TOPS (ONES * 0x80)
#define ALIGNED(p) (((uintptr_t)(p) & (sizeof(word) - 1)) == 0)

static inline word zero_bytes(word x)
{
	return (x - ONES) & ~x & TOPS;
}

/* The index of the first byte `zero_bytes` flagged. */
static inline size_t first(word flags)
{
	return (size_t)__builtin_ctzll(flags) / 8;
}

/* Words at any alignment (wasm loads need none): memcmp reads only bytes below n. */
typedef uint64_t __attribute__((__may_alias__, __aligned__(1))) any_word;

#endif
