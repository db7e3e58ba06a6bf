/* longjmp (setjmp's, not sigsetjmp's: WebAssembly exceptions in a cage) out of signal
 * handlers: out of a busy loop that makes no system calls, out of a blocked pause, out
 * of a blocked read, and through frames between.  The handler's mask stays (longjmp
 * restores none), as on Linux.  Output must match a native run. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

static jmp_buf env;
static volatile sig_atomic_t hits, stop;

static void jump(int sig)
{
	hits++;
	longjmp(env, sig);
}

static int blocked(int sig)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, 0, &now);
	return sigismember(&now, sig);
}

static void unblock(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, 0);
}

static void arm_ms(long ms)
{
	struct itimerval it = { .it_value = { ms / 1000, ms % 1000 * 1000 } };
	setitimer(ITIMER_REAL, &it, 0);
}

__attribute__((noinline)) static void spin(int depth)
{
	volatile unsigned long n = 0;
	if (depth > 0) {
		spin(depth - 1);
		return;
	}
	while (!stop)
		n++;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = jump };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, 0);
	setvbuf(stdout, 0, _IONBF, 0);

	int r = setjmp(env);
	if (r == 0) {
		arm_ms(20);
		spin(10);
	}
	printf("busy loop 10 frames down: %d, alarm blocked %d\n", r, blocked(SIGALRM));
	unblock(SIGALRM);

	if ((r = setjmp(env)) == 0) {
		arm_ms(20);
		pause();
		puts("pause returned");
	}
	printf("pause: %d, blocked %d\n", r, blocked(SIGALRM));
	unblock(SIGALRM);

	int p[2];
	pipe(p);
	if ((r = setjmp(env)) == 0) {
		char c;
		arm_ms(20);
		read(p[0], &c, 1);
		puts("read returned");
	}
	printf("read: %d, blocked %d\n", r, blocked(SIGALRM));
	unblock(SIGALRM);

	volatile int rounds = 0;
	setjmp(env);
	if (rounds < 200) {
		rounds++;
		unblock(SIGALRM);
		raise(SIGALRM);
		puts("raise returned");
	}
	printf("raise, again and again: rounds %d, hits %d, blocked %d\n", rounds, hits,
	       blocked(SIGALRM));
	return 0;
}
