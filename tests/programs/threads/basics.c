/* pthreads as a program uses them: create/join in waves, return values, TLS and key
 * destructors, mutex kinds, condition variables, barriers, rwlocks, spinlocks, once,
 * detached threads, thread ids; printed in an order that does not depend on timing. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Thread_local int tls_counter = 100;
static _Thread_local char tls_name[16] = "main";

static void *wave_worker(void *arg)
{
	long i = (long)arg;
	tls_counter += (int)i;               /* each thread starts from the initial 100 */
	return (void *)(long)(tls_counter * 2);
}

static void waves(void)
{
	long sum = 0;
	for (int wave = 0; wave < 20; wave++) {
		pthread_t t[50];
		for (long i = 0; i < 50; i++)
			if (pthread_create(&t[i], NULL, wave_worker, (void *)i) != 0) {
				printf("create failed\n");
				exit(1);
			}
		for (int i = 0; i < 50; i++) {
			void *r;
			pthread_join(t[i], &r);
			sum += (long)r;
		}
	}
	printf("1000 threads in waves: sum %ld, main's TLS still %d\n", sum, tls_counter);
}

static pthread_key_t key;
static atomic_int destructed;
static void destructor(void *value)
{
	atomic_fetch_add(&destructed, (int)(long)value);
}
static void *key_worker(void *arg)
{
	pthread_setspecific(key, arg);
	snprintf(tls_name, sizeof tls_name, "t%ld", (long)arg);
	return strcmp(tls_name, "main") ? (void *)1 : NULL;
}

static void keys(void)
{
	pthread_key_create(&key, destructor);
	pthread_t t[4];
	long ok = 0;
	for (long i = 1; i <= 4; i++)
		pthread_create(&t[i - 1], NULL, key_worker, (void *)i);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		ok += (long)r;
	}
	printf("key destructors ran with values summing to %d; TLS names %ld/4 own, main's %s\n",
	       atomic_load(&destructed), ok, tls_name);
}

static pthread_mutex_t counted = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static void *count_worker(void *arg)
{
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&counted);
		counter++;
		pthread_mutex_unlock(&counted);
	}
	return arg;
}

static void mutexes(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, count_worker, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("4 threads x 20000 locked increments: %ld\n", counter);

	pthread_mutexattr_t attr;
	pthread_mutex_t m;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&m, &attr);
	int a = pthread_mutex_lock(&m), b = pthread_mutex_lock(&m), c = pthread_mutex_trylock(&m);
	int d = pthread_mutex_unlock(&m), e = pthread_mutex_unlock(&m), f = pthread_mutex_unlock(&m);
	int g = pthread_mutex_unlock(&m);
	printf("recursive: lock %d lock %d trylock %d unlock %d %d %d, one too many %d\n",
	       a, b, c, d, e, f, g);
	pthread_mutex_destroy(&m);

	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m, &attr);
	a = pthread_mutex_lock(&m);
	b = pthread_mutex_lock(&m);
	c = pthread_mutex_unlock(&m);
	d = pthread_mutex_unlock(&m);
	printf("errorcheck: lock %d relock %d unlock %d unlock again %d\n", a, b, c, d);
	pthread_mutex_destroy(&m);
	pthread_mutexattr_destroy(&attr);
}

/* Producer/consumer over a ring of 8 slots with two condition variables. */
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int ring[8], head, tail, used;
enum { ITEMS = 20000 };

static void *producer(void *arg)
{
	for (int i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&ring_lock);
		while (used == 8)
			pthread_cond_wait(&not_full, &ring_lock);
		ring[head] = i;
		head = (head + 1) % 8;
		used++;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&ring_lock);
	}
	return arg;
}

static void *consumer(void *arg)
{
	long sum = 0;
	for (int i = 0; i < ITEMS; i++) {
		pthread_mutex_lock(&ring_lock);
		while (used == 0)
			pthread_cond_wait(&not_empty, &ring_lock);
		sum += ring[tail];
		tail = (tail + 1) % 8;
		used--;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&ring_lock);
	}
	return (void *)sum;
}

static void producer_consumer(void)
{
	pthread_t p, c;
	void *sum;
	pthread_create(&c, NULL, consumer, NULL);
	pthread_create(&p, NULL, producer, NULL);
	pthread_join(p, NULL);
	pthread_join(c, &sum);
	printf("producer/consumer through 8 slots: sum %ld\n", (long)sum);

	struct timespec deadline;
	pthread_condattr_t cattr;
	pthread_cond_t cond;
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&cond, &cattr);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += 20 * 1000 * 1000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&ring_lock);
	int r = pthread_cond_timedwait(&cond, &ring_lock, &deadline);
	pthread_mutex_unlock(&ring_lock);
	printf("timed wait on CLOCK_MONOTONIC nobody signals: %s\n",
	       r == ETIMEDOUT ? "ETIMEDOUT" : "other");
}

static pthread_barrier_t barrier;
static atomic_int arrived[5];
static void *barrier_worker(void *arg)
{
	int serial = 0;
	for (int round = 0; round < 5; round++) {
		atomic_fetch_add(&arrived[round], 1);
		if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD)
			serial++;
		if (atomic_load(&arrived[round]) != 4)
			return (void *)-100L;     /* someone passed before all arrived */
	}
	return (void *)(long)serial;
}

static void barriers(void)
{
	pthread_t t[4];
	long serials = 0;
	pthread_barrier_init(&barrier, NULL, 4);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, barrier_worker, NULL);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		serials += (long)r;
	}
	printf("barrier: 5 rounds of 4, serial threads %ld\n", serials);
	pthread_barrier_destroy(&barrier);
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static long shared_value, spun;
static void *rw_worker(void *arg)
{
	long reads = 0;
	for (int i = 0; i < 2000; i++) {
		if (i % 10 == 0) {
			pthread_rwlock_wrlock(&rw);
			shared_value++;
			pthread_rwlock_unlock(&rw);
		} else {
			pthread_rwlock_rdlock(&rw);
			reads += shared_value >= 0;
			pthread_rwlock_unlock(&rw);
		}
		pthread_spin_lock(&spin);
		spun++;
		pthread_spin_unlock(&spin);
	}
	return (void *)reads;
}

static void rwlocks_and_spinlocks(void)
{
	pthread_t t[3];
	long reads = 0;
	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, rw_worker, NULL);
	for (int i = 0; i < 3; i++) {
		void *r;
		pthread_join(t[i], &r);
		reads += (long)r;
	}
	int held = pthread_rwlock_rdlock(&rw);
	int try_write = pthread_rwlock_trywrlock(&rw);
	pthread_rwlock_unlock(&rw);
	printf("rwlock: %ld writes, %ld reads; trywrlock under a reader %s; spinlock %ld\n",
	       shared_value, reads, held == 0 && try_write == EBUSY ? "EBUSY" : "other", spun);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int once_runs;
static void once_body(void)
{
	atomic_fetch_add(&once_runs, 1);
}
static atomic_int detached_done;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static void *detached_worker(void *arg)
{
	pthread_once(&once, once_body);
	pthread_mutex_lock(&done_lock);
	atomic_fetch_add(&detached_done, 1);
	pthread_cond_signal(&done_cond);
	pthread_mutex_unlock(&done_lock);
	return arg;
}

static void detached_and_once(void)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 0; i < 16; i++) {
		pthread_t t;
		if (pthread_create(&t, &attr, detached_worker, NULL) != 0)
			printf("detached create failed\n");
	}
	pthread_mutex_lock(&done_lock);
	while (atomic_load(&detached_done) < 16)
		pthread_cond_wait(&done_cond, &done_lock);
	pthread_mutex_unlock(&done_lock);
	printf("16 detached threads done; once ran %d time(s)\n", atomic_load(&once_runs));
	pthread_attr_destroy(&attr);
}

/* A robust mutex whose owner ends without unlocking it: the next locker is told. */
static pthread_mutex_t robust;
static void *dies_holding(void *arg)
{
	pthread_mutex_lock(&robust);
	pthread_exit(arg);
}

static void robust_mutexes(void)
{
	pthread_mutexattr_t attr;
	pthread_t t;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &attr);
	pthread_create(&t, NULL, dies_holding, NULL);
	pthread_join(t, NULL);
	int owner_died = pthread_mutex_lock(&robust);
	int consistent = pthread_mutex_consistent(&robust);
	int unlocked = pthread_mutex_unlock(&robust);
	int again = pthread_mutex_lock(&robust);
	pthread_mutex_unlock(&robust);
	printf("robust: lock after the owner died %s, consistent %d, unlock %d, lock again %d\n",
	       owner_died == EOWNERDEAD ? "EOWNERDEAD" : "other", consistent, unlocked, again);
	pthread_mutexattr_destroy(&attr);
}

static pid_t main_pid, main_tid;
static pthread_t seen_self;
static void *ids_worker(void *arg)
{
	pid_t tid = syscall(SYS_gettid);
	int same_pid = getpid() == main_pid, own_tid = tid != main_tid && tid > 0;
	seen_self = pthread_self();
	char name[16] = "";
	pthread_setname_np(pthread_self(), "worker-1");
	pthread_getname_np(pthread_self(), name, sizeof name);
	sched_yield();
	return (void *)(long)(same_pid + 2 * own_tid + 8 * !strcmp(name, "worker-1"));
}

static void ids(void)
{
	main_pid = getpid();
	main_tid = syscall(SYS_gettid);
	pthread_t t;
	void *r;
	pthread_create(&t, NULL, ids_worker, NULL);
	pthread_join(t, &r);
	r = (void *)((long)r | 4 * pthread_equal(seen_self, t));
	printf("main tid is its pid: %d; in a thread: same pid %ld, own tid %ld, pthread_self "
	       "%ld, name %ld\n", main_tid == main_pid, (long)r & 1, (long)r >> 1 & 1,
	       (long)r >> 2 & 1, (long)r >> 3 & 1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	waves();
	keys();
	mutexes();
	producer_consumer();
	barriers();
	rwlocks_and_spinlocks();
	robust_mutexes();
	detached_and_once();
	ids();
	return 0;
}
