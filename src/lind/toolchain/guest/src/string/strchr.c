/* wasm32-lind: strchr a word at a time (word_scan.h says how). */
#include "word_scan.h"

char *strchr(const char *s, int c)
{
	char *r = __strchrnul(s, c);
	return *(unsigned char *)r == (unsigned char)c ? r : NULL;
}
