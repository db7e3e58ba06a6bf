/* C11 <threads.h>: threads, mutexes, condition variables, thread-specific storage, once,
 * call_once, thrd_sleep, thrd_yield, _Thread_local. */
#include <stdio.h>
#include <threads.h>
#include <time.h>

static mtx_t lock;
static cnd_t ready;
static int stage;
static tss_t key;
static once_flag once = ONCE_FLAG_INIT;
static int once_runs;
static thread_local int local = 1;

static void count_once(void) { once_runs++; }

static void release(void *value) { (void)value; }

static int worker(void *arg)
{
	call_once(&once, count_once);
	tss_set(key, arg);
	local += (int)(long)arg;
	mtx_lock(&lock);
	stage++;
	cnd_broadcast(&ready);
	mtx_unlock(&lock);
	struct timespec nap = {0, 1000000};
	thrd_sleep(&nap, NULL);
	thrd_yield();
	return (int)(long)tss_get(key) * 10 + local;
}

int main(void)
{
	thrd_t t[3];
	mtx_init(&lock, mtx_plain);
	cnd_init(&ready);
	tss_create(&key, release);
	for (long i = 0; i < 3; i++)
		if (thrd_create(&t[i], worker, (void *)(i + 1)) != thrd_success)
			return 1;
	mtx_lock(&lock);
	while (stage < 3)
		cnd_wait(&ready, &lock);
	mtx_unlock(&lock);
	int sum = 0;
	for (int i = 0; i < 3; i++) {
		int r;
		thrd_join(t[i], &r);
		sum += r;
	}
	printf("C11 threads: results sum %d, once ran %d, main's thread_local %d\n", sum, once_runs,
	       local);
	mtx_destroy(&lock);
	cnd_destroy(&ready);
	tss_delete(key);
	return 0;
}
