/* Threads created and joined one after another, with stacks of several sizes, with and
 * without a guard, joinable and detached.  Each must start as a thread on a fresh
 * stack does -- its thread-locals (initialised and zeroed ones) at their initial values,
 * its thread-specific values NULL, cancellation enabled -- even when pthread_create
 * hands it the mapping (stack, TLS block, descriptor) of a thread joined before, which
 * glibc and Lind both do.  The stack itself is left dirty on purpose. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

static _Thread_local int counter = 42;
static _Thread_local long zeroed[32];
static pthread_key_t key;
static sem_t detached_done;
static int detached_fresh;

static int fresh_then_dirty(void)
{
	int fresh = counter == 42 && pthread_getspecific(key) == NULL;
	for (int i = 0; i < 32; i++)
		fresh &= zeroed[i] == 0;
	int old = -1;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	fresh &= old == PTHREAD_CANCEL_ENABLE;
	volatile char scribble[8192];
	memset((char *)scribble, 0x5a, sizeof scribble);
	counter = -1;
	for (int i = 0; i < 32; i++)
		zeroed[i] = -1;
	pthread_setspecific(key, &key);
	return fresh && scribble[100] == 0x5a;
}

static void *joinable(void *arg)
{
	return (void *)(long)fresh_then_dirty();
}

static void *detached(void *arg)
{
	__atomic_add_fetch(&detached_fresh, fresh_then_dirty(), __ATOMIC_SEQ_CST);
	sem_post(&detached_done);
	return NULL;
}

static int run_joinable(size_t stack, int guard0, int n)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	if (guard0)
		pthread_attr_setguardsize(&attr, 0);
	int fresh = 0;
	for (int i = 0; i < n; i++) {
		pthread_t t;
		void *r;
		if (pthread_create(&t, &attr, joinable, NULL) || pthread_join(t, &r))
			return -1;
		fresh += (int)(long)r;
	}
	pthread_attr_destroy(&attr);
	return fresh;
}

int main(void)
{
	pthread_key_create(&key, NULL);
	sem_init(&detached_done, 0, 0);
	static const size_t sizes[] = { 0, 64 << 10, 256 << 10, 1 << 20 };
	for (int round = 0; round < 2; round++) {
		for (int s = 0; s < 4; s++)
			printf("stack %zu: %d of 30 fresh\n", sizes[s], run_joinable(sizes[s], 0, 30));
		printf("no guard: %d of 30 fresh\n", run_joinable(0, 1, 30));
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		for (int i = 0; i < 30; i++) {
			pthread_t t;
			if (pthread_create(&t, &attr, detached, NULL))
				return 1;
			sem_wait(&detached_done);
		}
		printf("detached: %d of 30 fresh\n", detached_fresh);
		detached_fresh = 0;
	}
	/* many at once, then joined: more stacks than are kept */
	pthread_t many[20];
	void *r;
	int fresh = 0;
	for (int i = 0; i < 20; i++)
		if (pthread_create(&many[i], NULL, joinable, NULL))
			return 1;
	for (int i = 0; i < 20; i++) {
		pthread_join(many[i], &r);
		fresh += (int)(long)r;
	}
	printf("20 at once: %d fresh; again: %d of 30 fresh\n", fresh, run_joinable(0, 0, 30));
	return 0;
}
