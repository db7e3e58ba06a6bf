/* Programs run by path from the cage's file system: fork+exec, posix_spawn, a #!
 * script, a file without execute permission, a missing one. The tree test puts
 * args_env (which exits with atoi(argv[1])) at /bin/args_env and /bin/spawn_child. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int status_of(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void fork_exec(const char *what, char *const argv[])
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(100 + errno);
	}
	printf("%s: status %d\n", what, status_of(pid));
}

static void exec_error(const char *what, char *const argv[])
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(errno);
	}
	printf("%s: %d\n", what, status_of(pid));
}

int main(void)
{
	char *run[] = {"/bin/args_env", "3", NULL};
	fork_exec("fork+exec", run);

	char *spawned[] = {"spawn_child", "2", NULL};
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/spawn_child", NULL, NULL, spawned, environ);
	printf("posix_spawn: status %d\n", err ? -err : status_of(pid));

	char *script[] = {"/bin/hello.sh", NULL};
	fork_exec("script", script);

	char *locked[] = {"/bin/not_runnable", "1", NULL};
	exec_error("not runnable", locked);
	char *missing[] = {"/bin/nope", NULL};
	exec_error("missing", missing);
	return 0;
}
