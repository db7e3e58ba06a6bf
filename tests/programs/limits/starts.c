/* A program started while other trees hold every host fd they may: it runs and
 * writes (its stdio came from the reserve), and what needs a new host fd fails. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	int p[2];
	int r = pipe(p);
	printf("started; pipe %d errno %d\n", r, r < 0 ? errno : 0);
	return 0;
}
