/* siglongjmp out of signal handlers: after raise, out of a blocked read, out
 * of a busy loop that makes no system calls, many times over; sigsetjmp with
 * and without saving the mask.  Output must match a native run. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile sig_atomic_t spins;

static void jump(int sig)
{
	siglongjmp(env, sig);
}

static void install(int sig, void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, 0);
}

static void arm_ms(long ms)
{
	struct itimerval it = { .it_value = { ms / 1000, ms % 1000 * 1000 } };
	setitimer(ITIMER_REAL, &it, 0);
}

static int blocked(int sig)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, 0, &now);
	return sigismember(&now, sig);
}

static void unblock(int sig)
{
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, 0);
}

int main(void)
{
	int r, fds[2];
	char c;
	setvbuf(stdout, 0, _IONBF, 0);
	install(SIGUSR1, jump);
	install(SIGALRM, jump);

	r = sigsetjmp(env, 1);
	if (r == 0) {
		raise(SIGUSR1);
		printf("not reached\n");
	}
	printf("jumped out of the handler with %d, mask restored: usr1 blocked=%d\n", r,
	       blocked(SIGUSR1));

	r = sigsetjmp(env, 0);
	if (r == 0) {
		raise(SIGUSR1);
		printf("not reached\n");
	}
	printf("without savemask: usr1 still blocked=%d\n", blocked(SIGUSR1));
	unblock(SIGUSR1);

	pipe(fds);
	r = sigsetjmp(env, 1);
	if (r == 0) {
		arm_ms(20);
		read(fds[0], &c, 1);
		printf("not reached\n");
	}
	printf("left a blocked read with %d\n", r);

	r = sigsetjmp(env, 1);
	if (r == 0) {
		arm_ms(20);
		for (;;)
			spins++;
	}
	printf("left a busy loop with %d, alrm blocked=%d\n", r, blocked(SIGALRM));

	int jumps = 0;
	for (int i = 0; i < 200; i++) {
		if (sigsetjmp(env, 1) == 0)
			raise(SIGUSR1);
		else
			jumps++;
	}
	printf("jumps=%d\n", jumps);
	return 0;
}
