/* argv[1] "threads" or "forks", argv[2] how many: starts up to that many threads (or
 * child processes) that wait until the first lets them go, and prints how many started
 * ("threads N" or "forks N", then "errno E" of the first that did not). Each thread or
 * child is an instance of the program in the host: with the globals a test adds to
 * this binary, each held megabytes of host memory outside the cage's budget. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int gate[2];

static void *wait_at_gate(void *unused)
{
	char byte;
	(void)unused;
	return read(gate[0], &byte, 1) == 1 ? NULL : (void *)1;
}

static int start_one(int forks, pthread_t *thread)
{
	if (!forks)
		return pthread_create(thread, NULL, wait_at_gate, NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(wait_at_gate(NULL) ? 1 : 0);
	return pid < 0 ? errno : 0;
}

int main(int argc, char **argv)
{
	int forks = argc > 1 && strcmp(argv[1], "forks") == 0;
	int wanted = argc > 2 ? atoi(argv[2]) : 32;
	pthread_t threads[1024];
	int started = 0, failure = 0;
	if (pipe(gate) != 0 || wanted > 1024)
		return 1;
	while (started < wanted && !(failure = start_one(forks, &threads[started])))
		started++;
	printf("%s %d\n", forks ? "forks" : "threads", started);
	if (failure)
		printf("errno %d\n", failure);
	fflush(stdout);
	for (int i = 0; i < started; i++)
		if (write(gate[1], "x", 1) != 1)
			return 1;
	for (int i = 0; i < started; i++) {
		if (forks)
			wait(NULL);
		else
			pthread_join(threads[i], NULL);
	}
	return 0;
}
