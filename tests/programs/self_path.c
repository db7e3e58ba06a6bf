/* A program that finds itself through argv[0], as libuv's test runner and many tools do:
 * the relative path it was started by is its argv[0], and leads to its own file. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char real[PATH_MAX], exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	printf("argv[0] relative: %s\n", argv[0][0] != '/' && strchr(argv[0], '/') ? "yes" : "no");
	printf("realpath(argv[0]) is /proc/self/exe: %s\n",
	       realpath(argv[0], real) && !strcmp(real, exe) ? "yes" : "no");
	return 0;
}
