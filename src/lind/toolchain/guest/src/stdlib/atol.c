/* wasm32-lind: atol (zig's is left out with the strto* functions).  No error
 * reporting: it accumulates in a long long, negatively, to reach the most
 * negative value without overflow.  A file of its own, as in musl: a program
 * may define atol itself. */
#include <stdlib.h>

long atol(const char *s)
{
	long long n = 0;
	int neg = 0;
	while (*s == ' ' || (unsigned)*s - '\t' < 5) s++;
	if (*s == '-') { neg = 1; s++; }
	else if (*s == '+') s++;
	while ((unsigned)*s - '0' < 10) n = 10*n - (*s++ - '0');
	return neg ? n : -n;
}
