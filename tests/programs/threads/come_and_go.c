/* Starts and joins 200 threads, one after another: each thread's host resources (its
 * wake eventfd) must go with it, and each new thread starts fresh -- its thread-local
 * variables at their initial values and its stack where pthread_create put it -- even
 * when it runs in the instance an ended thread left.  With an argument it then execs
 * that program (whose threads must not run in this one's instances). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static _Thread_local int counter = 42;
static _Thread_local char scratch[64] = "initial";

static void *check(void *arg)
{
	char here;
	uintptr_t lo = (uintptr_t)arg, hi = lo + (1 << 20);
	int fresh = counter == 42 && scratch[0] == 'i' && (uintptr_t)&here > lo
		&& (uintptr_t)&here < hi;
	counter = -1;             /* what a reused instance must not show the next thread */
	scratch[0] = 'x';
	return (void *)(intptr_t)fresh;
}

int main(int argc, char **argv)
{
	static char stacks[2][1 << 20] __attribute__((aligned(16)));
	int joined = 0, fresh = 0;
	for (int i = 0; i < 200; i++) {
		pthread_t t;
		pthread_attr_t attr;
		void *ok = 0;
		pthread_attr_init(&attr);
		pthread_attr_setstack(&attr, stacks[i & 1], sizeof stacks[0]);
		if (pthread_create(&t, &attr, check, stacks[i & 1]) == 0
		    && pthread_join(t, &ok) == 0) {
			joined++;
			fresh += ok != 0;
		}
		pthread_attr_destroy(&attr);
	}
	printf("joined %d, started fresh %d\n", joined, fresh);
	if (argc > 1) {
		fflush(stdout);
		execv(argv[1], argv + 1);
		perror("execv");
		return 1;
	}
	return 0;
}
