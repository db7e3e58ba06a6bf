/* A grate whose getppid handler calls exit(2) -- a thread's exit, not exit_group -- for
 * a child, on the child's thread. That thread is none of the grate's: the call was once
 * counted as the grate's first thread ending while that thread still ran on its own
 * (its tid word cleared, its signals dropped, the handler failed with "thread exit").
 * It ends the grate program, as exit_group would. With an argument the grate has a
 * second thread, so that it is not its last thread either way. */
#include <errno.h>
#include <lind_syscall.h>
#include <pthread.h>
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
	syscall(SYS_exit, 3);
	return 77;
}

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

int main(int argc, char **argv)
{
	int grate = getpid();
	if (argc > 1) {
		pthread_t thread;
		pthread_create(&thread, 0, idle, 0);
	}
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SYS_getppid, grate, (uint64_t)(uintptr_t)&getppid_handler);
		syscall(SYS_getppid);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("grate: went on after its handler's exit (child status %d)\n", status);
	return 0;
}
