/* getrandom_big MIB: one getrandom(2) call filling a MIB MiB buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

int main(int argc, char **argv)
{
	size_t n = strtoul(argc > 1 ? argv[1] : "1", 0, 10) << 20;
	char *p = malloc(n);
	long r = p ? getrandom(p, n, 0) : -2;
	printf("getrandom %ld\n", r);
	return 0;
}
