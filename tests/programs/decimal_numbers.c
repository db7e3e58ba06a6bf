/* strtod, strtof, strtold, atof and scanf's %f, %lf and %Lf: the value (its bits),
 * where the number ends and errno, for numbers written in every way a program meets
 * them -- the guest converts short decimals itself, leaves the rest to musl's scanner,
 * built in double arithmetic for float and double and in long double for long double,
 * so each of them, and the borders between them, must give the correctly rounded
 * answers glibc gives.  (musl and glibc
 * differ where C lets them: errno after no conversion (EINVAL or untouched) and after
 * an underflow to a subnormal, a NaN's payload; so only overflow's ERANGE is shown, and
 * a NaN as its sign.) */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const written[] = {
    "0", "-0", "+0", "0.0", "-0.0e-400", "0e999999999999", ".5", "-.5", "5.", "1.e5",
    "1e", "1e+", "1e-", "1E5", "2.5E-3x", "  +3.25", " -7", "+-1", "-+1", ".", "-.",
    "e5", "", "   ", "abc", "inf", "-Infinity", "nan", "-NaN(123)", "0x1p3",
    "0X1.8P-2", "0x", "00x1", "0.1", "0.2", "0.3", "1.1", "3.14159", "2.718281828459045",
    "1e22", "1e23", "-1e22", "1e-22", "1e-23", "9007199254740992", "9007199254740993",
    "9007199254740991.5", "1234567890123456789", "12345678901234567890",
    "0.0000000000000000000000001", "00000000000000000000000000000001.25",
    "1.0000000000000000000000", "4.9406564584124654e-324", "2.2250738585072014e-308",
    "1.7976931348623157e308", "1.8e308", "-1e400", "1e-400", "123.456e-7", "5e-324",
    "0.1e23", "100000000000000000000000e-2", "8.98846567431158e307", "16777216",
    "16777217", "3.4028235e38", "3.5e38", "1e-46", "1.17549435e-38", "0.1f", "7e+0",
    "42e-0", "6.02214076e23", "1.602176634e-19", "12e1000000000000000000",
};

/* NaNs by their sign alone */
static uint64_t bits_of_double(double x)
{
    if (isnan(x)) x = signbit(x) ? -NAN : NAN;
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static uint32_t bits_of_float(float x)
{
    if (isnan(x)) x = signbit(x) ? -NAN : NAN;
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static uint64_t state = 0x2545F4914F6CDD1Dull;

static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 11);
}

/* A decimal as programs write them: sign, 1-24 digits (often few), a point somewhere
 * or none, an exponent or none, sometimes leading blanks or trailing text. */
static void write_random(char *out)
{
    char *o = out;
    uint32_t r = next();
    if (r % 16 == 0) *o++ = ' ';
    if (r % 5 == 0) *o++ = '-';
    else if (r % 7 == 0) *o++ = '+';
    int count = (r >> 8) % 4 == 0 ? 1 + (int)(next() % 24) : 1 + (int)(next() % 9);
    int point = (r >> 12) % 3 == 0 ? -1 : (int)(next() % (unsigned)(count + 1));
    for (int i = 0; i < count; i++) {
        if (i == point) *o++ = '.';
        *o++ = (char)('0' + next() % 10);
    }
    if (point == count) *o++ = '.';
    if ((r >> 16) % 3 == 0) {
        *o++ = (r >> 18) & 1 ? 'e' : 'E';
        if ((r >> 19) % 3 == 0) *o++ = '-';
        else if ((r >> 19) % 3 == 1) *o++ = '+';
        int exponent = (r >> 21) % 8 == 0 ? (int)(next() % 400) : (int)(next() % 40);
        o += sprintf(o, "%d", exponent);
    }
    if ((r >> 24) % 8 == 0) *o++ = 'x';
    *o = 0;
}

int main(void)
{
    for (size_t i = 0; i < sizeof written / sizeof *written; i++) {
        const char *s = written[i];
        char *end_d, *end_f;
        errno = 0;
        double d = strtod(s, &end_d);
        int overflow_d = errno == ERANGE && isinf(d);
        errno = 0;
        float f = strtof(s, &end_f);
        int overflow_f = errno == ERANGE && isinf(f);
        printf("%-36s strtod %016llx end %td overflow %d | strtof %08x end %td overflow %d"
               " | atof %016llx\n", s, (unsigned long long)bits_of_double(d), end_d - s,
               overflow_d, (unsigned)bits_of_float(f), end_f - s, overflow_f,
               (unsigned long long)bits_of_double(atof(s)));
    }
    /* scanf: widths, what follows, each size.  (Not an exponent cut short, "1e+x" or a
     * width that ends at an "e": a matching failure for musl, as C11 7.21.6.2 has it,
     * where glibc takes the digits before it.) */
    static const char *const scanned[] = {
        "12.5 7", "12345.678 9", "-.5e-3,4", "0x1p-2 5", "inf 6", "1.5e400 7",
        "2.2250738585072011e-308 8", "3.4028235677973366e38 9", "0.1 10", "  +4 11",
        "123456789012345678901234567890 12", "1.00000000000000011102230246251565404 13",
    };
    for (size_t i = 0; i < sizeof scanned / sizeof *scanned; i++) {
        double d = 0, w = 0;
        float f = 0;
        long double l = 0;
        int k = 0, kw = 0, kl = 0, n = 0, nw = 0;
        int r = sscanf(scanned[i], "%lf %d%n", &d, &k, &n);
        int rw = sscanf(scanned[i], "%3lf%n", &w, &nw);
        int rf = sscanf(scanned[i], "%f %d", &f, &kw);
        int rl = sscanf(scanned[i], "%Lf %d", &l, &kl);
        printf("sscanf %-40s %%lf %d %016llx %d n %d | %%3lf %d %016llx n %d | %%f %d %08x %d"
               " | %%Lf %d as double %016llx %d\n", scanned[i], r,
               (unsigned long long)bits_of_double(d), k, n, rw,
               (unsigned long long)bits_of_double(w), nw, rf, (unsigned)bits_of_float(f), kw,
               rl, (unsigned long long)bits_of_double((double)l), kl);
    }
    static const char *const long_ones[] = {"0.1", "1e4000", "-2.5", "1e-4950", "3.14159"};
    for (size_t i = 0; i < sizeof long_ones / sizeof *long_ones; i++) {
        char *end;
        long double l = strtold(long_ones[i], &end);
        printf("strtold %-10s as double %016llx end %td inf %d zero %d\n", long_ones[i],
               (unsigned long long)bits_of_double((double)l), end - long_ones[i],
               isinf(l) != 0, l == 0);
    }
    /* many more, summed up: one line per 25,000 */
    uint64_t sum = 14695981039346656037ull;
    char text[128];
    for (int i = 1; i <= 200000; i++) {
        write_random(text);
        char *end_d, *end_f;
        errno = 0;
        double x = strtod(text, &end_d);
        uint64_t d = bits_of_double(x);
        uint64_t e = (uint64_t)(errno == ERANGE && isinf(x)) << 32 | (uint64_t)(end_d - text);
        errno = 0;
        float y = strtof(text, &end_f);
        uint64_t f = bits_of_float(y);
        f |= (uint64_t)(errno == ERANGE && isinf(y)) << 56 | (uint64_t)(end_f - text) << 40;
        sum = (sum ^ d) * 1099511628211ull;
        sum = (sum ^ e) * 1099511628211ull;
        sum = (sum ^ f) * 1099511628211ull;
        if (i % 25000 == 0) printf("random numbers to %d: %016llx (last \"%s\")\n", i,
                                   (unsigned long long)sum, text);
    }
    return 0;
}
