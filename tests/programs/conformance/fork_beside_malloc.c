/* One thread allocates and frees without pause while another forks: fork holds the
 * allocator's lock across the fork, so the allocating thread may find it taken and sleep
 * on it (a futex wait), to be woken when the forking parent lets go of it. QuickJS's
 * os.exec in a Worker, beside a main thread that also runs programs, does this. In a cage
 * the parent used to clear the lock without waking the sleeper (and the child, where
 * nobody waits, woke it), so the allocating thread slept for good and the program hung. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define FORKS 40

static volatile int stop, finished;
static char *volatile last;   /* so no compiler drops the malloc and free as unused */

static void *allocate(void *arg)
{
	(void)arg;
	unsigned long n = 0;
	while (!stop) {
		char *p = malloc(16 + n % 4000);
		if (!p)
			abort();
		memset(p, 1, 16);
		last = p;
		free(last);
		n++;
	}
	finished = 1;
	return NULL;
}

int main(void)
{
	pthread_t t;
	int children_ok = 0;
	if (pthread_create(&t, NULL, allocate, NULL))
		return 1;
	for (int i = 0; i < FORKS; i++) {
		pid_t p = fork();
		if (p == 0) {
			char *q = malloc(100);      /* the child's allocator works too */
			_exit(q ? 7 : 1);
		}
		int st = 0;
		if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 7)
			children_ok++;
		free(malloc(32));
	}
	stop = 1;
	for (int i = 0; i < 500 && !finished; i++)   /* up to 5 s */
		usleep(10000);
	printf("children that allocated: %d of %d\n", children_ok, FORKS);
	printf("allocating thread finished: %s\n", finished ? "yes" : "no (asleep on the lock)");
	fflush(stdout);
	if (!finished)
		_exit(1);
	pthread_join(t, NULL);
	return 0;
}
