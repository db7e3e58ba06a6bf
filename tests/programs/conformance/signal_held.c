/* Signals kept pending while blocked, across mask changes that still block them, and
 * taken (or discarded, if ignored) once a mask lets them through: what a fork's child's
 * SIGCHLD meets in its parent, whose fork blocks every signal. Per thread too: a signal
 * sent to the process waits while every thread blocks it, and the first thread to
 * unblock it takes it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1, got_usr2, got_chld, taker_got;

static void on_usr1(int sig) { (void)sig; got_usr1++; }
static void on_chld(int sig) { (void)sig; got_chld++; }

static void on_usr2(int sig)
{
	(void)sig;
	got_usr2++;
}

static int pending(int sig)
{
	sigset_t set;
	sigpending(&set);
	return sigismember(&set, sig);
}

static void set_mask(int how, int sig)
{
	sigset_t set;
	sigemptyset(&set);
	if (sig)
		sigaddset(&set, sig);
	pthread_sigmask(how, &set, NULL);
}

static void block_all(void)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
}

static pthread_barrier_t sent, unblocked;

static void *taker(void *unused)
{
	(void)unused;
	block_all();
	pthread_barrier_wait(&sent);           /* the process's SIGUSR2 is pending now */
	set_mask(SIG_SETMASK, SIGUSR2);        /* still blocked here: nothing happens */
	printf("thread: still blocked, pending %d taken %d\n", pending(SIGUSR2), got_usr2);
	set_mask(SIG_UNBLOCK, SIGUSR2);        /* this thread takes it */
	taker_got = got_usr2;
	pthread_barrier_wait(&unblocked);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);

	/* A caught signal blocked through two mask changes, then let through. */
	block_all();
	raise(SIGUSR1);
	printf("raised while blocked: pending %d taken %d\n", pending(SIGUSR1), got_usr1);
	set_mask(SIG_SETMASK, SIGUSR1);
	printf("mask still blocks it: pending %d taken %d\n", pending(SIGUSR1), got_usr1);
	set_mask(SIG_BLOCK, SIGUSR2);
	printf("another blocked too: pending %d taken %d\n", pending(SIGUSR1), got_usr1);
	set_mask(SIG_SETMASK, 0);
	printf("let through: pending %d taken %d\n", pending(SIGUSR1), got_usr1);

	/* SIGCHLD, ignored by default, from children that end while it is blocked: pending
	 * until a mask lets it through, then discarded; caught, it is taken once. */
	for (int caught = 0; caught < 2; caught++) {
		if (caught) {
			sa.sa_handler = on_chld;
			sigaction(SIGCHLD, &sa, NULL);
		}
		block_all();
		for (int i = 0; i < 3; i++) {
			pid_t pid = fork();
			if (pid == 0)
				_exit(i);
			waitpid(pid, NULL, 0);
			set_mask(SIG_SETMASK, SIGCHLD);     /* as fork restores a mask that blocks */
		}
		printf("SIGCHLD %s, blocked across 3 forks: pending %d taken %d\n",
		       caught ? "caught" : "ignored", pending(SIGCHLD), got_chld);
		set_mask(SIG_SETMASK, 0);
		printf("let through: pending %d taken %d\n", pending(SIGCHLD), got_chld);
	}

	/* The process's signal while every thread blocks it: the thread that unblocks it
	 * takes it, the others never see it. */
	pthread_barrier_init(&sent, NULL, 2);
	pthread_barrier_init(&unblocked, NULL, 2);
	block_all();
	pthread_t t;
	pthread_create(&t, NULL, taker, NULL);
	kill(getpid(), SIGUSR2);
	printf("sent to the process, all block it: pending %d taken %d\n", pending(SIGUSR2),
	       got_usr2);
	pthread_barrier_wait(&sent);
	pthread_barrier_wait(&unblocked);
	pthread_join(t, NULL);
	printf("taken by the thread that unblocked it: %d, pending %d\n", taker_got,
	       pending(SIGUSR2));
	return 0;
}
