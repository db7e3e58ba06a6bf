/* A PTHREAD_PRIO_INHERIT mutex two threads take and give back in turn, over and over:
 * every lock returns and the count is whole. (A waiter that found the word freed by an
 * owner's unlock in user space -- which wakes nobody -- set the waiters bit on the free
 * word and slept on it: with no owner left to unlock, nothing woke it, and the join
 * waited for ever.) */
#include <pthread.h>
#include <stdio.h>

#define ROUNDS 200
#define REPEATS 300

static pthread_mutex_t mutex;
static long counter;

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		if (pthread_mutex_lock(&mutex) != 0)
			return (void *)1;
		counter++;
		for (volatile int k = 0; k < 200; k++)
			;
		pthread_mutex_unlock(&mutex);
	}
	return 0;
}

int main(void)
{
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	printf("setprotocol %d\n", pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT));
	pthread_mutex_init(&mutex, &attr);
	int failed = 0;
	for (int r = 0; r < REPEATS; r++) {
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], 0, worker, 0);
		for (int i = 0; i < 2; i++) {
			void *res;
			pthread_join(t[i], &res);
			failed += res != 0;
		}
	}
	printf("counter %ld failed %d\n", counter, failed);
	return 0;
}
