/* A grate whose getppid handler forks, setjmps and execs: the handler runs in a worker
 * instance on the calling cage's thread, so unwinding would go through the grate's
 * own instance, running (or waiting in waitpid) on the grate's thread (a Lind
 * traceback and the grate killed, one wasmtime store used from two threads), and an
 * exec replaced the grate under its callers. All are ENOSYS in a handler, which
 * answers 4000 + (fork made a child) + 10 (exec said ENOSYS) + 100 (exec happened). */
#include <errno.h>
#include <lind_syscall.h>
#include <setjmp.h>
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

static jmp_buf env;

int getppid_handler(uint64_t cageid)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (setjmp(env) == 0)
		longjmp(env, 1);
	char *args[] = {"again", 0};
	int replaced = execv("/proc/self/exe", args) == 0;
	return 4000 + (p > 0) + 10 * (errno == ENOSYS) + 100 * replaced;
}

int main(int argc, char *argv[])
{
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SYS_getppid, grate, (uint64_t)(uintptr_t)&getppid_handler);
		execv(argv[1], &argv[1]);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("grate: child status %d\n", status);
	fflush(stdout);
	return 0;
}
