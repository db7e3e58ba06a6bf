/* A grate whose handler reads a page it made PROT_NONE before it served: its handlers
 * run in worker instances that map its memory without the protections, so its
 * protections end when it first serves (README), and the handler reads the page. After
 * serving, its mprotect changes nothing: a store to a page it made read-only works. */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static volatile char *pages;

long long pass_fptr_to_wt(uint64_t fn_ptr_uint, uint64_t cageid, uint64_t arg1,
                          uint64_t arg1cage, uint64_t arg2, uint64_t arg2cage,
                          uint64_t arg3, uint64_t arg3cage, uint64_t arg4,
                          uint64_t arg4cage, uint64_t arg5, uint64_t arg5cage,
                          uint64_t arg6, uint64_t arg6cage)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr_uint;
	return fn(cageid);
}

int geteuid_grate(uint64_t cageid)
{
	return pages[0] + pages[PAGE];
}

int main(int argc, char *argv[])
{
	if (argc < 2)
		return 2;
	pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pages[0] = 4;
	pages[PAGE] = 6;
	mprotect((void *)(pages + PAGE), PAGE, PROT_NONE);
	int grateid = getpid();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t fn = (uint64_t)(uintptr_t)&geteuid_grate;
		if (register_handler(getpid(), 107, grateid, fn) != 0) {
			perror("register_handler");
			return 1;
		}
		execv(argv[1], &argv[1]);
		perror("execv");
		return 127;
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	mprotect((void *)pages, PAGE, PROT_READ);
	pages[0] = 7;
	printf("grate after serving: %d %d\n", pages[0], pages[PAGE]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
