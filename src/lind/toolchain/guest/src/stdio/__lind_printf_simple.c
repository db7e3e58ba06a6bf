/* wasm32-lind: printf's common case in one pass.  Most formats programs use are text
 * with %d, %u, %x, %s and %c, with flags, width, precision and length modifiers.  musl's
 * vfprintf hands each piece of such a format to the FILE separately (a __fwritex call
 * per piece, padding built with memset, zero-length writes for absent prefixes), which
 * in a cage costs 2-4x what glibc takes natively.  Here the whole text is built in a
 * local buffer and written to the FILE once.  Anything else (floating point, %p, %n,
 * %m, wide characters, positional or * arguments, an output longer than the buffer, an
 * invalid conversion) is left to musl's vfprintf before anything has been written, so
 * the text and errors of every format stay musl's. */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "printf_simple.h"

#define LEFT_ADJ 1u
#define ZERO_PAD 2u
#define MARK_POS 4u
#define PAD_POS 8u
#define ALT_FORM 16u

/* Widths and precisions past this are musl's. */
#define FIELD_MAX 256

static const char two_digits[200] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Writes the decimal digits of x ending at end; returns where they start. */
static char *decimal(uint64_t x, char *end)
{
	uint32_t low;
	while (x > UINT32_MAX) {
		/* One 64-bit division per nine digits; the rest in 32-bit arithmetic. */
		low = (uint32_t)(x % 1000000000u);
		x /= 1000000000u;
		for (int i = 0; i < 9; i++, low /= 10) *--end = '0' + low % 10;
	}
	low = (uint32_t)x;
	while (low >= 100) {
		end -= 2;
		memcpy(end, two_digits + 2 * (low % 100), 2);
		low /= 100;
	}
	if (low >= 10) {
		end -= 2;
		memcpy(end, two_digits + 2 * low, 2);
	} else if (low) {
		*--end = '0' + low;
	}
	return end;
}

static char *hex(uint64_t x, char *end, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	for (; x; x >>= 4) *--end = digits[x & 15];
	return end;
}

static char *octal(uint64_t x, char *end)
{
	for (; x; x >>= 3) *--end = '0' + (x & 7);
	return end;
}

/* Reads a width or precision; -1 when it is larger than this path handles. */
static int small_number(const char **s)
{
	int n = 0;
	for (; **s >= '0' && **s <= '9'; (*s)++) {
		n = 10 * n + (**s - '0');
		if (n >= FIELD_MAX) return -1;
	}
	return n;
}

static char *fill(char *out, char c, int n)
{
	if (n > 0) {
		memset(out, c, n);
		out += n;
	}
	return out;
}

static int format(char *text, const char *fmt, va_list ap)
{
	char *out = text, *limit = text + PRINTF_SIMPLE_MAX;
	const char *s = fmt;
	for (;;) {
		/* Formats' text is short: copied as it is scanned. */
		for (; *s && *s != '%'; s++) {
			if (out == limit) return -1;
			*out++ = *s;
		}
		if (!*s) return out - text;
		if (s[1] == '%') {
			if (out == limit) return -1;
			*out++ = '%';
			s += 2;
			continue;
		}
		s++;

		unsigned flags = 0;
		for (;; s++) {
			if (*s == '-') flags |= LEFT_ADJ;
			else if (*s == '0') flags |= ZERO_PAD;
			else if (*s == '+') flags |= MARK_POS;
			else if (*s == ' ') flags |= PAD_POS;
			else if (*s == '#') flags |= ALT_FORM;
			else break;
		}
		int width = small_number(&s);
		int precision = -1;
		if (*s == '.') {
			s++;
			precision = small_number(&s);
			if (precision < 0) return -1;
		}
		int explicit_precision = precision >= 0;
		/* A '$' (positional), '*', "'" or a width past FIELD_MAX: musl's. */
		if (width < 0 || *s == '$') return -1;

		/* Length modifiers: 0 int, 1 long, 2 long long, 3 char, 4 short, 5 size_t,
		 * 6 intmax_t, 7 ptrdiff_t. */
		int size = 0;
		switch (*s) {
		case 'h':
			size = s[1] == 'h' ? 3 : 4;
			s += size == 3 ? 2 : 1;
			break;
		case 'l':
			size = s[1] == 'l' ? 2 : 1;
			s += size;
			break;
		case 'z': size = 5; s++; break;
		case 'j': size = 6; s++; break;
		case 't': size = 7; s++; break;
		}

		char conversion = *s++;
		char digits[3 * sizeof(uint64_t)], *end = digits + sizeof digits, *start;
		const char *prefix = "";
		int prefix_length = 0;
		if (flags & LEFT_ADJ) flags &= ~ZERO_PAD;

		if (conversion == 's' || conversion == 'c') {
			if (size) return -1;  /* %ls, %lc, and modifiers musl rejects */
			const char *string;
			size_t length;
			char c;
			if (conversion == 's') {
				string = va_arg(ap, const char *);
				if (!string) string = "(null)";
				length = strnlen(string, precision < 0 ? (size_t)(limit - out) + 1 : (size_t)precision);
			} else {
				c = (char)va_arg(ap, int);
				string = &c;
				length = 1;
			}
			size_t field = length < (size_t)width ? (size_t)width : length;
			if (field > (size_t)(limit - out)) return -1;
			if (!(flags & LEFT_ADJ)) out = fill(out, ' ', width - (int)length);
			memcpy(out, string, length);
			out += length;
			if (flags & LEFT_ADJ) out = fill(out, ' ', width - (int)length);
			continue;
		}

		int is_signed = conversion == 'd' || conversion == 'i';
		if (!is_signed && conversion != 'u' && conversion != 'x' && conversion != 'X'
		    && conversion != 'o')
			return -1;  /* floating point, %p, %n, %m, %C, %S, invalid: musl's */
		uint64_t value;
		int negative = 0;
		if (is_signed) {
			int64_t v;
			switch (size) {
			case 0: v = va_arg(ap, int); break;
			case 1: v = va_arg(ap, long); break;
			case 3: v = (signed char)va_arg(ap, int); break;
			case 4: v = (short)va_arg(ap, int); break;
			case 5: v = (ssize_t)va_arg(ap, size_t); break;
			case 7: v = va_arg(ap, ptrdiff_t); break;
			default: v = va_arg(ap, long long); break;
			}
			negative = v < 0;
			value = negative ? -(uint64_t)v : (uint64_t)v;
			if (negative) prefix = "-", prefix_length = 1;
			else if (flags & MARK_POS) prefix = "+", prefix_length = 1;
			else if (flags & PAD_POS) prefix = " ", prefix_length = 1;
		} else {
			switch (size) {
			case 0: value = va_arg(ap, unsigned); break;
			case 1: value = va_arg(ap, unsigned long); break;
			case 3: value = (unsigned char)va_arg(ap, unsigned); break;
			case 4: value = (unsigned short)va_arg(ap, unsigned); break;
			case 5: value = va_arg(ap, size_t); break;
			case 7: value = (size_t)va_arg(ap, ptrdiff_t); break;
			default: value = va_arg(ap, unsigned long long); break;
			}
		}

		if (conversion == 'x' || conversion == 'X') {
			start = hex(value, end, conversion == 'X');
			if (value && (flags & ALT_FORM))
				prefix = conversion == 'X' ? "0X" : "0x", prefix_length = 2;
		} else if (conversion == 'o') {
			start = octal(value, end);
			/* '#' makes the first digit a 0. */
			if ((flags & ALT_FORM) && precision < end - start + 1)
				precision = end - start + 1;
		} else {
			start = decimal(value, end);
		}
		if (explicit_precision) flags &= ~ZERO_PAD;
		int length = end - start;
		if (precision < 0) precision = length ? length : 1;  /* 0 prints as "0" */
		else if (precision < length) precision = length;
		int field = prefix_length + precision;
		if (width < field) width = field;
		if (width > limit - out) return -1;

		if (!(flags & (LEFT_ADJ | ZERO_PAD))) out = fill(out, ' ', width - field);
		memcpy(out, prefix, prefix_length);
		out += prefix_length;
		if (flags & ZERO_PAD) out = fill(out, '0', width - field);
		out = fill(out, '0', precision - length);
		memcpy(out, start, length);
		out += length;
		if (flags & LEFT_ADJ) out = fill(out, ' ', width - field);
	}
}

int __lind_printf_simple(char *text, const char *fmt, va_list ap)
{
	va_list args;
	va_copy(args, ap);
	int length = format(text, fmt, args);
	va_end(args);
	return length;
}
