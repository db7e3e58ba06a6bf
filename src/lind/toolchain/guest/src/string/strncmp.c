/* wasm32-lind: strncmp a word at a time (word_scan.h says how). */
#include "word_scan.h"

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
