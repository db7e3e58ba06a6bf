/* Four threads divide by zero at about the same time, while main may still be
 * starting them: the process ends with SIGFPE, as natively. (A thread whose start
 * the first fault's kill interrupted made it SIGILL, now and then.) */
#include <pthread.h>
#include <stdio.h>

static volatile int zero = 0, seven = 7;

static void *divide(void *arg)
{
	for (volatile int i = 0; i < 1000; i++)
		;
	return (void *)(long)(seven / zero + (long)arg);
}

int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, divide, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	puts("not reached");
	return 0;
}
