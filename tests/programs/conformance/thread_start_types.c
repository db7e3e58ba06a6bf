/* Start routines of another type than pthread_create names, as C programs pass them on
 * x86-64: `void f(void *)` through a union (libuv's uv_thread_create), `void *f(void)`,
 * `void f(void)`, cast to void *(*)(void *); each runs, more than once; a proper one
 * returns its value. In WebAssembly a call through a pointer of another type traps. */
#include <pthread.h>
#include <stdio.h>

static volatile int hits;

static void takes_arg(void *arg) { hits += *(int *)arg; }
static void *returns(void) { hits += 100; return (void *)7; }
static void neither(void) { hits += 1000; }
static void *proper(void *arg) { hits += 10000; return arg; }

int main(void)
{
	union { void (*in)(void *); void *(*out)(void *); } f;
	int one = 1;
	pthread_t t;
	void *ret = NULL;
	f.in = takes_arg;
	for (int i = 0; i < 3; i++) {
		if (pthread_create(&t, NULL, f.out, &one) || pthread_join(t, &ret))
			return 1;
	}
	printf("void start(void *): %d\n", hits);
	if (pthread_create(&t, NULL, (void *(*)(void *))returns, NULL) || pthread_join(t, &ret))
		return 1;
	printf("void *start(void): returned %ld\n", (long)ret);
	if (pthread_create(&t, NULL, (void *(*)(void *))neither, NULL) || pthread_join(t, NULL))
		return 1;
	if (pthread_create(&t, NULL, proper, (void *)42) || pthread_join(t, &ret))
		return 1;
	printf("void *start(void *): returned %ld\n", (long)ret);
	printf("all: %d\n", hits);
	return 0;
}
