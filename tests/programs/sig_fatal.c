/* How a program ends through signals, chosen by argv[1]:
 *   alarm        a busy loop, SIGALRM left at its default action
 *   resethand    a SIGTERM handler with SA_RESETHAND, then SIGTERM again
 *   kill         a handler that sends its own process SIGKILL
 *   trap         a handler, run in a busy loop, that traps
 *   exit         a handler, run in a busy loop, that calls _exit(3)
 *   stuck        a handler, run in a busy loop, that loops for ever
 *   pause        pause() with no signal to come
 *   pending      exit(0) with an alarm still set
 *   pipe         a write to a pipe whose reader is gone, SIGPIPE at its default
 *   pipe-ignored the same with SIGPIPE ignored: EPIPE, then exit(4)
 *   altstack-past-4g  a handler on an alternate stack whose end lies past 4 GiB
 *                (sp + size wraps a 32-bit address): its frame cannot be set up
 * The exit status must match a native run (stuck and pause never end by
 * themselves). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t spins;

static void arm_ms(long ms)
{
	struct itimerval it = { .it_value = { ms / 1000, ms % 1000 * 1000 } };
	setitimer(ITIMER_REAL, &it, 0);
}

static void nothing(int sig)
{
	(void)sig;
}

static void kill_myself(int sig)
{
	(void)sig;
	kill(getpid(), SIGKILL);
}

static void trap(int sig)
{
	(void)sig;
	__builtin_trap();
}

static void leave(int sig)
{
	(void)sig;
	_exit(3);
}

static void spin_for_ever(int sig)
{
	(void)sig;
	for (;;)
		spins++;
}

static void install(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, 0);
}

static void busy_loop_until_alarm(void)
{
	arm_ms(20);
	for (;;)
		spins++;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "";
	if (!strcmp(how, "alarm")) {
		busy_loop_until_alarm();
	} else if (!strcmp(how, "resethand")) {
		install(SIGTERM, nothing, SA_RESETHAND);
		raise(SIGTERM);
		raise(SIGTERM);
	} else if (!strcmp(how, "kill")) {
		install(SIGUSR1, kill_myself, 0);
		raise(SIGUSR1);
	} else if (!strcmp(how, "trap")) {
		install(SIGALRM, trap, 0);
		busy_loop_until_alarm();
	} else if (!strcmp(how, "exit")) {
		install(SIGALRM, leave, 0);
		busy_loop_until_alarm();
	} else if (!strcmp(how, "stuck")) {
		install(SIGALRM, spin_for_ever, 0);
		busy_loop_until_alarm();
	} else if (!strcmp(how, "pause")) {
		install(SIGUSR1, nothing, 0);
		pause();
	} else if (!strcmp(how, "pending")) {
		alarm(100);
		return 0;
	} else if (!strcmp(how, "altstack-past-4g")) {
		stack_t high = { .ss_sp = (void *)(unsigned long)0xFFFFF000u, .ss_size = 0x10000 };
		if (sigaltstack(&high, 0) != 0)
			return 102;
		install(SIGUSR1, nothing, SA_ONSTACK);
		raise(SIGUSR1);
	} else if (!strcmp(how, "pipe") || !strcmp(how, "pipe-ignored")) {
		int fds[2];
		if (pipe(fds) < 0)
			return 101;
		close(fds[0]);
		if (how[4])
			signal(SIGPIPE, SIG_IGN);
		return write(fds[1], "x", 1) == -1 && errno == EPIPE ? 4 : 5;
	}
	return 100;
}
