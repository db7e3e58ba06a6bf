/* A grate that ends before the cage it serves: the first cage starts the grate, which
 * starts a child and handles its geteuid (answering 42), then exits. Once the first
 * cage has waited for the grate, the child's geteuid reaches a handler of a grate that
 * is gone: ENOSYS, never a number that looks like an answer. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1, uint64_t a2,
                    uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4,
                    uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	return 42;
}

static void show(const char *when)
{
	long r = syscall(SYS_geteuid);
	printf("geteuid %s: %ld %s\n", when, r, r < 0 ? strerror(errno) : "");
	fflush(stdout);
}

int main(void)
{
	int registered[2], called[2], grate_gone[2];
	char byte;
	if (pipe(registered) || pipe(called) || pipe(grate_gone))
		return 1;
	pid_t grate = fork();
	if (grate == 0) {
		int self = getpid();
		pid_t child = fork();
		if (child == 0) {
			close(registered[1]);
			close(grate_gone[1]);
			if (read(registered[0], &byte, 1) != 1)
				_exit(1);
			show("while the grate lives");
			write(called[1], "c", 1);
			if (read(grate_gone[0], &byte, 1) != 1)
				_exit(1);
			show("after the grate ended");
			_exit(0);
		}
		if (register_handler(child, SYS_geteuid, self, 1) != 0) {
			perror("register_handler");
			_exit(1);
		}
		write(registered[1], "r", 1);
		read(called[0], &byte, 1);
		_exit(0);
	}
	close(registered[0]);
	close(registered[1]);
	int status;
	if (waitpid(grate, &status, 0) != grate || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	write(grate_gone[1], "g", 1);
	while (wait(&status) > 0)     /* the child, adopted by this first cage */
		;
	return 0;
}
