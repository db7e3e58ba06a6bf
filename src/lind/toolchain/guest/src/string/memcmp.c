/* wasm32-lind: memcmp a word at a time (word_scan.h says how). */
#include "word_scan.h"

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
