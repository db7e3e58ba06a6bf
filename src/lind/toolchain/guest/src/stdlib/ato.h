/* wasm32-lind: the conversion atoi, atol and atoll share (zig's are left out with the
 * strto* functions). No error reporting: it accumulates in a long long, negatively, to
 * reach the most negative value without overflow. Inline, so that each of the three
 * stays a file of its own, as in musl: a program may define any of them itself. */
static inline long long __lind_ato(const char *s)
{
	long long n = 0;
	int neg = 0;
	while (*s == ' ' || (unsigned)*s - '\t' < 5) s++;
	if (*s == '-') { neg = 1; s++; }
	else if (*s == '+') s++;
	while ((unsigned)*s - '0' < 10) n = 10*n - (*s++ - '0');
	return neg ? n : -n;
}
