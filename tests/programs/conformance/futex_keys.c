/* Which futex word a call names: a private word (static data, a private mapping, the
 * page right after a shared one) is the process's own, so a parent's FUTEX_WAKE never
 * reaches a forked child waiting at the same address; a MAP_SHARED word is shared. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static uint32_t word;

static long futex(uint32_t *w, int op, uint32_t value, long timeout_ms)
{
	struct timespec t = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000};
	return syscall(SYS_futex, w, op, value, timeout_ms ? &t : NULL, NULL, 0);
}

/* The child waits at `w` (up to 300 ms); the parent wakes the same address. */
static void apart(const char *what, uint32_t *w)
{
	*w = 0;
	pid_t child = fork();
	if (child == 0) {
		long r = futex(w, FUTEX_WAIT, 0, 300);
		_exit(r == 0 ? 1 : errno == ETIMEDOUT ? 2 : 3);
	}
	usleep(100000);
	long woken = futex(w, FUTEX_WAKE, 1, 0);
	int st;
	waitpid(child, &st, 0);
	printf("%s: parent woke %ld, child %s\n", what, woken,
	       WEXITSTATUS(st) == 1 ? "woken" : WEXITSTATUS(st) == 2 ? "timed out" : "failed");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char *shared = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	munmap(shared + PAGE, PAGE);
	char *after = mmap(shared + PAGE, PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	char *priv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* one more shared mapping, wherever it lands (in a cage: above the others) */
	mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	apart("static data", &word);
	apart("private mapping", (uint32_t *)priv);
	apart("page after a shared one", (uint32_t *)after);
	apart("shared mapping", (uint32_t *)shared);
	*(uint32_t *)priv = 5;
	long r = futex((uint32_t *)priv, FUTEX_WAIT, 5, 10);
	printf("wait alone in a private mapping: %ld errno %d\n", r, errno);
	r = futex((uint32_t *)after, FUTEX_WAKE, 1, 0);
	printf("wake with nobody waiting: %ld\n", r);
	return 0;
}
