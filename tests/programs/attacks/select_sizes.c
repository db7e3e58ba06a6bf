/* select with n past FD_SETSIZE (1,024), over sets of a million bits filled with a
 * pattern: the trampoline copies a select's sets into buffers of FD_SETSIZE bits, so it
 * must leave such calls to the microvisor; had it copied (n + 31) / 32 * 4 bytes, the
 * cage would have written the host thread's stack. Prints "select-N RESULT ERRNO". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

static uint32_t sets[3][1 << 15];

int main(void)
{
	int p[2];
	if (pipe(p) != 0)
		return 1;
	const int sizes[] = {1025, 1056, 4096, 1 << 20};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		memset(sets, 0x41, sizeof sets);
		struct timeval none = {0, 0};
		errno = 0;
		int r = select(sizes[i], (fd_set *)sets[0], (fd_set *)sets[1], (fd_set *)sets[2],
		               &none);
		printf("select-%d %d %d\n", sizes[i], r, r < 0 ? errno : 0);
	}
	return 0;
}
