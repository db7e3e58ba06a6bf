/* A grate that holds a recursive mutex and stdout's lock on its own thread while its
 * geteuid handler tries to take both: a handler's worker is another thread, so both
 * are busy for it (10). Locks that know their owner by thread id took the worker for
 * the grate's thread, whose id its calls share: the handler "took" them (11). */
#include <errno.h>
#include <lind_syscall.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t held;

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr;
	return fn(cageid);
}

int geteuid_handler(uint64_t cageid)
{
	int r = pthread_mutex_trylock(&held);
	if (r == 0) {
		pthread_mutex_unlock(&held);
		return 11;
	}
	if (ftrylockfile(stdout) == 0) {
		funlockfile(stdout);
		return 11;
	}
	return r == EBUSY ? 10 : 12;
}

int main(int argc, char *argv[])
{
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&held, &attr);
	pthread_mutex_lock(&held);
	flockfile(stdout);
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SYS_geteuid, grate, (uint64_t)(uintptr_t)&geteuid_handler);
		execv(argv[1], &argv[1]);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	funlockfile(stdout);
	pthread_mutex_unlock(&held);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
