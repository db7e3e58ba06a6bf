/* Piles up pins (pin_fds) in the host: THREADS threads each pin its own cage's fds and
 * each of KIDS children's, as deep as it is let, 3 new (closed) fds a pin, and hold
 * them SECONDS seconds. Prints "pins N" (thread 0's pins that succeeded), then
 * "holding". A pin is host memory no cage's budget counts. */
#include <lind_syscall.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int seconds, kids;
static pid_t kid[256];
static pthread_barrier_t pinned;

static int pin_deep(uint64_t cage, int base)
{
	int n = 0;
	for (int level = 0; level < 1000; level++) {
		int fd = base + level * 3;
		if (pin_fds(cage, 3, fd, fd + 1, fd + 2) != 0)
			break;
		n++;
	}
	return n;
}

static void *pinner(void *arg)
{
	long id = (long)arg;
	int base = 100000 + (int)id * 4000;
	int n = pin_deep((uint64_t)getpid(), base);
	for (int k = 0; k < kids; k++)
		n += pin_deep((uint64_t)kid[k], base);
	if (id == 0)
		printf("pins %d\n", n);
	pthread_barrier_wait(&pinned);
	sleep(seconds);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 100;
	int threads = atoi(argv[1]);
	kids = atoi(argv[2]);
	seconds = atoi(argv[3]);
	if (threads < 1 || threads > 256 || kids < 0 || kids > 256)
		return 101;
	for (int k = 0; k < kids; k++) {
		pid_t pid = fork();
		if (pid == 0) {
			sleep(seconds + 5);
			_exit(0);
		}
		if (pid < 0)
			return 102;
		kid[k] = pid;
	}
	pthread_barrier_init(&pinned, 0, (unsigned)threads + 1);
	pthread_t t[256];
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], 0, pinner, (void *)(long)i))
			return 103;
	pthread_barrier_wait(&pinned);
	printf("holding\n");
	fflush(stdout);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], 0);
	for (int k = 0; k < kids; k++)
		kill(kid[k], SIGKILL);
	while (wait(0) > 0)
		;
	return 0;
}
