/* A grate as written for Lind: answers geteuid for the program it runs. */
#include <assert.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

long long pass_fptr_to_wt(uint64_t fn_ptr_uint, uint64_t cageid, uint64_t arg1,
                          uint64_t arg1cage, uint64_t arg2, uint64_t arg2cage,
                          uint64_t arg3, uint64_t arg3cage, uint64_t arg4,
                          uint64_t arg4cage, uint64_t arg5, uint64_t arg5cage,
                          uint64_t arg6, uint64_t arg6cage)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr_uint;
	return fn(cageid);
}

int geteuid_grate(uint64_t cageid)
{
	return 10;
}

int main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s program [args]\n", argv[0]);
		return 2;
	}
	int grateid = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		int cageid = getpid();
		uint64_t fn = (uint64_t)(uintptr_t)&geteuid_grate;
		if (register_handler(cageid, 107, grateid, fn) != 0) {
			perror("register_handler");
			return 1;
		}
		execv(argv[1], &argv[1]);
		perror("execv");
		return 127;
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
