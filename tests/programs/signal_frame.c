/* A caught SIGUSR1 raised from deep in the stack (64 KiB of locals under main's frame,
 * where the signal's frame is written), then what main sees: "handled N, blocked B"
 * (whether SIGUSR1 is still blocked). tests/test_signals.py protects the frame's pages
 * between Lind's check and its write, as another thread's mprotect may: the cage must
 * get SIGSEGV (Linux's answer when it cannot build a signal frame), not lose the
 * signal with SIGUSR1 left blocked. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile int handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

__attribute__((noinline)) static void deep(void)
{
	volatile char room[65536];
	room[0] = room[sizeof room - 1] = 1;
	kill(getpid(), SIGUSR1);
}

int main(void)
{
	signal(SIGUSR1, on_usr1);
	deep();
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	printf("handled %d, blocked %d\n", handled, sigismember(&now, SIGUSR1));
	return 0;
}
