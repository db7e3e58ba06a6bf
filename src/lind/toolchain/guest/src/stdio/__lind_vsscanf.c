/* wasm32-lind: sscanf's common case read straight from the string.  musl's vsscanf
 * wraps the string in a FILE and reads it through vfscanf one character at a time
 * (shgetc, a refill call per chunk, field limits recomputed per conversion), which in
 * a cage costs about twice what glibc takes natively.  Formats made of white space,
 * literal text, %%, and the conversions d i u o x X n s c and, for plain decimal
 * input, a e f g (each with *, a width, and the usual integer size modifiers) are
 * read here directly.  Nothing is stored until the whole format has been read: the
 * assignments wait in a list and are made at the end, so that anything this reader
 * leaves -- another conversion or modifier, a %1$ position, %m, more conversions than
 * the list holds, a number written in a way it does not read (inf, nan, hex floats, a
 * float cut by its width or ending in "e") -- goes to musl's vfscanf before anything
 * was written.  musl's vsscanf (src/stdio/vsscanf.c) is built with its vfscanf call
 * renamed to __lind_vsscanf_file (sysroot.FILE_DEFINES): it still makes the FILE over
 * the string, which this reader ignores unless it hands the format on.
 *
 * The results are musl's, which sometimes differ from glibc's: integers are read as
 * unsigned long long whatever the conversion, negated if signed and cut to the type,
 * and a number past unsigned long long reads as its maximum (ERANGE); "0x" with
 * nothing hexadecimal after it is a matching failure; a %Nc that finds fewer than N
 * characters stores those it found but does not count. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "scanf_string.h"

/* Assignments one call keeps before making them; a format with more is musl's. */
#define PENDING_MAX 24
/* Widths past this are musl's. */
#define WIDTH_MAX 100000

/* How a pending assignment is made. */
enum store {
	STORE_CHAR, STORE_SHORT, STORE_INT, STORE_LONG, STORE_LLONG,
	STORE_FLOAT, STORE_DOUBLE,
	STORE_STRING,  /* length bytes and a NUL (%s) */
	STORE_CHARS,   /* length bytes (%c) */
};

struct pending {
	void *dest;
	enum store how;
	size_t length;
	union {
		unsigned long long integer;
		double real;
		float single;
		const char *text;
	} value;
};

/* The reader's answers besides a count of assignments. */
#define INPUT_FAILURE (-1)
#define MUSL SCANF_MUSL

static int is_space(int c)
{
	return c == ' ' || (unsigned)c - '\t' < 5;
}

static const char *skip_spaces(const char *s)
{
	while (is_space((unsigned char)*s)) s++;
	return s;
}

/* A digit's value in bases up to 36, or 36 for anything else (the string's NUL too). */
static unsigned digit_value(int c)
{
	if ((unsigned)c - '0' < 10) return c - '0';
	if ((unsigned)(c | 32) - 'a' < 26) return (c | 32) - 'a' + 10;
	return 36;
}

/* Reads an integer at s (past white space, not at the string's end) with at most
 * `room` characters, in base 0 (%i: prefix decides), 8, 10 or 16, as musl's scanf
 * does; returns the characters read, 0 for a matching failure. */
static size_t read_integer(const char *s, size_t room, unsigned base,
                           unsigned long long *value)
{
	size_t i = 0;
	/* The character at k, 0 past the string or the width. */
#define AT(k) (k < room ? (unsigned char)s[k] : 0)
	int c = AT(i), negative = 0;
	if (c == '+' || c == '-') {
		negative = c == '-';
		i++;
		c = AT(i);
	}
	if ((base == 0 || base == 16) && c == '0') {
		i++;
		c = AT(i);
		if ((c | 32) == 'x') {
			i++;
			c = AT(i);
			/* "0x" and nothing hexadecimal: musl reads no number at all. */
			if (digit_value(c) >= 16) return 0;
			base = 16;
		} else if (base == 0) {
			base = 8;
		}
	} else {
		if (base == 0) base = 10;
		if (digit_value(c) >= base) {
			errno = EINVAL;
			return 0;
		}
	}
	unsigned long long y = 0, most = ULLONG_MAX / base;
	unsigned last = ULLONG_MAX % base, d;
	int overflow = 0;
	for (; (d = digit_value(c)) < base; i++, c = AT(i)) {
		if (y > most || (y == most && d > last)) overflow = 1;
		else y = y * base + d;
	}
#undef AT
	if (overflow) {
		errno = ERANGE;
		*value = ULLONG_MAX;  /* whatever the sign */
	} else {
		*value = negative ? -y : y;
	}
	return i;
}

static int is_digit(int c)
{
	return (unsigned)c - '0' < 10;
}

/* The length of the decimal number at s (past white space): sign, digits with at most
 * one point, an exponent; 0 when musl's scanner must read it (no digits, inf, nan,
 * hex, an "e" without exponent digits). */
static size_t decimal_length(const char *s)
{
	const char *t = s;
	if (*t == '+' || *t == '-') t++;
	if (t[0] == '0' && (t[1] | 32) == 'x') return 0;
	int digits = 0;
	for (; is_digit(*t); t++) digits = 1;
	if (*t == '.')
		for (t++; is_digit(*t); t++) digits = 1;
	if (!digits) return 0;
	if ((*t | 32) == 'e') {
		t++;
		if (*t == '+' || *t == '-') t++;
		if (!is_digit(*t)) return 0;
		while (is_digit(*t)) t++;
	}
	return t - s;
}

/* Reads s by fmt, keeping the assignments in `pending` (`*count` of them); returns
 * how many there are, INPUT_FAILURE, or MUSL. */
static int read_all(const char *s, const char *fmt, va_list ap,
                    struct pending *pending, int *count)
{
	const char *start = s;
	const unsigned char *f = (const unsigned char *)fmt;
	int n = 0;
	/* A failure returns the assignments made so far, or -1 for an input failure
	 * before the first one. */
#define INPUT_FAILED() return n ? n : INPUT_FAILURE
#define MATCH_FAILED() return n
	for (; *f; f++) {
		if (is_space(*f)) {
			s = skip_spaces(s);
			continue;
		}
		if (*f != '%' || f[1] == '%') {
			if (*f == '%') {
				f++;
				s = skip_spaces(s);
			}
			if (!*s) INPUT_FAILED();
			if ((unsigned char)*s != *f) MATCH_FAILED();
			s++;
			continue;
		}

		f++;
		int assign = 1;
		if (*f == '*') {
			assign = 0;
			f++;
		}
		size_t width = 0;
		for (; is_digit(*f); f++) {
			width = 10 * width + (*f - '0');
			if (width > WIDTH_MAX) return MUSL;
		}
		/* Size: 0 int, 1 long, 2 long long, -1 short, -2 char. */
		int size = 0, sized = 1;
		switch (*f) {
		case 'h':
			size = f[1] == 'h' ? -2 : -1;
			f += f[1] == 'h' ? 2 : 1;
			break;
		case 'l':
			size = f[1] == 'l' ? 2 : 1;
			f += size;
			break;
		case 'j': size = 2; f++; break;
		case 'z': case 't': size = 1; f++; break;
		default: sized = 0;
		}

		int conversion = *f;
		unsigned base;
		switch (conversion) {
		case 'd': case 'u': base = 10; break;
		case 'i': base = 0; break;
		case 'o': base = 8; break;
		case 'x': case 'X': base = 16; break;
		case 'n': case 's': case 'c':
		case 'a': case 'e': case 'f': case 'g':
		case 'A': case 'E': case 'F': case 'G':
			base = 1;
			break;
		default:
			return MUSL;  /* [, p, C, S, L, m, a position, an invalid format */
		}
		if (sized && (conversion == 's' || conversion == 'c'))
			return MUSL;  /* %ls, %lc (wide), %hs, ... */
		if (sized && base == 1 && conversion != 'n' && size != 1)
			return MUSL;  /* %hf, %jf, ... (%Lf is not sized here: L is musl's) */

		void *dest = assign ? va_arg(ap, void *) : 0;
		struct pending *p = &pending[*count];
		if (dest) {
			if (*count == PENDING_MAX) return MUSL;
			p->dest = dest;
		}

		if (conversion == 'n') {
			if (dest) {
				p->how = size == -2 ? STORE_CHAR : size == -1 ? STORE_SHORT
				         : size == 0 ? STORE_INT : size == 1 ? STORE_LONG : STORE_LLONG;
				p->value.integer = s - start;
				++*count;
			}
			continue;  /* not counted */
		}
		if (conversion != 'c') s = skip_spaces(s);
		if (!*s) INPUT_FAILED();
		size_t room = width ? width : (size_t)-1;

		if (conversion == 'c') {
			if (!width) width = 1;
			size_t length = strnlen(s, width);
			if (dest) {
				p->how = STORE_CHARS;
				p->length = length;
				p->value.text = s;
				++*count;
			}
			/* Too few: musl keeps what it stored but counts no assignment. */
			if (length < width) MATCH_FAILED();
			s += length;
		} else if (conversion == 's') {
			size_t length = 0;
			while (length < room && s[length] && !is_space((unsigned char)s[length])) length++;
			if (dest) {
				p->how = STORE_STRING;
				p->length = length;
				p->value.text = s;
				++*count;
			}
			s += length;
		} else if (base == 1) {
			size_t length = decimal_length(s);
			if (!length || length > room) return MUSL;
			char *end;
			if (size) {
				double x = strtod(s, &end);
				if (dest) p->how = STORE_DOUBLE, p->value.real = x;
			} else {
				float x = strtof(s, &end);
				if (dest) p->how = STORE_FLOAT, p->value.single = x;
			}
			if (end != s + length) return MUSL;
			if (dest) ++*count;
			s = end;
		} else {
			unsigned long long x;
			size_t length = read_integer(s, room, base, &x);
			if (!length) MATCH_FAILED();
			if (dest) {
				p->how = size == -2 ? STORE_CHAR : size == -1 ? STORE_SHORT
				         : size == 0 ? STORE_INT : size == 1 ? STORE_LONG : STORE_LLONG;
				p->value.integer = x;
				++*count;
			}
			s += length;
		}
		if (dest) n++;
	}
	return n;
#undef INPUT_FAILED
#undef MATCH_FAILED
}

static void store(const struct pending *p)
{
	switch (p->how) {
	case STORE_CHAR: *(char *)p->dest = p->value.integer; break;
	case STORE_SHORT: *(short *)p->dest = p->value.integer; break;
	case STORE_INT: *(int *)p->dest = p->value.integer; break;
	case STORE_LONG: *(long *)p->dest = p->value.integer; break;
	case STORE_LLONG: *(long long *)p->dest = p->value.integer; break;
	case STORE_FLOAT: *(float *)p->dest = p->value.single; break;
	case STORE_DOUBLE: *(double *)p->dest = p->value.real; break;
	case STORE_STRING:
		memcpy(p->dest, p->value.text, p->length);
		((char *)p->dest)[p->length] = 0;
		break;
	case STORE_CHARS: memcpy(p->dest, p->value.text, p->length); break;
	}
}

/* Reads s by fmt and makes the assignments; returns their count, -1 (EOF), or
 * SCANF_MUSL when musl's vfscanf must read it (nothing was stored then). */
hidden int __lind_scanf_string(const char *s, const char *fmt, va_list ap)
{
	struct pending pending[PENDING_MAX];
	int count = 0;
	va_list args;
	va_copy(args, ap);
	int result = read_all(s, fmt, args, pending, &count);
	va_end(args);
	if (result != MUSL)
		for (int i = 0; i < count; i++) store(&pending[i]);
	return result;
}

/* musl's vsscanf's FILE f reads the string at f->cookie, of which nothing is read yet. */
hidden int __lind_vsscanf_file(FILE *restrict f, const char *restrict fmt, va_list ap)
{
	int result = __lind_scanf_string(f->cookie, fmt, ap);
	return result == MUSL ? vfscanf(f, fmt, ap) : result;
}
