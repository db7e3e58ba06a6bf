/* stdout is fully buffered from its first byte when it is not a terminal (here a pipe
 * or a file), as C says: a line printed before fork is still in the buffer, so the
 * child that exits flushes it too, and a line written to stderr after it comes first. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	printf("printed before fork by %s\n", "the parent");
	pid_t pid = fork();
	if (pid == 0)
		exit(0);                 /* flushes the child's copy of the buffer */
	int status;
	waitpid(pid, &status, 0);
	dup2(1, 2);                      /* stderr into stdout's pipe, unbuffered */
	fprintf(stderr, "stderr after the child ended\n");
	printf("stdout's last line\n");
	return 0;
}
