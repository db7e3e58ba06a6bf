/* Signal handlers whose C type does not match the SA_SIGINFO flag: Linux calls them
 * all the same, so a cage must too (a wasm call of the wrong type would trap). */
#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t one_arg, three_args;

static void plain(int sig) { one_arg = sig; }

static void with_info(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	three_args = sig * 100 + (info ? 1 : 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa = {0};
	sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))plain;  /* one argument */
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, 0);
	raise(SIGUSR1);
	printf("one-argument handler with SA_SIGINFO ran: %d\n", one_arg);

	struct sigaction sb = {0};
	sb.sa_handler = (void (*)(int))with_info;                     /* three arguments */
	sigaction(SIGUSR2, &sb, 0);
	raise(SIGUSR2);
	printf("three-argument handler without SA_SIGINFO ran: %d\n", three_args / 100);
	return 0;
}
