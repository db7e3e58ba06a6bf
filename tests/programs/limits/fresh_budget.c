/* A fresh start under a tight memory budget (test_limits runs it in 20 MiB): a kept
 * instance larger than a new one must not be taken where the budget holds only a new
 * one. A child grows its memory by 3 MiB and exits (its instance is kept); the parent
 * grows by 2 MiB; then children are spawned one at a time, each printing "small ok". */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int run(const char *role)
{
	char *args[] = {"/proc/self/exe", (char *)role, NULL};
	pid_t pid;
	int status;
	if (posix_spawn(&pid, args[0], NULL, NULL, args, environ) != 0 ||
	    waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "grow")) {
		char *p = sbrk(3 << 20);
		memset(p, 1, 3 << 20);
		return p[12345] == 1 ? 0 : 1;
	}
	if (argc == 2 && !strcmp(argv[1], "small")) {
		printf("small ok\n");
		return 0;
	}
	fflush(stdout);
	printf("grow %d\n", run("grow"));
	fflush(stdout);
	/* the parent takes 2 MiB more: room is left for a new child, not for the grown one */
	char *mine = sbrk(2 << 20);
	if (mine == (void *)-1)
		return 4;
	memset(mine, 2, 2 << 20);
	for (int i = 0; i < 3; i++) {
		int status = run("small");
		fflush(stdout);
		printf("status %d\n", status);
		fflush(stdout);
	}
	return 0;
}
