/* Signal masks in a threaded program: pthread_create and a thread's exit leave the
 * first thread's mask alone, so raise and pthread_kill to itself run the handler
 * before they return; a thread's own pthread_sigmask is its own; sigwait in a thread
 * takes a signal every thread blocks. (Delivery per thread: thread_signals.c.) */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_signal(int sig) { got = sig; }

static void *quick(void *arg) { return arg; }

static void *own_mask(void *arg)
{
	sigset_t set, now;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	return (void *)(long)sigismember(&now, SIGUSR2);
}

static void *waits(void *arg)
{
	int sig = 0;
	int r = sigwait((sigset_t *)arg, &sig);
	return (void *)(long)(r == 0 ? sig : -1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR2, on_signal);
	for (int i = 0; i < 20; i++) {
		pthread_t t;
		pthread_create(&t, NULL, quick, NULL);
		pthread_join(t, NULL);
	}
	raise(SIGUSR2);
	printf("after 20 threads, raise ran the handler: %d\n", got);
	got = 0;
	pthread_kill(pthread_self(), SIGUSR2);
	printf("pthread_kill to itself ran the handler: %d\n", got);

	pthread_t t;
	void *r;
	pthread_create(&t, NULL, own_mask, NULL);
	pthread_join(t, &r);
	sigset_t now;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	printf("a thread's mask is its own: it blocked %ld, the first thread blocks %d\n",
	       (long)r, sigismember(&now, SIGUSR2));

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&t, NULL, waits, &set);
	usleep(20000);
	kill(getpid(), SIGUSR1);
	pthread_join(t, &r);
	printf("sigwait in a thread took signal %ld\n", (long)r);
	return 0;
}
