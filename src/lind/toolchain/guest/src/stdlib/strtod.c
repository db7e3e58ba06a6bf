/* wasm32-lind: strtof, strtod and strtold.  The numbers programs mostly read --
 * decimal, a few significant digits, a small power of ten -- are converted here,
 * exactly: when the digits and the power of ten are both exact in the target type,
 * one IEEE multiplication or division, rounded once, is the correctly rounded result
 * (Clinger's fast path), ~20 ns.  Everything else (hex, inf, nan, more digits, larger
 * powers, no number at all) goes to musl's scanner, __floatscan, whose big-number
 * method takes microseconds (glibc's strtod: ~70 ns); strtold always does. */

#include <stdint.h>
#include <stdlib.h>
#include "shgetc.h"
#include "floatscan.h"
#include "stdio_impl.h"

/* ±digits × 10^power, as written, up to `end`. */
struct decimal {
	uint64_t digits;
	int power;
	int negative;
	const char *end;
};

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || (unsigned)*s - '\t' < 5) s++;
	return s;
}

static int is_digit(char c)
{
	return (unsigned)c - '0' < 10;
}

/* Whether `s` starts with a decimal number (after white space and a sign) whose digits
 * are at most `max_digits` and whose power of ten is within ±`max_power`; if so it is
 * in `d`.  Zero, of any power, always is. */
static int read_decimal(const char *s, uint64_t max_digits, int max_power, struct decimal *d)
{
	s = skip_blanks(s);
	d->negative = *s == '-';
	if (*s == '-' || *s == '+') s++;
	if (s[0] == '0' && (s[1] | 32) == 'x') return 0;
	uint64_t digits = 0;
	int significant = 0, seen = 0, power = 0;
	for (; is_digit(*s); s++, seen++) {
		digits = digits * 10 + (unsigned)(*s - '0');
		significant += digits != 0;
	}
	if (*s == '.')
		for (s++; is_digit(*s); s++, seen++, power--) {
			digits = digits * 10 + (unsigned)(*s - '0');
			significant += digits != 0;
		}
	/* 19 digits cannot overflow 64 bits: after that `digits` means nothing */
	if (!seen || significant > 19 || digits > max_digits) return 0;
	if ((*s | 32) == 'e') {
		const char *e = s + 1;
		int negative = *e == '-', exponent = 0;
		if (*e == '-' || *e == '+') e++;
		if (is_digit(*e)) {
			for (; is_digit(*e); e++)
				if (exponent < 1000000) exponent = exponent * 10 + (*e - '0');
			power += negative ? -exponent : exponent;
			s = e;
		}
	}
	if (!digits) power = 0;
	if (power < -max_power || power > max_power) return 0;
	d->digits = digits;
	d->power = power;
	d->end = s;
	return 1;
}

/* musl's scanner, with the sign of "-nan" kept (as glibc keeps it). */
static long double scan(const char *s, char **p, int prec)
{
	FILE f;
	sh_fromstring(&f, s);
	shlim(&f, 0);
	long double y = __floatscan(&f, prec, 1);
	off_t used = shcnt(&f);
	if (p) *p = (char *)s + used;
	return y != y && *skip_blanks(s) == '-' ? -y : y;
}

/* Powers of ten a double holds exactly (5^22 < 2^53), and a float (5^10 < 2^24). */
static const double double_powers[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
static const float float_powers[] = {
	1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f,
};

double strtod(const char *restrict s, char **restrict p)
{
	struct decimal d;
	if (!read_decimal(s, (uint64_t)1 << 53, 22, &d))
		return scan(s, p, 1);
	if (p) *p = (char *)d.end;
	double x = (double)d.digits;
	x = d.power < 0 ? x / double_powers[-d.power] : x * double_powers[d.power];
	return d.negative ? -x : x;
}

float strtof(const char *restrict s, char **restrict p)
{
	struct decimal d;
	if (!read_decimal(s, (uint64_t)1 << 24, 10, &d))
		return scan(s, p, 0);
	if (p) *p = (char *)d.end;
	float x = (float)d.digits;
	x = d.power < 0 ? x / float_powers[-d.power] : x * float_powers[d.power];
	return d.negative ? -x : x;
}

long double strtold(const char *restrict s, char **restrict p)
{
	return scan(s, p, 2);
}
