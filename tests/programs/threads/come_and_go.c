/* Starts and joins 200 threads, one after another: each thread's host resources (its
 * wake eventfd) must go with it. */
#include <pthread.h>
#include <stdio.h>

static void *nothing(void *arg)
{
	return arg;
}

int main(void)
{
	int joined = 0;
	for (int i = 0; i < 200; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, nothing, NULL) == 0 && pthread_join(t, NULL) == 0)
			joined++;
	}
	printf("joined %d\n", joined);
	return 0;
}
