/* wasm32-lind: bcmp a word at a time (word_scan.h says how). */
#include "word_scan.h"

int bcmp(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n);
}
