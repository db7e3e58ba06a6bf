/* Signals delivered per thread, compared with Linux:
 * - pthread_kill to another thread runs the handler in that thread (its tid);
 * - a signal sent to the process goes to a thread that does not block it;
 * - a thread blocked in read gets EINTR from a signal sent to it, while another
 *   thread blocked in read on another pipe goes on and reads its byte;
 * - sem_wait in one thread is not interrupted by a signal for another;
 * - a SIGSEGV fault in a thread runs its handler in that thread, which
 *   siglongjmps out; the process goes on;
 * - sigwaitinfo in a thread takes a signal sent to it with pthread_kill;
 * - a signalfd polled and read in a thread sees the signal pending for that thread;
 * - SIGTERM sent to the process while every thread but one blocks it is
 *   handled by that one.
 * Everything printed is the same under Linux and Lind. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile pid_t handled_in;
static volatile sig_atomic_t handled_sig;
static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }

static void on_signal(int sig)
{
	handled_in = tid();
	handled_sig = sig;
}

static pthread_barrier_t ready;
static volatile pid_t worker_tid;
static volatile int stop_spinning;

static void *spinner(void *arg)
{
	if (arg)    /* a mask to unblock */
		pthread_sigmask(SIG_UNBLOCK, arg, NULL);
	worker_tid = tid();
	pthread_barrier_wait(&ready);
	while (!stop_spinning)
		usleep(1000);
	return NULL;
}

static int pipe_a[2], pipe_b[2];

static void *reader(void *arg)
{
	int *p = arg;
	char c;
	ssize_t n = read(p[0], &c, 1);
	if (n < 0)
		return (void *)(long)-errno;
	return (void *)(long)c;
}

static sem_t sem;
static void *sem_waiter(void *arg)
{
	(void)arg;
	int r = sem_wait(&sem);
	return (void *)(long)(r == 0 ? 0 : errno);
}

static sigjmp_buf fault_jump;
static volatile pid_t fault_in;
static void on_fault(int sig)
{
	fault_in = tid();
	siglongjmp(fault_jump, sig);
}

static void *faulter(void *arg)
{
	(void)arg;
	int sig = sigsetjmp(fault_jump, 1);
	if (sig == 0) {
		volatile int *bad = (volatile int *)0xfffffff0u;
		*bad = 1;
		return (void *)-1L;
	}
	return (void *)(long)(sig == SIGSEGV && fault_in == tid());
}

static void *info_waiter(void *arg)
{
	sigset_t *set = arg;
	siginfo_t info;
	pthread_barrier_wait(&ready);
	int sig = sigwaitinfo(set, &info);
	return (void *)(long)(sig == SIGUSR2 && info.si_signo == sig && info.si_pid == getpid()
	                      ? 1 : -sig);
}

static void *signalfd_reader(void *arg)
{
	sigset_t *set = arg;
	int sfd = signalfd(-1, set, SFD_NONBLOCK);
	pthread_kill(pthread_self(), SIGUSR2);
	struct pollfd p = {.fd = sfd, .events = POLLIN};
	int before = poll(&p, 1, 0);
	struct signalfd_siginfo info;
	ssize_t n = read(sfd, &info, sizeof info);
	int after = poll(&p, 1, 0);
	close(sfd);
	return (void *)(long)(before == 1 && n == sizeof info && info.ssi_signo == SIGUSR2 &&
	                      info.ssi_code == SI_TKILL && after == 0);
}

static void *unblocks_term(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	worker_tid = tid();
	pthread_barrier_wait(&ready);
	while (!handled_sig)
		usleep(1000);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pthread_barrier_init(&ready, NULL, 2);

	/* pthread_kill to another thread */
	pthread_t t;
	pthread_create(&t, NULL, spinner, NULL);
	pthread_barrier_wait(&ready);
	printf("pthread_kill with signal 0 (is it there?): %d\n", pthread_kill(t, 0));
	printf("tgkill with signal 0: %ld\n", (long)syscall(SYS_tgkill, getpid(), worker_tid, 0));
	errno = 0;
	long bad = syscall(SYS_tgkill, getpid(), worker_tid, -1);
	printf("tgkill with signal -1: %ld %d\n", bad, errno);
	errno = 0;
	bad = syscall(SYS_tgkill, getpid(), worker_tid, 65);
	printf("tgkill with signal 65: %ld %d\n", bad, errno);
	siginfo_t forged;
	memset(&forged, 0, sizeof forged);
	forged.si_code = SI_QUEUE;
	errno = 0;
	bad = syscall(SYS_rt_tgsigqueueinfo, getpid(), worker_tid, 65, &forged);
	printf("rt_tgsigqueueinfo with signal 65: %ld %d\n", bad, errno);
	errno = 0;
	bad = syscall(SYS_rt_tgsigqueueinfo, getpid(), worker_tid, 0, &forged);
	printf("rt_tgsigqueueinfo with signal 0 (is it there?): %ld %d\n", bad, errno);
	errno = 0;
	bad = syscall(SYS_rt_tgsigqueueinfo, getpid(), worker_tid, -1, &forged);
	printf("rt_tgsigqueueinfo with signal -1: %ld %d\n", bad, errno);
	errno = 0;
	bad = syscall(SYS_rt_sigaction, 65, NULL, NULL, 8);
	printf("raw rt_sigaction of signal 65: %ld %d\n", bad, errno);
	errno = 0;
	bad = syscall(SYS_rt_sigaction, 0, NULL, NULL, 8);
	printf("raw rt_sigaction of signal 0: %ld %d\n", bad, errno);
	pthread_kill(t, SIGUSR1);
	while (!handled_sig)
		usleep(1000);
	printf("pthread_kill: handler ran in the target thread: %d\n", handled_in == worker_tid);
	handled_sig = 0;
	handled_in = 0;
	forged.si_code = SI_QUEUE;
	printf("rt_tgsigqueueinfo to the thread: %ld\n",
	       (long)syscall(SYS_rt_tgsigqueueinfo, getpid(), worker_tid, SIGUSR1, &forged));
	while (!handled_sig)
		usleep(1000);
	printf("  its handler ran there: %d\n", handled_in == worker_tid);
	stop_spinning = 1;
	pthread_join(t, NULL);

	/* process-directed, the first thread blocks it */
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	handled_sig = 0;
	stop_spinning = 0;
	pthread_create(&t, NULL, spinner, &usr1);
	pthread_barrier_wait(&ready);
	kill(getpid(), SIGUSR1);
	while (!handled_sig)
		usleep(1000);
	printf("kill: taken by the thread that does not block it: %d\n", handled_in == worker_tid);
	stop_spinning = 1;
	pthread_join(t, NULL);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);

	/* a process-directed signal after the one thread that would take it has ended:
	 * pending for the process until the first thread unblocks it */
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	handled_sig = 0;
	stop_spinning = 1;
	pthread_create(&t, NULL, spinner, &usr1);
	pthread_barrier_wait(&ready);
	pthread_join(t, NULL);
	kill(getpid(), SIGUSR1);
	sigset_t now;
	sigpending(&now);
	printf("kill after that thread ended: pending %d\n", sigismember(&now, SIGUSR1));
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	printf("  handled once unblocked, in the first thread: %d\n",
	       handled_sig == SIGUSR1 && handled_in == tid());

	/* EINTR in one thread, the other goes on */
	pipe(pipe_a);
	pipe(pipe_b);
	pthread_t ta, tb;
	pthread_create(&ta, NULL, reader, pipe_a);
	pthread_create(&tb, NULL, reader, pipe_b);
	usleep(50000);
	pthread_kill(ta, SIGUSR1);
	void *ra, *rb;
	pthread_join(ta, &ra);
	write(pipe_b[1], "b", 1);
	pthread_join(tb, &rb);
	printf("read in the signalled thread: %s; in the other: '%c'\n",
	       (long)ra == -EINTR ? "EINTR" : "not interrupted", (char)(long)rb);

	/* sem_wait of one thread is not interrupted by a signal for another */
	sem_init(&sem, 0, 0);
	pthread_t ts;
	pthread_create(&ts, NULL, sem_waiter, NULL);
	stop_spinning = 0;
	handled_sig = 0;
	pthread_create(&t, NULL, spinner, NULL);
	pthread_barrier_wait(&ready);
	usleep(20000);
	pthread_kill(t, SIGUSR1);
	while (!handled_sig)
		usleep(1000);
	usleep(20000);
	sem_post(&sem);
	void *rs;
	pthread_join(ts, &rs);
	printf("sem_wait in another thread: %s\n", rs ? strerror((int)(long)rs) : "woken by sem_post");
	stop_spinning = 1;
	pthread_join(t, NULL);

	/* a fault in a thread */
	struct sigaction fault;
	memset(&fault, 0, sizeof fault);
	fault.sa_handler = on_fault;
	sigaction(SIGSEGV, &fault, NULL);
	void *rf;
	pthread_create(&t, NULL, faulter, NULL);
	pthread_join(t, &rf);
	printf("SIGSEGV in a thread: its handler ran there and jumped out: %ld\n", (long)rf);

	/* sigwaitinfo in a thread, for a signal sent to that thread */
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	void *rw;
	pthread_create(&t, NULL, info_waiter, &usr2);
	pthread_barrier_wait(&ready);
	pthread_kill(t, SIGUSR2);
	pthread_join(t, &rw);
	printf("sigwaitinfo took the thread's SIGUSR2, sent by this process: %ld\n", (long)rw);
	pthread_create(&t, NULL, signalfd_reader, &usr2);
	pthread_join(t, &rw);
	printf("a thread's signalfd: readable for its own pending SIGUSR2, read, then not: %ld\n",
	       (long)rw);

	/* SIGTERM to the process: only one thread does not block it */
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	handled_sig = 0;
	pthread_create(&t, NULL, unblocks_term, NULL);
	pthread_barrier_wait(&ready);
	kill(getpid(), SIGTERM);
	pthread_join(t, NULL);
	printf("SIGTERM handled by the one thread that takes it: %d\n", handled_in == worker_tid);
	return 0;
}
