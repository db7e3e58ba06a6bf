/* A grate for the grate benchmarks: handles geteuid of the program it runs.
 *
 * usage: grate_euid.wasm answer|forward PROGRAM [ARGS...]
 *   answer:  return 0 itself (the cost of one interception)
 *   forward: pass the call below with make_threei_call (the cost of one layer)
 */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t grate_id;

int pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1, uint64_t a2,
                    uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4, uint64_t a5,
                    uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr;
	return fn(cageid);
}

static int answer(uint64_t cageid)
{
	return 0;
}

static int forward(uint64_t cageid)
{
	return make_threei_call(SYS_geteuid, 0, grate_id, cageid, 0, cageid, 0, cageid, 0, cageid,
	                        0, cageid, 0, cageid, 0, cageid, 0);
}

int main(int argc, char *argv[])
{
	if (argc < 3 || (strcmp(argv[1], "answer") && strcmp(argv[1], "forward"))) {
		fprintf(stderr, "usage: grate_euid answer|forward PROGRAM [ARGS...]\n");
		return 2;
	}
	int (*handler)(uint64_t) = strcmp(argv[1], "answer") == 0 ? answer : forward;
	grate_id = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		if (register_handler(getpid(), SYS_geteuid, grate_id, (uint64_t)(uintptr_t)handler)) {
			perror("register_handler");
			_exit(1);
		}
		execv(argv[2], &argv[2]);
		perror("execv");
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
