/* pthread_cancel, compared with Linux: deferred cancellation acts at
 * cancellation points (a blocked read, pthread_cond_wait, sleep, an explicit
 * pthread_testcancel), runs the cleanup handlers and key destructors, and the
 * joiner sees PTHREAD_CANCELED; a thread that disabled cancellation finishes
 * its work and acts on the request once it enables it again; a thread that is
 * computing is cancelled at its next cancellation point only; asynchronous
 * cancellation ends a thread in a loop without calls; cancelling an ended
 * thread that was not joined yet succeeds. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int cleaned, destroyed;
static pthread_key_t key;
static void cleanup(void *arg) { cleaned += (int)(long)arg; }
static void destroy(void *value) { destroyed += (int)(long)value; }

static int pipe_fds[2];
static void *blocked_reader(void *arg)
{
	(void)arg;
	char c;
	pthread_setspecific(key, (void *)1L);
	pthread_cleanup_push(cleanup, (void *)10L);
	read(pipe_fds[0], &c, 1);
	pthread_cleanup_pop(0);
	return (void *)1L;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static void unlock(void *m) { pthread_mutex_unlock(m); cleaned += 100; }
static void *cond_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	pthread_cleanup_push(unlock, &lock);
	for (;;)
		pthread_cond_wait(&never, &lock);
	pthread_cleanup_pop(1);
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		sleep(10);
	return NULL;
}

static volatile int disabled_work_done;
static pthread_barrier_t started;
static void *disabled(void *arg)
{
	(void)arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_barrier_wait(&started);
	usleep(50000);           /* a cancellation point, but cancellation is off */
	disabled_work_done = 1;
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_testcancel();
	return (void *)2L;
}

static volatile unsigned long spins;
static volatile int stop;
static void *computing(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&started);
	while (!stop)
		spins++;
	pthread_testcancel();
	return (void *)3L;
}

static void *async_spinner(void *arg)
{
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	pthread_barrier_wait(&started);
	for (;;)
		spins++;
	return NULL;
}

static void *quick(void *arg) { return arg; }

static const char *how(void *r)
{
	return r == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "returned";
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	pthread_key_create(&key, destroy);
	pthread_barrier_init(&started, NULL, 2);
	pthread_t t;
	void *r;

	pipe(pipe_fds);
	pthread_create(&t, NULL, blocked_reader, NULL);
	usleep(50000);
	pthread_cancel(t);
	pthread_join(t, &r);
	printf("blocked read: %s, cleanup %d, destructor %d\n", how(r), cleaned, destroyed);

	cleaned = 0;
	pthread_create(&t, NULL, cond_waiter, NULL);
	usleep(50000);
	pthread_cancel(t);
	pthread_join(t, &r);
	int relocked = pthread_mutex_trylock(&lock);
	printf("pthread_cond_wait: %s, cleanup %d, mutex free again: %d\n", how(r), cleaned,
	       relocked == 0);
	pthread_mutex_unlock(&lock);

	pthread_create(&t, NULL, sleeper, NULL);
	usleep(20000);
	pthread_cancel(t);
	pthread_join(t, &r);
	printf("sleep: %s\n", how(r));

	pthread_create(&t, NULL, disabled, NULL);
	pthread_barrier_wait(&started);
	pthread_cancel(t);
	pthread_join(t, &r);
	printf("cancellation disabled: work done %d, then %s\n", disabled_work_done, how(r));

	pthread_create(&t, NULL, computing, NULL);
	pthread_barrier_wait(&started);
	pthread_cancel(t);
	usleep(20000);
	stop = 1;
	pthread_join(t, &r);
	printf("computing: ran on until its cancellation point, then %s\n", how(r));

	pthread_create(&t, NULL, async_spinner, NULL);
	pthread_barrier_wait(&started);
	pthread_cancel(t);
	pthread_join(t, &r);
	printf("asynchronous, in a loop without calls: %s\n", how(r));

	pthread_create(&t, NULL, quick, (void *)5L);
	usleep(20000);
	int e = pthread_cancel(t);
	pthread_join(t, &r);
	printf("an ended thread: pthread_cancel says %s, it %s %ld\n", e ? strerror(e) : "0",
	       how(r), (long)r);
	return 0;
}
