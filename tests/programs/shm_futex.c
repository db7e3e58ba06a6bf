/* futex(2) through syscall(): errors, timeouts, and waits and wakes between a
 * parent and a child on a word in MAP_SHARED memory. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define ROUNDS 2000

static long futex(volatile int *addr, int op, int val, const struct timespec *timeout, int bitset)
{
	return syscall(SYS_futex, addr, op, val, timeout, 0, bitset);
}

static const char *result(long r)
{
	if (r >= 0)
		return "ok";
	return errno == EAGAIN ? "EAGAIN" : errno == ETIMEDOUT ? "ETIMEDOUT" :
	       errno == EINVAL ? "EINVAL" : "other";
}

static struct timespec later(clockid_t clock, long ms)
{
	struct timespec t;
	clock_gettime(clock, &t);
	t.tv_nsec += ms * 1000000;
	t.tv_sec += t.tv_nsec / 1000000000;
	t.tv_nsec %= 1000000000;
	return t;
}

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);
	volatile int *words = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (words == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	volatile int *turn = &words[0], *gate = &words[1], *misc = &words[2];

	*misc = 1;
	printf("wait on a changed word: %s\n", result(futex(misc, FUTEX_WAIT, 0, 0, 0)));
	struct timespec short_wait = {0, 20 * 1000 * 1000};
	printf("wait with a timeout: %s\n", result(futex(misc, FUTEX_WAIT, 1, &short_wait, 0)));
	printf("private wait with a timeout: %s\n",
	       result(futex(misc, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1, &short_wait, 0)));
	struct timespec deadline = later(CLOCK_MONOTONIC, 20);
	printf("bitset wait, monotonic deadline: %s\n",
	       result(futex(misc, FUTEX_WAIT_BITSET, 1, &deadline, -1)));
	deadline = later(CLOCK_REALTIME, 20);
	printf("bitset wait, realtime deadline: %s\n",
	       result(futex(misc, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 1, &deadline, -1)));
	printf("bitset 0: %s\n", result(futex(misc, FUTEX_WAIT_BITSET, 1, 0, 0)));
	printf("misaligned: %s\n", result(futex((int *)((char *)misc + 1), FUTEX_WAKE, 1, 0, 0)));
	printf("wake with nobody waiting: %ld\n", futex(misc, FUTEX_WAKE, 1, 0, 0));

	/* ping-pong: each side waits for its turn, takes it, hands it over */
	pid_t child = fork();
	if (child == 0) {
		for (int i = 0; i < ROUNDS; i++) {
			while (*turn != 1)
				futex(turn, FUTEX_WAIT, 0, 0, 0);
			*turn = 0;
			futex(turn, FUTEX_WAKE, 1, 0, 0);
		}
		_exit(0);
	}
	for (int i = 0; i < ROUNDS; i++) {
		while (*turn != 0)
			futex(turn, FUTEX_WAIT, 1, 0, 0);
		*turn = 1;
		futex(turn, FUTEX_WAKE, 1, 0, 0);
	}
	int status;
	waitpid(child, &status, 0);
	printf("ping-pong: %d rounds, child status %d\n", ROUNDS, status);

	/* a child waits on bitset 2; only a shared wake that matches the bitset reaches it */
	child = fork();
	if (child == 0) {
		long r = futex(gate, FUTEX_WAIT_BITSET, 0, 0, 2);
		printf("child woken: %s\n", result(r));
		_exit(r != 0);
	}
	long private_woke = 0, other_bits_woke = 0, woke = 0;
	while (!woke) {
		private_woke += futex(gate, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0);
		other_bits_woke += futex(gate, FUTEX_WAKE_BITSET, 1, 0, 1);
		woke = futex(gate, FUTEX_WAKE_BITSET, 1, 0, 2 | 4);
		if (!woke)
			sched_yield();
	}
	waitpid(child, &status, 0);
	printf("private wake woke %ld, other bits woke %ld, matching wake woke %ld, child status %d\n",
	       private_woke, other_bits_woke, woke, status);
	return 0;
}
