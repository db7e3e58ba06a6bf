/* execve takes at most 128 KiB for one argument or environment string, its NUL
 * included (Linux's MAX_ARG_STRLEN): one byte more is E2BIG, however small the rest
 * (a cage took a single 200 KB argument). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int try_exec(const char *self, size_t len, int as_env)
{
	char *big = malloc(len + 1);
	memset(big, 'x', len);
	big[len] = 0;
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {(char *)self, as_env ? "done" : big, NULL};
		char *env_big[] = {big, NULL}, *env_none[] = {NULL};
		execve(self, argv, as_env ? env_big : env_none);
		_exit(errno);
	}
	int status;
	waitpid(pid, &status, 0);
	free(big);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return 0;          /* exec'd: it got through */
	const size_t most = 128 * 1024 - 1;
	printf("argument of %zu: %d\n", most, try_exec(argv[0], most, 0));
	printf("argument of %zu: %d\n", most + 1, try_exec(argv[0], most + 1, 0));
	printf("variable of %zu: %d\n", most, try_exec(argv[0], most, 1));
	printf("variable of %zu: %d\n", most + 1, try_exec(argv[0], most + 1, 1));
	return 0;
}
