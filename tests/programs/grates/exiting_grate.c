/* A grate that ends inside its own handler while the cage it serves runs on:
 *   exiting_grate PROGRAM [ARGS...]
 * The first cage stays as init and reaps everything; its child is the grate, whose
 * getppid handler calls _exit; the grate's child runs PROGRAM with that handler. Init
 * prints how each of its children (the grate, then the orphaned program) ended. */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr;
	return fn(cageid);
}

int getppid_handler(uint64_t cageid)
{
	_exit(3);
}

int main(int argc, char *argv[])
{
	setvbuf(stdout, NULL, _IONBF, 0);
	pid_t grate = fork();
	if (grate == 0) {
		int me = getpid();
		pid_t pid = fork();
		if (pid == 0) {
			register_handler(getpid(), SYS_getppid, me,
			                 (uint64_t)(uintptr_t)&getppid_handler);
			execv(argv[1], &argv[1]);
			_exit(127);
		}
		int status;
		waitpid(pid, &status, 0);
		_exit(0);
	}
	int status;
	pid_t pid;
	while ((pid = wait(&status)) > 0)
		printf("%s: %s %d\n", pid == grate ? "grate" : "program",
		       WIFSIGNALED(status) ? "signal" : "exit",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return 0;
}
