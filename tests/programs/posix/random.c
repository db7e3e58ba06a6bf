/* getrandom: counts (0, small, a page, past the 32 MiB - 1 Linux gives at most), flags,
 * a buffer that is not there; the bytes are not all zero and two reads differ. Printed
 * as numbers and errnos, so a cage's output equals Linux's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static unsigned char big[(32 << 20) + 16];

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s = -1 errno %d\n", what, errno);
	else
		printf("%s = %ld\n", what, r);
}

int main(void)
{
	unsigned char a[64] = {0}, b[64] = {0};
	show("0 bytes", getrandom(a, 0, 0));
	show("16 bytes", getrandom(a, 16, 0));
	show("64 bytes nonblock", getrandom(b, 64, GRND_NONBLOCK));
	show("4096 bytes random", getrandom(big, 4096, GRND_RANDOM | GRND_NONBLOCK));
	show("32 MiB + 16", getrandom(big, sizeof big, 0));
	show("unknown flag", getrandom(a, 16, 0x40));
	show("unmapped buffer", getrandom((void *)0xfffffff0, 16, 0));
	int zeros = 0;
	for (int i = 0; i < 16; i++)
		zeros += a[i] == 0;
	printf("not all zero: %d, two reads differ: %d\n", zeros < 16, memcmp(a, b, 16) != 0);
	return 0;
}
