/* A grate whose own thread keeps unwinding and rewinding its stack (setjmp after setjmp)
 * while its getppid handler runs for a child on the child's thread and calls fork and
 * setjmp there. The handler's calls must be refused (ENOSYS) every time: a rewind in
 * progress on the grate's thread is not theirs to finish (they once took the result
 * meant for it, and fork "succeeded" in a handler). Prints how the handler's calls were
 * answered, then the child's status. */
#include <errno.h>
#include <lind_syscall.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CALLS 3000

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr;
	return fn(cageid);
}

static jmp_buf handler_env;

/* 1: fork and setjmp refused (ENOSYS); 2: fork made a child; 3: fork said 0 (not
 * returned: the grate exits); 4: anything else. */
int getppid_handler(uint64_t cageid)
{
	errno = 0;
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p > 0)
		return 2;
	int refused = errno == ENOSYS;
	int jumped = setjmp(handler_env);   /* Lind's setjmp says a refusal as -ENOSYS */
	return refused && jumped == -ENOSYS ? 1 : 4;
}

int main(void)
{
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SYS_getppid, grate, (uint64_t)(uintptr_t)&getppid_handler);
		int count[5] = {0};
		for (int i = 0; i < CALLS; i++) {
			long r = syscall(SYS_getppid);
			count[r >= 1 && r <= 4 ? r : 4]++;
		}
		printf("handler: %d refused, %d forked, %d fork said 0, %d other\n", count[1],
		       count[2], count[3], count[4]);
		fflush(stdout);
		_exit(0);
	}
	static jmp_buf env;
	static volatile int rounds;
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (setjmp(env) == 0)
			rounds++;
	}
	printf("grate: child status %d\n", status);
	return 0;
}
