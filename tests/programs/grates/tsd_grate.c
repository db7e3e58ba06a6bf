/* A grate whose geteuid handler keeps thread-specific data (pthread_setspecific): a
 * handler runs in a worker with data of its own, neither the grate thread's nor
 * missing (it dereferenced a null pointer). The answer is 10 when all is well; the
 * grate's own value must be what it set, and its thread has data for a key another
 * thread made (a grate is threaded from its start: its thread's data came with the
 * first pthread_create, and was a null pointer then). */
#include <lind_syscall.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_key_t key, made_elsewhere;

static void *make_key(void *unused)
{
	pthread_key_create(&made_elsewhere, 0);
	return unused;
}
#define GRATES_OWN ((void *)1)

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr;
	return fn(cageid);
}

int geteuid_handler(uint64_t cageid)
{
	if (pthread_getspecific(key) == GRATES_OWN)
		return 13;
	void *mine = (void *)(uintptr_t)(cageid + 100);
	pthread_setspecific(key, mine);
	return pthread_getspecific(key) == mine ? 10 : 12;
}

int main(int argc, char *argv[])
{
	pthread_t maker;
	pthread_create(&maker, 0, make_key, 0);
	pthread_join(maker, 0);
	pthread_setspecific(made_elsewhere, (void *)7);
	printf("a key another thread made: %d\n", (int)(intptr_t)pthread_getspecific(made_elsewhere));
	fflush(stdout);                 /* before the child's output, as before a fork */
	pthread_key_create(&key, 0);
	pthread_setspecific(key, GRATES_OWN);
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SYS_geteuid, grate, (uint64_t)(uintptr_t)&geteuid_handler);
		execv(argv[1], &argv[1]);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("grate's own: %s\n", pthread_getspecific(key) == GRATES_OWN ? "kept" : "changed");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
