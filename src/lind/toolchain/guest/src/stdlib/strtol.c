/* wasm32-lind: strtol and friends (the Zig versions zig ships would store
 * WASI errno numbers); atoi, atol and atoll are files of their own, as in musl,
 * so a program defining one of them itself still links with these.  Built on musl's internal integer scanner, which
 * handles bases, prefixes, signs and ERANGE clamping to `lim`. */

#include <stdlib.h>
#include <inttypes.h>
#include <limits.h>
#include "shgetc.h"
#include "intscan.h"

static unsigned long long scan(const char *restrict s, char **restrict end,
	int base, unsigned long long lim)
{
	FILE f;
	sh_fromstring(&f, s);
	shlim(&f, 0);
	unsigned long long v = __intscan(&f, base, 1, lim);
	if (end) {
		size_t used = shcnt(&f);
		*end = (char *)s + used;
	}
	return v;
}

unsigned long long strtoull(const char *restrict s, char **restrict p, int base)
{
	return scan(s, p, base, ULLONG_MAX);
}

long long strtoll(const char *restrict s, char **restrict p, int base)
{
	return scan(s, p, base, LLONG_MIN);
}

unsigned long strtoul(const char *restrict s, char **restrict p, int base)
{
	return scan(s, p, base, ULONG_MAX);
}

long strtol(const char *restrict s, char **restrict p, int base)
{
	return scan(s, p, base, 0UL + LONG_MIN);
}

intmax_t strtoimax(const char *restrict s, char **restrict p, int base)
{
	return strtoll(s, p, base);
}

uintmax_t strtoumax(const char *restrict s, char **restrict p, int base)
{
	return strtoull(s, p, base);
}

weak_alias(strtol, __strtol_internal);
weak_alias(strtoul, __strtoul_internal);
weak_alias(strtoll, __strtoll_internal);
weak_alias(strtoull, __strtoull_internal);
weak_alias(strtoimax, __strtoimax_internal);
weak_alias(strtoumax, __strtoumax_internal);
