/* fork, exec and setjmp/longjmp from a thread other than the first: the child has only
 * the calling thread (it forks again, execs itself, exits); wait from one thread reaps
 * children of the whole process. */
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *self_path;
static volatile int counter = 41;

static void *forks(void *arg)
{
	jmp_buf where;
	volatile int jumps = 0;
	if (setjmp(where) < 3) {
		jumps++;
		longjmp(where, jumps);
	}
	printf("thread: setjmp/longjmp %d times\n", jumps);
	pid_t child = fork();
	if (child == 0) {
		counter++;
		printf("child of a thread: counter %d\n", counter);
		pid_t grandchild = fork();
		if (grandchild == 0)
			_exit(6);
		int status;
		waitpid(grandchild, &status, 0);
		printf("grandchild exited %d\n", WEXITSTATUS(status));
		char *argv[] = {(char *)self_path, "exec'd", NULL};
		execv(self_path, argv);
		_exit(99);
	}
	return (void *)(long)child;
}

static void *reaps(void *arg)
{
	int status;
	pid_t pid = waitpid((pid_t)(long)arg, &status, 0);
	return (void *)(long)(pid == (pid_t)(long)arg ? WEXITSTATUS(status) : -1);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	self_path = argv[0];
	if (argc > 1) {
		printf("exec'd from a forked thread: %s\n", argv[1]);
		return 5;
	}
	pthread_t t, r;
	void *child, *status;
	pthread_create(&t, NULL, forks, NULL);
	pthread_join(t, &child);
	pthread_create(&r, NULL, reaps, child);   /* another thread reaps it */
	pthread_join(r, &status);
	printf("parent: counter %d, child exit status %ld\n", counter, (long)status);
	return 0;
}
