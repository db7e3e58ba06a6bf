/* Starts threads (16 KiB stacks, so its memory budget hardly bounds them) until
 * pthread_create fails, prints "threads N error E", and holds them for argv[1] seconds
 * (default 5). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int hold = argc > 1 ? atoi(argv[1]) : 5, n = 0, error;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 16384);
	for (;;) {
		pthread_t t;
		error = pthread_create(&t, &attr, sleeper, NULL);
		if (error)
			break;
		n++;
	}
	printf("threads %d error %d\n", n, error);
	fflush(stdout);
	sleep(hold);
	return 0;
}
