/* Two compute-bound threads and nothing else: the test compares CPU time with wall time. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static volatile uint64_t sink;

static void *spin(void *arg)
{
	uint64_t x = (uint64_t)(uintptr_t)arg;
	for (unsigned long i = 0; i < 1000000000UL; i++) {   /* xorshift: no shortcut */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	sink += x;
	return NULL;
}

int main(void)
{
	pthread_t a, b;
	pthread_create(&a, NULL, spin, (void *)1);
	pthread_create(&b, NULL, spin, (void *)2);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("two threads done\n");
	return 0;
}
