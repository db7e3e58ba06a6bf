/* execve()s argv[1], a file in the root that is not a valid program: the call must
 * fail with ENOEXEC and the program goes on. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	char *args[] = {argv[1], NULL};
	int r = execve(argv[1], args, environ);
	printf("execve %d %d\n", r, errno);
	return 0;
}
