/* Waking many threads: pthread_cond_broadcast and chains of pthread_cond_signal to
 * several waiters (musl moves them from the condition to the mutex with
 * FUTEX_REQUEUE), and the requeue calls themselves: counts, FUTEX_CMP_REQUEUE's
 * comparison, a waiter moved to another word and woken there; a signal for a thread
 * waiting on a futex ends that wait with EINTR. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WAITERS 6

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int go, woke, tickets;

static void *broadcast_waiter(void *unused)
{
	pthread_mutex_lock(&lock);
	while (!go)
		pthread_cond_wait(&cond, &lock);
	woke++;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *ticket_waiter(void *unused)
{
	pthread_mutex_lock(&lock);
	while (!tickets)
		pthread_cond_wait(&cond, &lock);
	tickets--;
	woke++;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void settle(void)
{
	struct timespec t = {0, 20 * 1000000L};
	nanosleep(&t, NULL);
}

static int rounds(void *(*waiter)(void *), int by_signal)
{
	for (int round = 0; round < 20; round++) {
		pthread_t t[WAITERS];
		go = woke = tickets = 0;
		for (int i = 0; i < WAITERS; i++)
			pthread_create(&t[i], NULL, waiter, NULL);
		settle();
		pthread_mutex_lock(&lock);
		if (by_signal) {
			tickets = WAITERS;
			for (int i = 0; i < WAITERS; i++)
				pthread_cond_signal(&cond);
		} else {
			go = 1;
			pthread_cond_broadcast(&cond);
		}
		pthread_mutex_unlock(&lock);
		for (int i = 0; i < WAITERS; i++)
			pthread_join(t[i], NULL);
		if (woke != WAITERS)
			return woke;
	}
	return WAITERS;
}

static uint32_t from_word, to_word;
static long moved_wait_result = -2;

static void *raw_waiter(void *unused)
{
	moved_wait_result = syscall(SYS_futex, &from_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

static uint32_t quiet_word;
static volatile int handled;

static void on_usr1(int sig)
{
	handled = sig;
}

static void *interrupted_waiter(void *unused)
{
	long r = syscall(SYS_futex, &quiet_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return (void *)(long)(r == 0 ? 0 : errno);
}

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1L : r, r < 0 ? errno : 0);
}

int main(void)
{
	printf("broadcast woke %d of %d, 20 rounds\n", rounds(broadcast_waiter, 0), WAITERS);
	printf("signal woke %d of %d, 20 rounds\n", rounds(ticket_waiter, 1), WAITERS);

	report("cmp-requeue-differs", syscall(SYS_futex, &from_word, FUTEX_CMP_REQUEUE_PRIVATE, 1,
	                                      (void *)1L, &to_word, 5));
	report("requeue-negative", syscall(SYS_futex, &from_word, FUTEX_REQUEUE_PRIVATE, -1,
	                                   (void *)1L, &to_word, 0));
	report("requeue-unaligned", syscall(SYS_futex, &from_word, FUTEX_REQUEUE_PRIVATE, 1,
	                                    (void *)1L, (char *)&to_word + 2, 0));
	report("requeue-nobody", syscall(SYS_futex, &from_word, FUTEX_REQUEUE_PRIVATE, 1,
	                                 (void *)1L, &to_word, 0));
	pthread_t t;
	pthread_create(&t, NULL, raw_waiter, NULL);
	long moved = 0;
	for (int i = 0; i < 500 && moved == 0; i++) {   /* once the waiter waits */
		moved = syscall(SYS_futex, &from_word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)1L,
		                &to_word, 0);
		if (moved == 0)
			settle();
	}
	report("cmp-requeue-moves", moved);
	report("wake-old-word", syscall(SYS_futex, &from_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
	report("wake-new-word", syscall(SYS_futex, &to_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
	pthread_join(t, NULL);
	report("moved-waiter-returned", moved_wait_result);

	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;           /* no SA_RESTART: a futex wait ends with EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&t, NULL, interrupted_waiter, NULL);
	settle();
	pthread_kill(t, SIGUSR1);
	void *err;
	pthread_join(t, &err);
	printf("futex wait of a signalled thread: %s, handler ran: %d\n",
	       (long)err == EINTR ? "EINTR" : "not interrupted", handled == SIGUSR1);
	return 0;
}
