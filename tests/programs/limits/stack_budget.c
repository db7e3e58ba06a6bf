/* Stacks that joined threads left for later (guest src/thread/__lind_stack_cache.c)
 * never cost a program its memory: seven threads with 1 MiB stacks run at once and are joined, the
 * program then maps pages until the cage's budget says ENOMEM, and a thread
 * of another stack size must still start (the kept stacks are given back for it);
 * what they held is then free for the program's own mappings too. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>

#define BLOCK 4096

static void *nothing(void *arg) { return arg; }

static int map_until_full(void)
{
	int n = 0;
	while (mmap(0, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
	       != MAP_FAILED)
		n++;
	return errno == ENOMEM ? n : -1;
}

int main(void)
{
	pthread_attr_t big;
	pthread_attr_init(&big);
	pthread_attr_setstacksize(&big, 1 << 20);
	pthread_t seven[7];
	for (int i = 0; i < 7; i++)
		if (pthread_create(&seven[i], &big, nothing, NULL))
			return 1;
	for (int i = 0; i < 7; i++)
		pthread_join(seven[i], NULL);
	printf("full after %s blocks\n", map_until_full() > 0 ? "some" : "no");
	pthread_t t;
	int err = pthread_create(&t, NULL, nothing, NULL);
	printf("a thread after that: %s\n", err ? "failed" : "started");
	if (!err)
		pthread_join(t, NULL);
	int again = map_until_full();
	printf("what the kept stacks held came back: %s\n",
	       again >= 5 * (1 << 20) / BLOCK ? "yes" : "no");
	return 0;
}
