/* A grate whose first worker cannot be made: the grate has taken every byte its tree
 * may have (mmap until ENOMEM), so the worker's stack does not fit, and the program
 * under it (a fork of it) calls through it. Lind marked the grate dead for good on
 * that one failure: every later call through it answered ENOSYS, even once the grate
 * had let its memory go. A worker the host cannot make now is EAGAIN for that call
 * alone. Prints "first RESULT ERRNO" (the call made in the shortage) and "again RESULT
 * ERRNO" (made after the grate let go; the handler answers 42). */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNKS 8192

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cage, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	return 42;
}

static void show(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1 : r, r < 0 ? errno : 0);
}

static void *taken[CHUNKS];
static size_t sizes[CHUNKS];

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int grate_id = getpid(), go[2], back[2];
	char c = 0;
	if (pipe(go) || pipe(back))
		return 100;
	pid_t child = fork();
	if (child == 0) {
		register_handler(getpid(), SYS_getppid, grate_id, SYS_getppid);
		if (read(go[0], &c, 1) != 1)
			_exit(101);
		show("first", syscall(SYS_getppid));
		write(back[1], "t", 1);
		if (read(go[0], &c, 1) != 1)
			_exit(102);
		show("again", syscall(SYS_getppid));
		_exit(0);
	}
	int n = 0;      /* 1 MiB at a time, then 16 KiB: what is left is less than a stack */
	for (size_t size = 1 << 20; size >= 16384; size /= 64)
		while (n < CHUNKS && (taken[n] = mmap(NULL, size, PROT_READ | PROT_WRITE,
		                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) != MAP_FAILED)
			sizes[n++] = size;
	printf("took %s\n", n < CHUNKS && errno == ENOMEM ? "all" : "less");
	write(go[1], "1", 1);
	read(back[0], &c, 1);
	while (n > 0)
		n--, munmap(taken[n], sizes[n]);
	write(go[1], "2", 1);
	int status;
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
