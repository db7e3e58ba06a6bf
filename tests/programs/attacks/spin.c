/* Forks, and both cages spin forever without a system call. */
#include <unistd.h>

int main(void)
{
	volatile unsigned long n = 0;
	fork();
	for (;;)
		n++;
}
