/* Priority-inheritance mutexes (PTHREAD_PRIO_INHERIT): libc keeps the owner's thread
 * id in the word and calls FUTEX_LOCK_PI/UNLOCK_PI/TRYLOCK_PI when it is contended.
 * Lind answered them ENOSYS, so pthread_mutexattr_setprotocol failed. Errors by
 * number. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t counted, held, robust;
static long counter;
static int ready;

static void *count(void *arg)
{
	for (int i = 0; i < 20000; i++) {
		if (pthread_mutex_lock(&counted))
			return arg;
		counter++;
		pthread_mutex_unlock(&counted);
	}
	return NULL;
}

static void *hold(void *arg)
{
	pthread_mutex_lock(&held);
	__atomic_store_n(&ready, 1, __ATOMIC_SEQ_CST);
	usleep(300000);
	pthread_mutex_unlock(&held);
	return arg;
}

static void *try_other(void *arg)
{
	printf("trylock held by another thread: %d\n", pthread_mutex_trylock(&held));
	printf("unlock by a non-owner: %d\n", pthread_mutex_unlock(&held));
	struct timespec at;
	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_nsec += 50 * 1000 * 1000;
	if (at.tv_nsec >= 1000000000) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000;
	}
	printf("timedlock while held: %d\n", pthread_mutex_timedlock(&held, &at));
	printf("lock, waits for the owner: %d\n", pthread_mutex_lock(&held));
	printf("unlock: %d\n", pthread_mutex_unlock(&held));
	return arg;
}

static void *die_holding(void *arg)
{
	pthread_mutex_lock(&robust);
	return arg;
}

static void init(pthread_mutex_t *m, int type, int robustness)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	printf("setprotocol: %d\n", pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT));
	pthread_mutexattr_settype(&a, type);
	pthread_mutexattr_setrobust(&a, robustness);
	printf("init: %d\n", pthread_mutex_init(m, &a));
	int protocol = -1;
	pthread_mutexattr_getprotocol(&a, &protocol);
	printf("protocol: %d\n", protocol == PTHREAD_PRIO_INHERIT);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	init(&counted, PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_STALLED);
	init(&held, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_STALLED);
	init(&robust, PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_ROBUST);

	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, count, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("counter: %ld\n", counter);

	printf("trylock free: %d\n", pthread_mutex_trylock(&held));
	printf("relock own errorcheck: %d\n", pthread_mutex_lock(&held));
	printf("unlock: %d\n", pthread_mutex_unlock(&held));
	printf("unlock again: %d\n", pthread_mutex_unlock(&held));

	pthread_t owner, other;
	pthread_create(&owner, NULL, hold, NULL);
	while (!__atomic_load_n(&ready, __ATOMIC_SEQ_CST))
		usleep(1000);
	pthread_create(&other, NULL, try_other, NULL);
	pthread_join(other, NULL);
	pthread_join(owner, NULL);

	pthread_t dead;
	pthread_create(&dead, NULL, die_holding, NULL);
	pthread_join(dead, NULL);
	printf("lock after the owner died: %d\n", pthread_mutex_lock(&robust) == EOWNERDEAD);
	printf("consistent: %d\n", pthread_mutex_consistent(&robust));
	printf("unlock: %d\n", pthread_mutex_unlock(&robust));
	printf("lock again: %d\n", pthread_mutex_lock(&robust));
	printf("unlock: %d\n", pthread_mutex_unlock(&robust));
	return 0;
}
