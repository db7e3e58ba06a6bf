/* wasm32-lind: strcmp a word at a time (word_scan.h says how). */
#include "word_scan.h"

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
