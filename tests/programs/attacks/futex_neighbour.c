/* futex(2) from a hostile cage. Each line is "WHAT RESULT ERRNO":
 * - words outside memory, in the null page, unaligned, a timeout pointer outside memory,
 *   a bitset of 0, a negative timeout: errors, as on Linux, and nothing else happens;
 * - a neighbour: this program started again (posix_spawn of itself: a fresh instance of
 *   the same module) waits on a static word neither of them ever writes, while this one
 *   wakes the same address for a second. Processes do not share that word, so none of
 *   the wakes reaches it ("woken 0 0") and its wait times out ("neighbour 0 0"): a
 *   futex keyed by guest address alone, or by the module's data, would meet there. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint32_t untouched_word = 7;   /* read, never written, by either process */

static long futex(void *word, int op, uint32_t value, const struct timespec *timeout,
                  uint32_t bitset)
{
	return syscall(SYS_futex, word, op, value, timeout, NULL, bitset);
}

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1L : r, r < 0 ? errno : 0);
	fflush(stdout);
}

static int wait_as_neighbour(void)
{
	struct timespec t = {0, 600 * 1000000L};
	long r = futex(&untouched_word, FUTEX_WAIT, 7, &t, 0);
	return r == 0 ? 1 : errno == ETIMEDOUT ? 0 : 2;   /* 0: timed out, as it must */
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "wait"))
		return wait_as_neighbour();

	uintptr_t top = UINT32_MAX - 3;   /* beyond a cage's memory, unmapped natively */
	struct timespec short_wait = {0, 1000000L}, negative = {-1, 0};
	report("wait-beyond-memory", futex((void *)top, FUTEX_WAIT, 0, &short_wait, 0));
	report("wake-beyond-memory", futex((void *)top, FUTEX_WAKE, 1, NULL, 0));
	report("wait-null-page", futex((void *)4, FUTEX_WAIT, 0, &short_wait, 0));
	report("unaligned", futex((char *)&untouched_word + 1, FUTEX_WAIT, 7, &short_wait, 0));
	report("timeout-beyond-memory",
	       futex(&untouched_word, FUTEX_WAIT, 7, (const struct timespec *)(top - 4), 0));
	report("negative-timeout", futex(&untouched_word, FUTEX_WAIT, 7, &negative, 0));
	report("bitset-zero", futex(&untouched_word, FUTEX_WAIT_BITSET, 7, NULL, 0));
	report("wrong-value", futex(&untouched_word, FUTEX_WAIT, 8, NULL, 0));
	report("wake-count-min", futex(&untouched_word, FUTEX_WAKE, (uint32_t)INT_MIN, NULL, 0));

	char *child_argv[] = {argv[0], "wait", NULL};
	pid_t child;
	if (posix_spawn(&child, "/proc/self/exe", NULL, NULL, child_argv, environ) != 0) {
		report("spawn", -1);
		return 1;
	}
	long woken = 0;
	struct timespec pause = {0, 2000000L};
	for (int i = 0; i < 400; i++) {    /* ~1 s, past the neighbour's wait */
		long r = futex(&untouched_word, FUTEX_WAKE, INT_MAX, NULL, 0);
		if (r > 0)
			woken += r;
		nanosleep(&pause, NULL);
	}
	int status;
	waitpid(child, &status, 0);
	report("woken", woken);
	report("neighbour", WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status));
	return 0;
}
