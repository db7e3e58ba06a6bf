/* futex(2) at its edges, by raw calls: the priority-inheritance commands (the owner
 * word, the waiters and owner-died bits, EDEADLK, EPERM, ESRCH, EAGAIN, the timeout's
 * clock), the argument errors, the wait's timeout forms (relative, absolute on either
 * clock), the wake and requeue counts. Errors by number, thread ids as "mine" or
 * "other's", times as "at least" a bound, so the native build prints the same.
 * Written for the mutants of microvisor/sys_futex.py (tests/mutation/SUMMARY.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif
#define WAITERS 0x80000000u
#define DIED 0x40000000u
#define TID 0x3fffffffu

static long fx(uint32_t *w, int op, uint32_t val, const struct timespec *t, uint32_t *w2,
	       uint32_t val3)
{
	long r = syscall(SYS_futex, w, op, val, t, w2, val3);
	return r < 0 ? -errno : r;
}

static int tid(void)
{
	return (int)syscall(SYS_gettid);
}

static long long now_ns(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static struct timespec at(clockid_t clock, long ms)
{
	long long ns = now_ns(clock) + ms * 1000000LL;
	struct timespec t = {ns / 1000000000LL, ns % 1000000000LL};
	return t;
}

/* The word as "owner" (mine, other's, none, or a number) and its two flag bits. */
static void word(const char *what, uint32_t w, int other)
{
	uint32_t owner = w & TID;
	const char *who = owner == 0 ? "none" : owner == (uint32_t)tid() ? "mine"
		: (int)owner == other ? "other's" : "stranger";
	printf("%s: owner %s waiters %d died %d\n", what, who, !!(w & WAITERS), !!(w & DIED));
}

/* Linux sets the waiters bit before it finds a trylock must fail or the owner is no
 * thread; Lind leaves the word as it was (an unlock then needs no kernel call). */
static void owner_only(const char *what, uint32_t w, int other)
{
	word(what, w & ~WAITERS, other);
}

static uint32_t pi, plain, target;
static int holder_tid, waiter_tid;
static long holder_unlock;
static volatile int stage;

static void wait_stage(int s)
{
	while (stage < s)
		usleep(1000);
}

/* Holds `pi` while the main thread tries it, then lets a waiter have it. */
static void *holder(void *arg)
{
	(void)arg;
	holder_tid = tid();
	printf("holder lock: %ld\n", fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	stage = 1;
	wait_stage(2);
	usleep(300000);                 /* the waiter sleeps in LOCK_PI by now */
	word("held, a waiter asleep", pi, waiter_tid);
	holder_unlock = fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);   /* (printed after) */
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	waiter_tid = tid();
	stage = 2;
	printf("waiter lock: %ld\n", fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	word("the waiter's after the hand-over", pi, holder_tid);
	printf("waiter unlock: %ld\n", fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	word("after the waiter's unlock", pi, holder_tid);
	return NULL;
}

static void pi_calls(void)
{
	long r;
	pi = 0;
	printf("lock free: %ld\n", fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	word("locked", pi, 0);
	printf("lock own: %ld\n", fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	printf("trylock own: %ld\n", fx(&pi, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0));
	printf("lock2 own: %ld\n", fx(&pi, FUTEX_LOCK_PI2, 0, NULL, NULL, 0));
	printf("unlock: %ld\n", fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	word("unlocked", pi, 0);
	printf("unlock free: %ld\n", fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	printf("trylock free: %ld\n", fx(&pi, FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0));
	word("trylocked", pi, 0);
	printf("unlock private: %ld\n", fx(&pi, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0));
	printf("lock2 free: %ld\n", fx(&pi, FUTEX_LOCK_PI2, 0, NULL, NULL, 0));
	word("lock2ed", pi, 0);
	printf("unlock: %ld\n", fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));

	/* A free word whose last owner died (robust): taken, the bit kept. */
	pi = DIED;
	printf("lock died-free: %ld\n", fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	word("taken over", pi, 0);
	printf("unlock: %ld\n", fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	word("unlocked", pi, 0);
	pi = DIED;
	printf("trylock died-free: %ld\n", fx(&pi, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0));
	word("taken over", pi, 0);
	pi = (uint32_t)tid() | DIED;
	printf("unlock own died: %ld\n", fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	word("unlocked", pi, 0);

	/* An owner that is no thread at all. */
	pi = 0x3ffffff1u;               /* (odd: no owner-died bit however it is masked) */
	printf("lock stranger's: %ld\n", fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	printf("trylock stranger's: %ld\n", fx(&pi, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0));
	printf("unlock stranger's: %ld\n", fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	owner_only("left", pi, 0);

	/* Another thread's: EAGAIN to trylock, EPERM to unlock, a timeout on each clock. */
	pi = 0;
	stage = 0;
	pthread_t h, w;
	pthread_create(&h, NULL, holder, NULL);
	wait_stage(1);
	word("the holder's", pi, holder_tid);
	printf("trylock other's: %ld\n", fx(&pi, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0));
	printf("unlock other's: %ld\n", fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	owner_only("the holder's after trylock and unlock", pi, holder_tid);
	struct timespec t = at(CLOCK_REALTIME, 60);
	long long start = now_ns(CLOCK_MONOTONIC);
	r = fx(&pi, FUTEX_LOCK_PI, 0, &t, NULL, 0);
	printf("lock other's until realtime +60 ms: %ld, waited 50 ms: %d\n", r,
	       now_ns(CLOCK_MONOTONIC) - start >= 50000000LL);
	t = at(CLOCK_MONOTONIC, 60);
	start = now_ns(CLOCK_MONOTONIC);
	r = fx(&pi, FUTEX_LOCK_PI2, 0, &t, NULL, 0);
	printf("lock2 other's until monotonic +60 ms: %ld, waited 50 ms: %d\n", r,
	       now_ns(CLOCK_MONOTONIC) - start >= 50000000LL);
	t = at(CLOCK_REALTIME, 60);
	start = now_ns(CLOCK_MONOTONIC);
	r = fx(&pi, FUTEX_LOCK_PI2 | FUTEX_CLOCK_REALTIME, 0, &t, NULL, 0);
	printf("lock2 other's until realtime +60 ms: %ld, waited 50 ms: %d\n", r,
	       now_ns(CLOCK_MONOTONIC) - start >= 50000000LL);
	t.tv_nsec = 1000000000;
	printf("lock other's, bad timeout: %ld\n", fx(&pi, FUTEX_LOCK_PI, 0, &t, NULL, 0));
	word("the holder's still", pi, holder_tid);
	pthread_create(&w, NULL, waiter, NULL);
	pthread_join(h, NULL);
	pthread_join(w, NULL);
	printf("holder unlock: %ld\n", holder_unlock);
	word("at the end", pi, 0);
}

static volatile int handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void *pi_interrupted(void *arg)
{
	(void)arg;
	stage = 1;
	long r = fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
	printf("lock_pi a handler interrupted: %ld, handled %d\n", r, handled);
	word("then", pi, holder_tid);
	printf("unlock: %ld\n", fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	return NULL;
}

/* A handler (without SA_RESTART) runs in a thread waiting in FUTEX_LOCK_PI: Linux makes
 * the call again after it (ERESTARTNOINTR), so it returns with the lock, not EINTR. */
static void pi_signal(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	pi = 0;
	stage = 0;
	holder_tid = tid();
	printf("lock: %ld\n", fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	pthread_t t;
	pthread_create(&t, NULL, pi_interrupted, NULL);
	wait_stage(1);
	usleep(300000);                 /* asleep in LOCK_PI by now */
	pthread_kill(t, SIGUSR1);
	usleep(200000);
	long r = fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
	pthread_join(t, NULL);
	printf("main's unlock: %ld\n", r);
	word("at the end", pi, 0);
}

static void *sleeper(void *arg)
{
	uint32_t *on = arg;
	long r = fx(on, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	__atomic_add_fetch(&stage, 1, __ATOMIC_SEQ_CST);
	return (void *)r;
}

static void *bit_sleeper(void *arg)
{
	long r = fx(&plain, FUTEX_WAIT_BITSET, 0, NULL, NULL, (uint32_t)(uintptr_t)arg);
	__atomic_add_fetch(&stage, 1, __ATOMIC_SEQ_CST);
	return (void *)r;
}

/* Waits on the (private) word `plain` with a timeout of two centuries (forever). */
static void *long_sleeper(void *arg)
{
	(void)arg;
	struct timespec t = {200LL * 365 * 24 * 3600, 0};
	long r = fx(&plain, FUTEX_WAIT, 0, &t, NULL, 0);
	__atomic_add_fetch(&stage, 1, __ATOMIC_SEQ_CST);
	return (void *)r;
}

static void *interrupted_sleeper(void *arg)
{
	struct timespec t = {5, 0};
	stage = 1;
	long r = fx(&plain, FUTEX_WAIT, 0, arg ? &t : NULL, NULL, 0);
	printf("  its wait: %ld, handled %d\n", r, handled);
	return NULL;
}

/* A handler runs in a thread waiting in FUTEX_WAIT: with SA_RESTART and no timeout the
 * wait is made again (a later wake ends it); with a timeout, or without SA_RESTART,
 * EINTR. */
static void wait_signal(int flags, int timed)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = flags;
	sigaction(SIGUSR1, &sa, NULL);
	plain = 0;
	stage = 0;
	handled = 0;
	pthread_t t;
	pthread_create(&t, NULL, interrupted_sleeper, timed ? &t : NULL);
	wait_stage(1);
	usleep(300000);
	pthread_kill(t, SIGUSR1);
	usleep(200000);
	long woken = fx(&plain, FUTEX_WAKE, 1, NULL, NULL, 0);
	pthread_join(t, NULL);
	printf("wait %s, a handler %s SA_RESTART: then woken %ld\n", timed ? "timed" : "untimed",
	       flags ? "with" : "without", woken);
}

/* A timeout centuries away is no timeout. */
static void far_timeout(void)
{
	pthread_t t;
	void *r;
	plain = 0;
	stage = 0;
	pthread_create(&t, NULL, long_sleeper, NULL);
	usleep(300000);
	printf("woken before a wake: %d\n", stage);
	printf("wake the two-century sleeper: %ld\n", fx(&plain, FUTEX_WAKE, 1, NULL, NULL, 0));
	pthread_join(t, &r);
	printf("its wait: %ld\n", (long)r);

}

static void plain_calls(void)
{
	struct timespec t;
	long long start;
	long r;
	plain = 0;
	printf("wait misaligned: %ld\n", fx((uint32_t *)((char *)&plain + 2), FUTEX_WAIT, 0, NULL, NULL, 0));
	printf("lock_pi misaligned: %ld\n", fx((uint32_t *)((char *)&plain + 1), FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	printf("wake misaligned: %ld\n", fx((uint32_t *)((char *)&plain + 3), FUTEX_WAKE, 1, NULL, NULL, 0));
	printf("command 14: %ld\n", fx(&plain, 14, 0, NULL, NULL, 0));
	printf("command 99: %ld\n", fx(&plain, 99, 0, NULL, NULL, 0));
	printf("wake realtime: %ld\n", fx(&plain, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0));
	printf("lock_pi realtime: %ld\n", fx(&pi, FUTEX_LOCK_PI | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0));
	printf("requeue realtime: %ld\n", fx(&plain, FUTEX_REQUEUE | FUTEX_CLOCK_REALTIME, 0, NULL, &target, 0));
	printf("wait_bitset 0: %ld\n", fx(&plain, FUTEX_WAIT_BITSET, 0, NULL, NULL, 0));
	printf("wake_bitset 0: %ld\n", fx(&plain, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0));
	printf("wait changed: %ld\n", fx(&plain, FUTEX_WAIT, 1, NULL, NULL, 0));
	printf("wake nobody: %ld\n", fx(&plain, FUTEX_WAKE, 5, NULL, NULL, 0));
	printf("requeue to misaligned: %ld\n",
	       fx(&plain, FUTEX_REQUEUE, 1, (struct timespec *)1, (uint32_t *)((char *)&target + 2), 0));
	printf("cmp_requeue changed: %ld\n",
	       fx(&plain, FUTEX_CMP_REQUEUE, 1, (struct timespec *)1, &target, 7));

	t.tv_sec = 0;
	t.tv_nsec = 60000000;
	start = now_ns(CLOCK_MONOTONIC);
	r = fx(&plain, FUTEX_WAIT, 0, &t, NULL, 0);
	printf("wait 60 ms relative: %ld, waited 50 ms: %d\n", r,
	       now_ns(CLOCK_MONOTONIC) - start >= 50000000LL);
	t = at(CLOCK_MONOTONIC, 60);
	start = now_ns(CLOCK_MONOTONIC);
	r = fx(&plain, FUTEX_WAIT_BITSET, 0, &t, NULL, 0xffffffffu);
	printf("wait_bitset until monotonic +60 ms: %ld, waited 50 ms: %d\n", r,
	       now_ns(CLOCK_MONOTONIC) - start >= 50000000LL);
	t = at(CLOCK_REALTIME, 60);
	start = now_ns(CLOCK_MONOTONIC);
	r = fx(&plain, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 0, &t, NULL, 0xffffffffu);
	printf("wait_bitset until realtime +60 ms: %ld, waited 50 ms: %d\n", r,
	       now_ns(CLOCK_MONOTONIC) - start >= 50000000LL);
	t.tv_sec = -1;
	t.tv_nsec = 0;
	printf("wait negative timeout: %ld\n", fx(&plain, FUTEX_WAIT, 0, &t, NULL, 0));

	/* Counts: three sleepers, woken one then the rest; two requeued of three. */
	pthread_t s[3];
	stage = 0;
	for (int i = 0; i < 3; i++)
		pthread_create(&s[i], NULL, sleeper, &plain);
	usleep(300000);
	printf("wake 1 of 3: %ld\n", fx(&plain, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
	usleep(50000);
	printf("woken so far: %d\n", stage);
	long rest = 0;                  /* (a sleeper late to its wait is woken later) */
	for (int i = 0; i < 400 && rest < 2; i++) {
		rest += fx(&plain, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0);
		if (rest < 2)
			usleep(5000);
	}
	printf("wake the rest: %ld\n", rest);
	for (int i = 0; i < 3; i++)
		pthread_join(s[i], NULL);
	stage = 0;
	for (int i = 0; i < 3; i++)
		pthread_create(&s[i], NULL, sleeper, &plain);
	usleep(300000);
	printf("cmp_requeue 1 wake 1 move: %ld\n",
	       fx(&plain, FUTEX_CMP_REQUEUE_PRIVATE, 1, (struct timespec *)1, &target, 0));
	usleep(50000);
	printf("woken so far: %d\n", stage);
	printf("wake on the first word: %ld\n", fx(&plain, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0));
	printf("wake on the target: %ld\n", fx(&target, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0));
	usleep(50000);
	printf("requeue the last: %ld\n", fx(&plain, FUTEX_REQUEUE_PRIVATE, 0, (struct timespec *)5, &target, 0));
	printf("wake on the target: %ld\n", fx(&target, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0));
	for (int i = 0; i < 3; i++)
		pthread_join(s[i], NULL);
	printf("woken: %d\n", stage);

	/* Bitsets: a wake reaches only the waiters whose bits it shares. */
	stage = 0;
	pthread_t b[2];
	pthread_create(&b[0], NULL, bit_sleeper, (void *)(uintptr_t)1);
	pthread_create(&b[1], NULL, bit_sleeper, (void *)(uintptr_t)6);
	usleep(300000);
	printf("wake_bitset 8: %ld\n", fx(&plain, FUTEX_WAKE_BITSET, 10, NULL, NULL, 8));
	printf("wake_bitset 4: %ld\n", fx(&plain, FUTEX_WAKE_BITSET, 10, NULL, NULL, 4));
	usleep(50000);
	printf("woken so far: %d\n", stage);
	printf("wake: %ld\n", fx(&plain, FUTEX_WAKE, 10, NULL, NULL, 0));
	for (int i = 0; i < 2; i++)
		pthread_join(b[i], NULL);
	printf("woken: %d\n", stage);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	alarm(20);                      /* a wait that never ends fails the run, not the suite */
	pi_calls();
	pi_signal();
	plain_calls();
	far_timeout();
	wait_signal(SA_RESTART, 0);
	wait_signal(SA_RESTART, 1);
	wait_signal(0, 0);
	return 0;
}
