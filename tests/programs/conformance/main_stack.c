/* pthread_getattr_np of the main thread and of another: the range it gives holds the
 * thread's own locals, and the main thread's is about RLIMIT_STACK (garbage collectors
 * and stack-overflow checks look their stack up this way). A cage's main thread was
 * given one page above its auxiliary vector, which held none of its locals. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>

static int holds(const void *local)
{
	pthread_attr_t a;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) || pthread_attr_getstack(&a, &addr, &size))
		return -1;
	pthread_attr_destroy(&a);
	return (const char *)local >= (char *)addr && (const char *)local < (char *)addr + size;
}

static void *thread(void *unused)
{
	int local;
	printf("thread: its stack holds its locals %d\n", holds(&local));
	return unused;
}

int main(void)
{
	int local;
	pthread_attr_t a;
	void *addr;
	size_t size;
	struct rlimit limit;
	getrlimit(RLIMIT_STACK, &limit);
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstack(&a, &addr, &size);
	printf("main: its stack holds its locals %d, about RLIMIT_STACK %d\n", holds(&local),
	       size <= limit.rlim_cur && size + 65536 >= limit.rlim_cur);
	pthread_t t;
	pthread_create(&t, 0, thread, 0);
	pthread_join(t, 0);
	return 0;
}
