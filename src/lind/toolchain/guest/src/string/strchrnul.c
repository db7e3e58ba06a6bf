/* wasm32-lind: strchrnul a word at a time (word_scan.h says how). */
#include "word_scan.h"

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
