/* A tenant that guards its pages as libsodium's sodium_malloc does: mprotects every
 * other page of 128 (64 ranges), then prints "tenant protected COUNT ERRNO" (the count
 * done, and the errno of the first refused, 0 if none). */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#define PAGE 4096

int main(void)
{
	char *p = mmap(NULL, 128 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int done = 0, refused = 0;
	for (int i = 0; i < 128; i += 2) {
		if (mprotect(p + i * PAGE, PAGE, PROT_NONE) == 0)
			done++;
		else if (!refused)
			refused = errno;
	}
	printf("tenant protected %d %d\n", done, refused);
	return 0;
}
