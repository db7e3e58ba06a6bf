/* libc computation: formatting, parsing, sorting, strings, math. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(void) {
    int v[10] = {5, 3, 9, 1, 7, 2, 8, 6, 4, 0};
    qsort(v, 10, sizeof *v, cmp);
    for (int i = 0; i < 10; i++)
        printf("%d%c", v[i], i == 9 ? '\n' : ' ');
    printf("%.6f %.3e %g %Lf\n", 3.14159265358979, 12345.678, 0.0001, (long double)2.5);
    printf("%s %5d|%-5d|%05.1f %x %o %c\n", "str", 42, 42, 3.14159, 255, 8, 'z');
    printf("strtod=%.4f strtol=%ld\n", strtod("2.71828xyz", NULL), strtol("-0x1f", NULL, 16));
    printf("sqrt=%.6f sin=%.6f pow=%.1f\n", sqrt(2.0), sin(1.0), pow(2.0, 10.0));
    char buf[64];
    snprintf(buf, sizeof buf, "%s-%d", "abc", 123);
    printf("snprintf=%s len=%zu\n", buf, strlen(buf));
    printf("strstr=%s strchr=%s\n", strstr("haystack needle", "need"), strchr("a,b,c", ','));
    char *tok, s[] = "one two three";
    for (tok = strtok(s, " "); tok; tok = strtok(NULL, " "))
        printf("[%s]", tok);
    printf("\n");
    return 0;
}
