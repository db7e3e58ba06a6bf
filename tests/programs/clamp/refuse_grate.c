/* A grate that refuses every open and openat of its program with EROFS: inside a
 * clamp on a directory, a read-only view of that directory. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1, uint64_t a2,
                    uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4,
                    uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	return -EROFS;
}

int main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s program [args]\n", argv[0]);
		return 2;
	}
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		if (register_handler(getpid(), SYS_open, grate, 1) ||
		    register_handler(getpid(), SYS_openat, grate, 1)) {
			perror("register_handler");
			return 1;
		}
		execv(argv[1], &argv[1]);
		perror("execv");
		return 127;
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
