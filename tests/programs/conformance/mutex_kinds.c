/* Mutexes of every kind, first in a program with one thread (where a private normal
 * mutex is a plain load and store in Lind's libc, as in glibc), then held across the
 * program's first pthread_create and contended by threads, with condition variables
 * and C11 mtx_* on the same mutexes. The output must match Linux's. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

static pthread_mutex_t normal = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t shared_lock;
static pthread_cond_t turned = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;

static const char *name(int r)
{
	return r == 0 ? "0" : r == EBUSY ? "EBUSY" : r == EDEADLK ? "EDEADLK"
		: r == EPERM ? "EPERM" : strerror(r);
}

static void kind(const char *label, int type, int pshared)
{
	pthread_mutexattr_t attr;
	pthread_mutex_t m;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, type);
	pthread_mutexattr_setpshared(&attr, pshared);
	pthread_mutex_init(&m, &attr);
	int a = pthread_mutex_lock(&m);
	int b = pthread_mutex_trylock(&m);
	int c = type == PTHREAD_MUTEX_NORMAL ? -1 : pthread_mutex_lock(&m);
	int d = pthread_mutex_unlock(&m);
	int e = type == PTHREAD_MUTEX_RECURSIVE ? pthread_mutex_unlock(&m) : 0;
	int f = type == PTHREAD_MUTEX_ERRORCHECK ? pthread_mutex_unlock(&m) : 0;
	int g = pthread_mutex_trylock(&m);
	int h = pthread_mutex_unlock(&m);
	printf("%s: lock %s trylock %s relock %s unlock %s %s %s trylock %s unlock %s\n", label,
	       name(a), name(b), c < 0 ? "-" : name(c), name(d), name(e), name(f), name(g),
	       name(h));
	pthread_mutex_destroy(&m);
	pthread_mutexattr_destroy(&attr);
}

static void *add(void *arg)
{
	for (int i = 0; i < 200000; i++) {
		pthread_mutex_lock(arg);
		counter++;
		pthread_mutex_unlock(arg);
	}
	return 0;
}

static void *take_turns(void *arg)
{
	int me = (int)(long)arg;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&normal);
		while (turn != me)
			pthread_cond_wait(&turned, &normal);
		turn = !me;
		counter++;
		pthread_cond_broadcast(&turned);
		pthread_mutex_unlock(&normal);
	}
	return 0;
}

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);
	kind("normal", PTHREAD_MUTEX_NORMAL, PTHREAD_PROCESS_PRIVATE);
	kind("normal shared", PTHREAD_MUTEX_NORMAL, PTHREAD_PROCESS_SHARED);
	kind("recursive", PTHREAD_MUTEX_RECURSIVE, PTHREAD_PROCESS_PRIVATE);
	kind("errorcheck", PTHREAD_MUTEX_ERRORCHECK, PTHREAD_PROCESS_PRIVATE);

	/* one thread: a million plain locks, and C11's on the same mutex */
	for (int i = 0; i < 1000000; i++) {
		pthread_mutex_lock(&normal);
		counter++;
		pthread_mutex_unlock(&normal);
	}
	mtx_t c11;
	mtx_init(&c11, mtx_plain);
	int locked = mtx_lock(&c11) == thrd_success;
	int busy = mtx_trylock(&c11) == thrd_busy;
	int unlocked = mtx_unlock(&c11) == thrd_success;
	printf("mtx: lock %d trylock %d unlock %d\n", locked, busy, unlocked);
	printf("one thread: %ld\n", counter);

	/* held across the first pthread_create: the new thread waits for it */
	pthread_mutex_lock(&normal);
	pthread_t t[2];
	counter = 0;
	pthread_create(&t[0], 0, add, &normal);
	usleep(20000);
	printf("held across create: %ld\n", counter);
	pthread_mutex_unlock(&normal);
	pthread_create(&t[1], 0, add, &normal);
	add(&normal);
	pthread_join(t[0], 0);
	pthread_join(t[1], 0);
	printf("three threads: %ld\n", counter);

	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&shared_lock, &attr);
	counter = 0;
	pthread_create(&t[0], 0, add, &shared_lock);
	add(&shared_lock);
	pthread_join(t[0], 0);
	printf("process-shared: %ld\n", counter);

	counter = 0;
	pthread_create(&t[0], 0, take_turns, (void *)0);
	pthread_create(&t[1], 0, take_turns, (void *)1);
	pthread_join(t[0], 0);
	pthread_join(t[1], 0);
	printf("turns: %ld\n", counter);
	kind("normal, threaded", PTHREAD_MUTEX_NORMAL, PTHREAD_PROCESS_PRIVATE);
	kind("errorcheck, threaded", PTHREAD_MUTEX_ERRORCHECK, PTHREAD_PROCESS_PRIVATE);
	return 0;
}
