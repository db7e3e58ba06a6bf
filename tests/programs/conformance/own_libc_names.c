/* A program that brings its own strnlen, strchrnul, atoi and rint (portable code does:
 * http-parser's test suite defines strnlen) and also calls strlen, strchr, strtol and
 * rintf from the C library. Linked natively (musl's libc.a holds one function a file;
 * glibc is a shared library) the program's own definitions are used and the rest comes
 * from libc. The cage's libc once held strlen with strnlen and strchrnul, strtol with
 * atoi and rint with rintf in one object each, so the link failed: "duplicate symbol". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int own_calls;

size_t strnlen(const char *s, size_t n)
{
	size_t i = 0;
	own_calls++;
	while (i < n && s[i])
		i++;
	return i;
}

char *strchrnul(const char *s, int c)
{
	own_calls++;
	while (*s && *s != (char)c)
		s++;
	return (char *)s;
}

int atoi(const char *s)
{
	int n = 0, neg = 0;
	own_calls++;
	while (*s == ' ')
		s++;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	while (*s >= '0' && *s <= '9')
		n = n * 10 + (*s++ - '0');
	return neg ? -n : n;
}

double rint(double x)
{
	own_calls++;
	return nearbyint(x);
}

int main(int argc, char **argv)
{
	/* through volatile pointers, so no compiler turns a call into its builtin */
	size_t (*volatile own_strnlen)(const char *, size_t) = strnlen;
	char *(*volatile own_strchrnul)(const char *, int) = strchrnul;
	int (*volatile own_atoi)(const char *) = atoi;
	double (*volatile own_rint)(double) = rint;
	size_t (*volatile lib_strlen)(const char *) = strlen;
	char *(*volatile lib_strchr)(const char *, int) = strchr;
	float (*volatile lib_rintf)(float) = rintf;
	const char *text = argc > 5 ? argv[1] : "header: value\r\n";

	printf("strnlen %zu %zu\n", own_strnlen(text, 6), own_strnlen(text, 100));
	printf("strchrnul %td %td\n", own_strchrnul(text, ':') - text, own_strchrnul(text, '#') - text);
	printf("atoi %d %d\n", own_atoi(" -42x"), own_atoi("+17"));
	printf("rint %.1f %.1f\n", own_rint(2.5), own_rint(-3.5));
	printf("strlen %zu strchr %td\n", lib_strlen(text), lib_strchr(text, 'v') - text);
	printf("strtol %ld rintf %.1f\n", strtol("0x1f", NULL, 16), (double)lib_rintf(4.5f));
	printf("own calls %d\n", own_calls);
	return 0;
}
