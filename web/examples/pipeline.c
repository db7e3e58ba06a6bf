/* A pipeline of three cages: a producer, a filter that upper-cases, and the parent
 * counting what reaches it -- fork, pipe, dup2, waitpid, as a shell wires `a | b`. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t stage(int in, int out, void (*body)(void))
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		if (in != 0) { dup2(in, 0); close(in); }
		if (out != 1) { dup2(out, 1); close(out); }
		body();
		fflush(stdout);
		_exit(0);
	}
	return pid;
}

static void produce(void)
{
	for (int i = 1; i <= 5; i++)
		printf("line %d from cage %d\n", i, getpid());
}

static void shout(void)
{
	int c;
	while ((c = getchar()) != EOF)
		putchar(toupper(c));
}

int main(void)
{
	int a[2], b[2], status, lines = 0;
	char buf[128];

	if (pipe(a) || pipe(b)) {
		perror("pipe");
		return 1;
	}
	pid_t p1 = stage(0, a[1], produce);
	close(a[1]);
	pid_t p2 = stage(a[0], b[1], shout);
	close(a[0]);
	close(b[1]);
	FILE *in = fdopen(b[0], "r");
	while (fgets(buf, sizeof buf, in)) {
		printf("parent %d got: %s", getpid(), buf);
		lines++;
	}
	waitpid(p1, &status, 0);
	waitpid(p2, &status, 0);
	printf("%d lines through 2 pipes; children %d and %d exited\n", lines, p1, p2);
	return 0;
}
