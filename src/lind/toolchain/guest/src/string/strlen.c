/* wasm32-lind: strlen a word at a time (word_scan.h says how). */
#include "word_scan.h"

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
