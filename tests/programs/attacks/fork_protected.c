/* A fork of a large memory with one page mprotect protected: the copy of the parent's
 * memory used to hold Python's lock throughout (its protected ranges must not change
 * during it), so every other cage's system calls waited for the whole copy.
 *   fork_protected MIB FORKS
 * Fills MIB MiB, protects one page, forks FORKS times (each child exits at once);
 * prints "fork START END" (CLOCK_MONOTONIC, ns) around each fork in the parent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
	int forks = argc > 2 ? atoi(argv[2]) : 3;
	char *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(p, 1, mib << 20);
	if (mprotect(p, 4096, PROT_NONE) != 0) {
		perror("mprotect");
		return 1;
	}
	for (int i = 0; i < forks; i++) {
		long long start = now_ns();
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		long long end = now_ns();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		printf("fork %lld %lld\n", start, end);
		fflush(stdout);
		waitpid(pid, NULL, 0);
	}
	return 0;
}
