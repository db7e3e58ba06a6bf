/* printf's %e, %f, %g and %a of doubles, and %Le/%Lf/%Lg of long doubles, as glibc
 * prints them: the guest formats doubles with musl's vfprintf built in double
 * arithmetic and formats with an L with the one built in long double, and both must
 * print every value's exact digits, rounded as glibc rounds them.  (%a only of normal
 * numbers: glibc writes a subnormal's leading digit 0, musl 1.) */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xorshift.h"

static const char *const formats[] = {
    "%.17g", "%g", "%#g", "%+.5g", "%.0f", "%.3f", "%f", "%e", "%.10e", "%.0e", "%#.0e",
    "%12.4f|", "%-12.4e|", "%012.3g", "% .8g", "%.20g", "%.30f", "%G", "%E",
};


/* doubles of every kind: random bits (any exponent, subnormals, NaNs), round
 * decimals, integers, and halves that rounding must split evenly */
static double pick(int i)
{
    uint64_t r = next();
    double x;
    switch (i % 5) {
    case 0:
        memcpy(&x, &r, sizeof x);
        return x;
    case 1:
        return (double)(int64_t)(r % 2000001) / 1000.0 - 1000.0;
    case 2:
        return (double)(r >> 11) * 1e-3;
    case 3:
        return ((double)(r % 100000) + 0.5) / (double)(1 << (r >> 60));
    default:
        return ldexp((double)(r >> 12), (int)(r % 200) - 100);
    }
}

int main(void)
{
    static const double shown[] = {0.0, -0.0, 1.0, -1.5, 0.1, 0.5, 1.5, 2.5, 3.5, 1e21,
                                   1e22, 1e300, 123456789.125, 5e-324, 2.2250738585072014e-308,
                                   DBL_MAX, 1.0 / 3, 100, 0.000123456, 9.9999999999e-5};
    char line[2048];
    for (size_t i = 0; i < sizeof shown / sizeof *shown; i++) {
        printf("%-24.17g", shown[i]);
        for (size_t k = 0; k < sizeof formats / sizeof *formats; k++) {
            snprintf(line, sizeof line, formats[k], shown[i]);
            printf(" %s", line);
        }
        if (shown[i] == 0 || fabs(shown[i]) >= DBL_MIN)
            printf(" %a %.3a %A", shown[i], shown[i], shown[i]);
        printf(" | %Le %.30Lf %Lg %.25Lg\n", (long double)shown[i], (long double)shown[i],
               (long double)shown[i], (long double)shown[i]);
    }
    printf("%f %e %g %F %a | %f %g | %Lf %Lg\n", INFINITY, -INFINITY, NAN, -INFINITY, INFINITY,
           -NAN, NAN, (long double)-INFINITY, (long double)NAN);
    printf("%.60f\n%.0f\n%.400f\n", 0.1, DBL_MAX, 5e-324);
    printf("%s %d %.3f %c %5.1e %s %Lf\n", "mixed", 42, 2.0 / 3, 'x', 31415.9, "and",
           (long double)1.25);
    /* many more, summed up: one line per 20,000 values */
    uint64_t sum = 14695981039346656037ull;
    for (int i = 1; i <= 100000; i++) {
        double x = pick(i);
        const char *format = formats[(unsigned)i % (sizeof formats / sizeof *formats)];
        int n = snprintf(line, sizeof line, format, x);
        if (i % 3 == 0 && isnormal(x))
            n += snprintf(line + n, sizeof line - (size_t)n, " %a", x);
        if (i % 7 == 0)
            n += snprintf(line + n, sizeof line - (size_t)n, " %.12Le", (long double)x);
        for (int k = 0; k < n; k++)
            sum = (sum ^ (unsigned char)line[k]) * 1099511628211ull;
        if (i % 20000 == 0)
            printf("values to %d: %016llx (last %s)\n", i, (unsigned long long)sum, line);
    }
    return 0;
}
