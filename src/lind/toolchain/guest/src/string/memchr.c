/* wasm32-lind: memchr a word at a time (word_scan.h says how). */
#include "word_scan.h"

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
