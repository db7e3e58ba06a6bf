/* A grate whose geteuid handler allocates, fills, checks and frees blocks and counts
 * under a pthread mutex, while its own thread does the same until the program under
 * it ends: handlers of several cages run at once (each in a worker instance over the
 * grate's memory) beside the grate's thread, so the grate's libc must take its locks
 * (malloc's, the mutex's) as a threaded program's do. With `--forked` the grate is a
 * fork of the program that started, whose libc stopped locking at the fork.
 * Prints "intact" if no block was overwritten and no count was lost. */
#include <lind_syscall.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PER_CALL 100

static pthread_mutex_t counting = PTHREAD_MUTEX_INITIALIZER;
static long counted, handled, own;

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr;
	return fn(cageid);
}

/* 0 if every block still held what was written into it */
static int churn(unsigned seed, int rounds)
{
	unsigned char *blocks[8] = {0};
	size_t sizes[8] = {0};
	int bad = 0;
	for (int r = 0; r < rounds; r++) {
		int i = (seed = seed * 1103515245 + 12345) >> 16 & 7;
		if (blocks[i]) {
			for (size_t k = 0; k < sizes[i]; k++)
				bad |= blocks[i][k] != (unsigned char)(sizes[i] + i);
			free(blocks[i]);
		}
		sizes[i] = 16 + (seed >> 8) % 3000;
		blocks[i] = malloc(sizes[i]);
		if (!blocks[i])
			return 1;
		memset(blocks[i], (unsigned char)(sizes[i] + i), sizes[i]);
	}
	for (int i = 0; i < 8; i++)
		free(blocks[i]);
	return bad;
}

int geteuid_handler(uint64_t cageid)
{
	int bad = churn((unsigned)cageid * 7919u, 40);
	for (int i = 0; i < PER_CALL; i++) {
		pthread_mutex_lock(&counting);
		counted++;
		pthread_mutex_unlock(&counting);
	}
	pthread_mutex_lock(&counting);
	handled++;
	pthread_mutex_unlock(&counting);
	return bad ? 99 : 10;
}

static int serve(char **program)
{
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SYS_geteuid, grate, (uint64_t)(uintptr_t)&geteuid_handler);
		execv(program[0], program);
		_exit(127);
	}
	int status, bad = 0;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		bad |= churn(12345u + (unsigned)own, 200);
		pthread_mutex_lock(&counting);
		counted++;
		own++;
		pthread_mutex_unlock(&counting);
	}
	int lost = counted != own + PER_CALL * handled;
	printf("grate: %s (%ld calls)\n", bad ? "corrupted" : lost ? "counts lost" : "intact",
	       handled);
	if (!WIFEXITED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status) | bad | lost;
}

int main(int argc, char *argv[])
{
	if (argc > 2 && !strcmp(argv[1], "--forked")) {
		malloc(1);        /* the parent's libc locked once before the fork */
		pid_t pid = fork();
		if (pid == 0) {
			free(malloc(1));    /* the child's first lock: it stops locking after it */
			return serve(&argv[2]);
		}
		int status;
		waitpid(pid, &status, 0);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	return serve(&argv[1]);
}
