/* Two cages in conversation: the parent asks a child for squares over one pipe and
 * reads each answer from another before it asks again -- a coprocess, as a program
 * talks to `bc`. Built with `lind cc --suspendable`: in the browser a cage waiting
 * for its answer is set aside while the other runs. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void answer(int in, int out)
{
	long n;
	while (read(in, &n, sizeof n) == (ssize_t)sizeof n) {
		long square = n * n;
		if (write(out, &square, sizeof square) != (ssize_t)sizeof square)
			exit(1);
	}
	exit(0);
}

int main(void)
{
	int ask[2], reply[2];
	if (pipe(ask) < 0 || pipe(reply) < 0) {
		perror("pipe");
		return 1;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		close(ask[1]);
		close(reply[0]);
		answer(ask[0], reply[1]);
	}
	close(ask[0]);
	close(reply[1]);
	long sum = 0;
	for (long n = 1; n <= 10; n++) {
		long square;
		if (write(ask[1], &n, sizeof n) != (ssize_t)sizeof n
		    || read(reply[0], &square, sizeof square) != (ssize_t)sizeof square) {
			perror("talk");
			return 1;
		}
		printf("cage %d asked %ld, cage %d said %ld\n", getpid(), n, child, square);
		sum += square;
	}
	close(ask[1]);
	int status;
	waitpid(child, &status, 0);
	printf("sum of squares 1..10 = %ld; the child exited %d\n", sum, WEXITSTATUS(status));
	return 0;
}
