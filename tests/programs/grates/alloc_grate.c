/* A grate whose handler allocates (and frees) a large block on every call: the
 * grate's memory grows while a worker runs the handler, which must see it. */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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
	static int round;
	size_t size = (size_t)(8 + round++) << 20;
	unsigned char *block = malloc(size);
	if (!block)
		return -12;
	memset(block, 1, size);
	long sum = 0;
	for (size_t i = 0; i < size; i += 4096)
		sum += block[i];
	free(block);
	return (int)(sum / 256);   /* 8 MiB: 2048 pages -> 8, then 9, 10, ... */
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
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
