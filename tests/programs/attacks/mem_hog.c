/* Allocates and touches 1 MiB blocks until malloc fails or argv[1] blocks are held,
 * holds them for argv[2] ms, prints the count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every block is chained from here, so the compiler cannot drop the allocations. */
static void *volatile chain;

int main(int argc, char **argv)
{
	int cap = argc > 1 ? atoi(argv[1]) : 4096;
	int hold_ms = argc > 2 ? atoi(argv[2]) : 0;
	int count = 0;
	while (count < cap) {
		char *block = malloc(1 << 20);
		if (!block)
			break;
		memset(block, 0xA5, 1 << 20);
		*(void **)block = chain;
		chain = block;
		count++;
	}
	usleep(hold_ms * 1000);
	printf("blocks=%d\n", count);
	return 0;
}
