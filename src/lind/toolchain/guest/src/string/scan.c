/* wasm32-lind: the string scans programs spend their time in, eight bytes at a time.
 *
 * zig's libc and compiler_rt give strlen, memchr, strchr, strcmp, memcmp and friends as loops
 * of one byte each (fine where a native build has its own assembly; in a cage they
 * were 17-140x slower than glibc's on 60-1000 byte strings). These are strong symbols
 * in libc.a and win over zig's weak ones. Each looks at aligned 64-bit words: an
 * aligned word never crosses the end of linear memory (a multiple of 64 KiB), so
 * reading the rest of the word a string ends in is safe in wasm, and Lind keeps no
 * page protection inside the memory.
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

size_t strlen(const char *s)
{
	const char *p = s;
	for (; (uintptr_t)p & 15; p++)       /* to 16: two words a round, in one 64 KiB page */
		if (!*p)
			return (size_t)(p - s);
	const word *w = (const word *)p;
	while (!(zero_bytes(w[0]) | zero_bytes(w[1])))
		w += 2;
	word found = zero_bytes(w[0]);
	if (!found) {
		w++;
		found = zero_bytes(w[0]);
	}
	return (size_t)((const char *)w - s) + first(found);
}

void *memchr(const void *src, int c, size_t n)
{
	const unsigned char *p = src;
	unsigned char b = (unsigned char)c;
	/* n may name more than there is (strnlen's does): like strlen, read only aligned
	 * blocks that hold a byte at or before the one found */
	for (; n && ((uintptr_t)p & 15); p++, n--)
		if (*p == b)
			return (void *)p;
	word pattern = ONES * b;
	for (; n >= 2 * sizeof(word); p += 2 * sizeof(word), n -= 2 * sizeof(word)) {
		const word *w = (const word *)p;
		if (zero_bytes(w[0] ^ pattern) | zero_bytes(w[1] ^ pattern))
			break;
	}
	for (; n >= sizeof(word); p += sizeof(word), n -= sizeof(word)) {
		word found = zero_bytes(*(const word *)p ^ pattern);
		if (found)
			return (void *)(p + first(found));
	}
	for (; n; p++, n--)
		if (*p == b)
			return (void *)p;
	return NULL;
}

size_t strnlen(const char *s, size_t n)
{
	const char *end = memchr(s, 0, n);
	return end ? (size_t)(end - s) : n;
}

char *__strchrnul(const char *s, int c)
{
	unsigned char b = (unsigned char)c;
	if (!b)
		return (char *)s + strlen(s);
	for (; !ALIGNED(s); s++)
		if (!*s || *(const unsigned char *)s == b)
			return (char *)s;
	const word *w = (const word *)s;
	word pattern = ONES * b, found;
	while (!(found = zero_bytes(*w) | zero_bytes(*w ^ pattern)))
		w++;
	return (char *)w + first(found);
}

char *strchrnul(const char *s, int c) __attribute__((__weak__, __alias__("__strchrnul")));

char *strchr(const char *s, int c)
{
	char *r = __strchrnul(s, c);
	return *(unsigned char *)r == (unsigned char)c ? r : NULL;
}

/* strcmp and strncmp go a word at a time when both strings stand at the same offset
 * in their words: a word of either holds no byte past the first zero or difference
 * seen before it, so it is aligned and inside the memory. */
int strcmp(const char *left, const char *right)
{
	const unsigned char *l = (const void *)left, *r = (const void *)right;
	if ((((uintptr_t)l ^ (uintptr_t)r) & (sizeof(word) - 1)) == 0) {
		for (; !ALIGNED(l); l++, r++)
			if (*l != *r || !*l)
				return *l - *r;
		const word *x = (const word *)l, *y = (const word *)r;
		while (*x == *y && !zero_bytes(*x)) {
			x++;
			y++;
		}
		l = (const unsigned char *)x;
		r = (const unsigned char *)y;
	}
	for (; *l == *r && *l; l++, r++)
		;
	return *l - *r;
}

int strncmp(const char *left, const char *right, size_t n)
{
	const unsigned char *l = (const void *)left, *r = (const void *)right;
	if ((((uintptr_t)l ^ (uintptr_t)r) & (sizeof(word) - 1)) == 0) {
		for (; n && !ALIGNED(l); l++, r++, n--)
			if (*l != *r || !*l)
				return *l - *r;
		for (; n >= sizeof(word); l += sizeof(word), r += sizeof(word), n -= sizeof(word)) {
			word x = *(const word *)l;
			if (x != *(const word *)r || zero_bytes(x))
				break;
		}
	}
	for (; n; l++, r++, n--)
		if (*l != *r || !*l)
			return *l - *r;
	return 0;
}

/* Words at any alignment here (wasm loads need none): only bytes below n are read. */
typedef uint64_t __attribute__((__may_alias__, __aligned__(1))) any_word;

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *l = a, *r = b;
	for (; n >= sizeof(word); l += sizeof(word), r += sizeof(word), n -= sizeof(word)) {
		word diff = *(const any_word *)l ^ *(const any_word *)r;
		if (diff) {
			size_t i = (size_t)__builtin_ctzll(diff) / 8;
			return l[i] - r[i];
		}
	}
	for (; n; l++, r++, n--)
		if (*l != *r)
			return *l - *r;
	return 0;
}

int bcmp(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n);
}
