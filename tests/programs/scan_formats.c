/* sscanf and vsscanf as glibc reads them: the guest reads formats of white space,
 * literal text, %%, integers, %s, %c, %n and plain decimal floats straight from the
 * string (guest/src/stdio/__lind_vsscanf.c) and leaves everything else to musl's
 * vfscanf.  Every format of a list against every input of a list (edges: empty input,
 * signs alone, prefixes alone, values at and past every type's limits, widths that cut
 * numbers, literal mismatches), then random formats against random inputs; the return
 * value and every destination are printed, unassigned ones as their sentinel.
 *
 * Left out because musl's answer (the cage's) differs from glibc's: integers past the
 * range of long long or unsigned long long (musl wraps modulo 2^64 and reads a number
 * past 2^64-1 as 2^64-1, glibc saturates by the conversion's signedness), "0x" or "0X"
 * with no hex digit after it under %x or %i (musl: matching failure; glibc: 0), a %Nc
 * with fewer than N characters left (musl stores them but counts no assignment; glibc
 * counts it), a float followed by "e" and no exponent digits, and a sign with nothing
 * after it at the end of the input. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xorshift.h"

#define SLOTS 6
#define SLOT_SIZE 40
#define SENTINEL 0x5a

/* What a conversion assigns. */
enum kind { NONE, CHAR, SHORT, INT, LONG, LLONG, SIZE, FLOAT, DOUBLE, LDOUBLE, TEXT };

/* The kinds of the destinations fmt assigns, in order; returns their number. */
static int kinds(const char *fmt, enum kind *out)
{
    int n = 0;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') continue;
        p++;
        if (*p == '%') continue;
        int assign = *p != '*';
        if (!assign) p++;
        while (*p >= '0' && *p <= '9') p++;
        int size = 0;  /* 1 h, 2 hh, 3 l, 4 ll, 5 z, 6 L */
        if (p[0] == 'h' && p[1] == 'h') size = 2, p += 2;
        else if (*p == 'h') size = 1, p++;
        else if (p[0] == 'l' && p[1] == 'l') size = 4, p += 2;
        else if (*p == 'l') size = 3, p++;
        else if (*p == 'j') size = 4, p++;
        else if (*p == 'z') size = 5, p++;
        else if (*p == 'L') size = 6, p++;
        enum kind k;
        if (strchr("diuoxXn", *p)) {
            static const enum kind by_size[] = {INT, SHORT, CHAR, LONG, LLONG, SIZE};
            k = by_size[size];
        } else if (strchr("efgEFG", *p)) {
            k = size == 6 ? LDOUBLE : size ? DOUBLE : FLOAT;
        } else {
            k = TEXT;
            if (*p == '[') p = strchr(p + 2, ']');
        }
        if (assign) out[n++] = k;
    }
    return n;
}

/* A string with its control characters written as escapes. */
static void show_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '\n') printf("\\n");
        else if (c == '\t') printf("\\t");
        else if (c == 0) printf("\\0");
        else if (c == SENTINEL) printf("~");
        else if (c < 32 || c >= 127) printf("\\x%02x", c);
        else putchar(c);
    }
}

static const size_t sizes[] = {
    0, sizeof(char), sizeof(short), sizeof(int), sizeof(long), sizeof(long long),
    sizeof(size_t), sizeof(float), sizeof(double), sizeof(long double), 0,
};

/* A destination not assigned shows as "~" (text: byte by byte). */
static void show_slot(enum kind k, const unsigned char *slot)
{
    size_t untouched = 0;
    while (untouched < sizes[k] && slot[untouched] == SENTINEL) untouched++;
    if (sizes[k] && untouched == sizes[k]) {
        printf(" ~");
        return;
    }
    /* long and size_t through their low 32 bits: 32-bit in a cage, 64-bit natively. */
    long l;
    long long ll;
    size_t z;
    float f;
    double d;
    long double ld;
    switch (k) {
    case CHAR: printf(" %d", *(const signed char *)slot); break;
    case SHORT: printf(" %d", *(const short *)slot); break;
    case INT: printf(" %d", *(const int *)slot); break;
    case LONG: memcpy(&l, slot, sizeof l); printf(" %d", (int)l); break;
    case SIZE: memcpy(&z, slot, sizeof z); printf(" %u", (unsigned)z); break;
    case LLONG: memcpy(&ll, slot, sizeof ll); printf(" %lld", ll); break;
    case FLOAT: memcpy(&f, slot, sizeof f); printf(" %.9g", f); break;
    case DOUBLE: memcpy(&d, slot, sizeof d); printf(" %.17g", d); break;
    /* 80 bits natively, 128 in a cage: through double */
    case LDOUBLE: memcpy(&ld, slot, sizeof ld); printf(" %.17g", (double)ld); break;
    case TEXT: printf(" ["); show_text((const char *)slot, 12); printf("]"); break;
    case NONE: break;
    }
}

static _Alignas(16) unsigned char slots[SLOTS][SLOT_SIZE];

static int through_vsscanf(const char *in, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsscanf(in, fmt, ap);
    va_end(ap);
    return r;
}

/* Reads `in` by `fmt` with sscanf and prints what it assigned; vsscanf must agree. */
static void scan(const char *fmt, const char *in)
{
    enum kind k[SLOTS + 8];
    int n = kinds(fmt, k);
    if (n > SLOTS) {
        printf("FAIL: %s has more than %d destinations\n", fmt, SLOTS);
        return;
    }
    memset(slots, SENTINEL, sizeof slots);
    int r = sscanf(in, fmt, slots[0], slots[1], slots[2], slots[3], slots[4], slots[5]);
    unsigned char copy[SLOTS][SLOT_SIZE];
    memcpy(copy, slots, sizeof slots);
    memset(slots, SENTINEL, sizeof slots);
    int rv = through_vsscanf(in, fmt, slots[0], slots[1], slots[2], slots[3], slots[4],
                             slots[5]);
    if (rv != r || memcmp(copy, slots, sizeof slots)) printf("FAIL: vsscanf: ");
    show_text(fmt, strlen(fmt));
    printf(" | ");
    show_text(in, strlen(in));
    printf(" -> %d:", r);
    for (int i = 0; i < n; i++) show_slot(k[i], slots[i]);
    printf("\n");
}

/* Formats and inputs read alike by musl and glibc. */
static const char *const formats[] = {
    "%d", "%i", "%u", "%x", "%X", "%o", "%ld", "%lu", "%lld", "%llu", "%lli", "%llx",
    "%hd", "%hu", "%hhd", "%hhu", "%hi", "%hhx", "%zu", "%jd", "%lo",
    "%3d", "%1d", "%4i", "%5x", "%2u", "%4lld", "%0d", "%20llu",
    "%d%n", "%n%d", "%*d%n", "%d %n%d", "%hhn%d%hn", "%lln%lld", "%n", " %n", "x%n",
    "%d %d", "%d,%d", "%d , %d", "%*d %d", "%d%*d%d", "%*s %d", "%d%%", "%d %% %d",
    "%%%d", "x%d", "%dx", " %d ", "a%db", "%s", "%5s", "%1s", "%s %s", "%3s%d", "%*s%s",
    "%c", "%1c%c", " %c", "%*c%c", "%d%c", "%s%c",
    "%f", "%lf", "%e", "%g", "%lg", "%E", "%lf %d", "%d %f", "%*f %lf", "%lf,%lf",
    "%[a-z]", "%[^,],%d", "%d%[0-9]", "%5[^ ]%n", "%Lf",
};

static const char *const inputs[] = {
    "", " ", "  \t\n ", "0", "1", "-1", "+1", "-0", "+0", "-", "+", "-x", "+ 1",
    "12345", "  42  ", "\t7\n", "- 1", "+-1", "-+1", "x", "abc", "12abc", "0x1f",
    "0X1F", "0x1g", "0x12345678", "08", "010", "-010", "0777", "1f", "ff", "-ff",
    "12 34", "12,34", "12 , 34", "12%", "12 % 34", "12%34", "% 5", "%5",
    "127", "128", "-128", "-129", "255", "256", "32767", "32768", "-32768", "-32769",
    "65535", "65536", "2147483647", "2147483648", "-2147483648", "-2147483649",
    "4294967295", "4294967296", "-4294967295", "-4294967296", "9223372036854775807",
    "-9223372036854775807", "-9223372036854775808", "0x7fffffff", "0x80000000",
    "0xffffffff", "0x100000000", "0x7fffffffffffffff", "-0x7fffffffffffffff",
    "037777777777", "040000000000",
    "hello world", "a", "ab", "abc def", " x y z ", "hello,42", "word 17", "x12", "a1b",
    "1.5", "-2.25", "12.5 7", "1e3", "1.5e-3", "1E+2x", ".5", "5.", "-.5", "1.2.3",
    "3.14159265358979", "0.1", "1e-30", "0.000000000000000000000000000001",
    "123456789.123456789e-5", "1e400", "1e-400", "1.5,2.5", "inf", "-INF", "nan",
    "infinity", "abc,12", "12,abc", "0x1p3", "5x", "7 %", "\xe9t\xe9 3",
};

/* Past the range of long long: alike for conversions that glibc reads as unsigned
 * (u, o, x), which saturate at 2^64-1 in both; d and i differ. */
static const char *const unsigned_formats[] = {
    "%u", "%x", "%o", "%lu", "%llu", "%llx", "%llo", "%hu", "%hhu", "%zu", "%5u",
    "%20llu", "%llu%n", "%*llu%n",
};
static const char *const huge_inputs[] = {
    "9223372036854775808", "-9223372036854775809", "18446744073709551615",
    "18446744073709551616", "-18446744073709551615", "-18446744073709551616",
    "123456789012345678901234567890", "-123456789012345678901234567890",
    "0xffffffffffffffff", "0x10000000000000000", "01777777777777777777777",
    "02000000000000000000000", "18446744073709551615 7",
};

/* "0x" without a hex digit after it, where no conversion reads a prefix. */
static const char *const prefix_formats[] = {
    "%d", "%u", "%o", "%lld", "%s", "%c", "%d%s", "%o%n", "%u%c", "%lf",
};
static const char *const prefix_inputs[] = {"0x", "0X", "0xg1", "0xz", "-0x", "0x ", "0x1"};

/* %Nc where N characters are there. */
static const char *const chars_formats[] = {"%3c", "%2c %d", "%c%c%c", "%*2c%c", "%3c%n"};
static const char *const chars_inputs[] = {
    "abc", " ab", "a b", "\t\n ", "12 34", "xyz 5", "ab 7", "   ", "123456",
};

/* Floats with a width that does not cut an exponent. */
static const char *const float_formats[] = {"%4lf", "%5f", "%1lf%d", "%10lg"};
static const char *const float_inputs[] = {
    "1.5", "-2.25", "123456", "1e-30", "0.125", ".5", "-.5x", "1e400", "12.25e+7",
};

static void grid(const char *const *f, size_t nf, const char *const *in, size_t ni)
{
    for (size_t i = 0; i < nf; i++)
        for (size_t j = 0; j < ni; j++) scan(f[i], in[j]);
}

#define GRID(f, in) grid(f, sizeof f / sizeof *f, in, sizeof in / sizeof *in)

static unsigned below(unsigned n)
{
    return (unsigned)(next() % n);
}

/* Pieces of random formats and inputs, within what musl and glibc read alike. */
static const char *const conversions[] = {
    "d", "i", "u", "x", "o", "ld", "lu", "lld", "llu", "hd", "hhu", "zu", "s", "c",
    "n", "lf", "f", "g", "lld", "X",
};
static const char *const literals[] = {" ", ",", ":", "%%", "a", "-", " , "};
static const char *const pieces[] = {
    "0", "7", "-3", "+12", "99", "123456", "-2147483648", "4294967295", "0x1F", "017",
    "0xabc", "9223372036854775807", "-9223372036854775807", "4294967296",
    "word", "ab", "x", "1.25", "-0.5", "6.02e23", ".75", "%", ",", ":",
};
static const char *const separators[] = {" ", "  ", "\t", ",", ":", "a", " , ", "-"};

static void random_case(void)
{
    char fmt[128] = "", in[256] = "";
    int n = 1 + below(4), assigned = 0;
    for (int i = 0; i < n; i++) {
        if (below(3) == 0) strcat(fmt, literals[below(sizeof literals / sizeof *literals)]);
        strcat(fmt, "%");
        if (below(5) == 0) strcat(fmt, "*");
        else assigned++;
        const char *c = conversions[below(sizeof conversions / sizeof *conversions)];
        /* a width only where no number is cut (a cut "0x" or "1e" reads differently) */
        if (*c == 's' || *c == 'd' || *c == 'u') {
            if (below(3) == 0) sprintf(fmt + strlen(fmt), "%u", 1 + below(12));
        }
        strcat(fmt, c);
    }
    int m = below(6);
    for (int i = 0; i < m; i++) {
        strcat(in, pieces[below(sizeof pieces / sizeof *pieces)]);
        strcat(in, separators[below(sizeof separators / sizeof *separators)]);
    }
    (void)assigned;
    scan(fmt, in);
}

int main(void)
{
    GRID(formats, inputs);
    GRID(unsigned_formats, huge_inputs);
    GRID(prefix_formats, prefix_inputs);
    GRID(chars_formats, chars_inputs);
    GRID(float_formats, float_inputs);
    for (int i = 0; i < 3000; i++) random_case();
    return 0;
}
