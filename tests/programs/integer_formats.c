/* printf's integers, strings and characters as glibc prints them: the guest formats
 * these itself in one pass (guest/src/stdio/__lind_printf_simple.c) and leaves every
 * other format, and any output longer than its buffer, to musl's vfprintf.  Random
 * combinations of flags, width, precision, length modifier and conversion, values at
 * every boundary, truncation by snprintf's size, and the FILEs printf writes to. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xorshift.h"


static const uint64_t edges[] = {
    0, 1, 7, 8, 9, 10, 99, 100, 255, 256, 999999999, 1000000000, 4294967295u,
    4294967296ull, 9999999999999999999ull, 10000000000000000000ull, INT_MAX,
    (uint64_t)INT_MIN, (uint64_t)-1, LLONG_MAX, (uint64_t)LLONG_MIN, 0x8000, 0x80,
    0x7f, (uint64_t)-128, (uint64_t)-32768,
};

static const char *const lengths[] = {"", "hh", "h", "l", "ll", "z", "j", "t"};
static const char conversions[] = "diuxXo";

/* a format, snprintf's return value and its text */
static void show(const char *fmt, int n, const char *text)
{
    printf("%-24s -> %d [%s]\n", fmt, n, text);
}

/* One conversion with a value passed as the type its length modifier names (l, z and
 * t through 32 bits: long and size_t are 32-bit in a cage, 64-bit natively). */
static void one(const char *fmt, const char *length, char conversion, uint64_t v)
{
    char out[1200], cut[7];
    int n, m;
    int is_signed = conversion == 'd' || conversion == 'i';
    if (!*length || !strcmp(length, "hh") || !strcmp(length, "h")) {
        n = snprintf(out, sizeof out, fmt, (int)v);
        m = snprintf(cut, sizeof cut, fmt, (int)v);
    } else if (!strcmp(length, "ll") || !strcmp(length, "j")) {
        n = snprintf(out, sizeof out, fmt, (long long)v);
        m = snprintf(cut, sizeof cut, fmt, (long long)v);
    } else if (is_signed) {
        n = snprintf(out, sizeof out, fmt, (long)(int32_t)v);
        m = snprintf(cut, sizeof cut, fmt, (long)(int32_t)v);
    } else {
        n = snprintf(out, sizeof out, fmt, (unsigned long)(uint32_t)v);
        m = snprintf(cut, sizeof cut, fmt, (unsigned long)(uint32_t)v);
    }
    show(fmt, n, out);
    if (m != n || strncmp(cut, out, sizeof cut - 1) || strlen(cut) > sizeof cut - 1)
        printf("FAIL: cut to %zu: %d [%s]\n", sizeof cut, m, cut);
}

static void random_integers(int count)
{
    static const char flag_chars[] = "-0+ #";
    static const int widths[] = {-1, 0, 1, 2, 5, 9, 12, 20, 30, 255, 256, 300};
    static const int precisions[] = {-2, -1, 0, 1, 2, 5, 11, 20, 25, 255, 256, 300};
    for (int i = 0; i < count; i++) {
        char fmt[64], *p = fmt;
        uint64_t r = next();
        *p++ = '<';
        *p++ = '%';
        for (int k = 0; k < 5; k++)
            if (r >> k & 1 && (r >> 40 & 3) == 0) *p++ = flag_chars[k];
        int width = widths[(r >> 5) % 12];
        int precision = precisions[(r >> 9) % 12];
        if (width >= 0 && (r >> 44 & 1)) p += sprintf(p, "%d", width);
        if (precision == -2) *p++ = '.';
        else if (precision >= 0 && (r >> 45 & 1)) p += sprintf(p, ".%d", precision);
        const char *length = lengths[(r >> 13) % 8];
        char conversion = conversions[(r >> 16) % 6];
        p += sprintf(p, "%s%c>", length, conversion);
        uint64_t v = (r >> 50 & 1) ? edges[(r >> 19) % (sizeof edges / sizeof *edges)] : next() >> (next() % 64);
        one(fmt, length, conversion, v);
    }
}

static void strings_and_characters(void)
{
    static const char *const fmts[] = {
        "%s", "[%10s]", "[%-10s]", "[%.3s]", "[%10.3s]", "[%-8.0s]", "[%.20s]",
        "[%010s]", "[%c]", "[%5c]", "[%-5c]", "[%05c]", "%s%s%c%%",
    };
    static const char *const words[] = {"", "a", "alpha", "a much longer word than ten"};
    char out[200];
    for (size_t f = 0; f < sizeof fmts / sizeof *fmts; f++) {
        for (size_t w = 0; w < 4; w++) {
            int n;
            if (strstr(fmts[f], "%s%s"))
                n = snprintf(out, sizeof out, fmts[f], words[w], words[3 - w], 'x' + (int)w);
            else if (strchr(fmts[f], 'c'))
                n = snprintf(out, sizeof out, fmts[f], "az"[w & 1] + (int)w);
            else
                n = snprintf(out, sizeof out, fmts[f], words[w]);
            show(fmts[f], n, out);
        }
    }
    /* a NUL character is counted and copied like any other */
    int n = snprintf(out, sizeof out, "a%cb%3c|", 0, 0);
    printf("NUL -> %d:", n);
    for (int i = 0; i <= n; i++) printf(" %02x", (unsigned char)out[i]);
    printf("\n");
    const char *volatile nothing = NULL;
    n = snprintf(out, sizeof out, "<%s|%10s|%-8s>", nothing, nothing, nothing);
    show("(null)", n, out);
}

/* Formats this path leaves to musl, alone and beside integers, and outputs longer
 * than its buffer: the text must not change with the path that made it. */
static void mixed_and_long(void)
{
    char out[3000], word[700];
    int n = snprintf(out, sizeof out, "%d %.3f %s %5.1e|%x", 42, 2.5, "mid", 12345.678, 255u);
    show("mixed", n, out);
    n = snprintf(out, sizeof out, "%p", (void *)0);
    printf("%%p of NULL has %s\n", n > 0 ? "text" : "none");
    n = snprintf(out, sizeof out, "%200d|%200d|%200d", 1, -2, 3);
    show("three wide", n, out);
    n = snprintf(out, sizeof out, "%255d|%255x|%.255d", 1, 2u, 3);
    show("just under", n, out);
    memset(word, 'w', sizeof word - 1);
    word[sizeof word - 1] = 0;
    n = snprintf(out, sizeof out, "%d:%s:%d", 7, word, 8);
    printf("long string -> %d, ends %s\n", n, out + n - 6);
    for (int len = 505; len <= 515; len++) {
        word[len] = 0;
        n = snprintf(out, sizeof out, "%s%d", word, len);
        printf("%d -> %d %s\n", len, n, out + len - 2);
        word[len] = 'w';
    }
    n = snprintf(NULL, 0, "%lld and %s", -1234567890123ll, "more");
    printf("size 0 -> %d\n", n);
    char one_byte[1] = {'z'};
    size_t volatile one_size = 1;
    n = snprintf(one_byte, one_size, "%d", 123);
    printf("size 1 -> %d [%s]\n", n, one_byte);
    n = sprintf(out, "%u-%i-%o", 4000000000u, -5, 8);
    show("sprintf", n, out);
}

/* printf to a file, to a stream it cannot write, and to an unbuffered stderr */
static void files(void)
{
    FILE *f = fopen("formats.txt", "w+");
    if (!f) {
        printf("FAIL: fopen\n");
        return;
    }
    int total = 0;
    for (int i = 0; i < 2000; i++)
        total += fprintf(f, "%d:%x:%s\n", i * 7919, (unsigned)i * 2654435761u, i % 3 ? "x" : "yy");
    rewind(f);
    char line[100];
    unsigned sum = 0;
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        for (char *c = line; *c; c++) sum = sum * 31 + (unsigned char)*c;
        lines++;
    }
    printf("file: %d bytes written, %d lines read back, hash %u, ftell %ld\n", total, lines,
           sum, ftell(f));
    fclose(f);

    f = fopen("formats.txt", "r");
    int r = fprintf(f, "%d\n", 5);
    printf("to a read-only stream: %d, ferror %d\n", r, ferror(f) != 0);
    fclose(f);

    fflush(stdout);
    r = fprintf(stderr, "to stderr: %d %s\n", 17, "unbuffered");
    printf("stderr: %d\n", r);
}

int main(void)
{
    for (size_t e = 0; e < sizeof edges / sizeof *edges; e++)
        for (size_t l = 0; l < 8; l++)
            for (const char *c = conversions; *c; c++) {
                char fmt[16];
                snprintf(fmt, sizeof fmt, "%%%s%c", lengths[l], *c);
                one(fmt, lengths[l], *c, edges[e]);
            }
    random_integers(20000);
    strings_and_characters();
    mixed_and_long();
    files();
    return 0;
}
