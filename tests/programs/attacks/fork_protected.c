/* A fork of a large memory with one page mprotect protected. The copy of the parent's
 * memory held Python's lock throughout (its protected ranges must not change during
 * it), so every other cage's system calls waited for the whole copy (1.6 s a fork of
 * 768 MiB); it goes in pieces now, the lock let go between them.
 *   fork_protected MIB FORKS
 * Fills MIB MiB, protects its first page and forks FORKS times: each child checks
 * its copy (every byte past the protected page as the parent wrote it; the page
 * itself still PROT_NONE is the fault handler's to say) and exits 0 if it is intact.
 * Prints "fork N intact" or "fork N damaged" for each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	int forks = argc > 2 ? atoi(argv[2]) : 2;
	size_t len = mib << 20;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 7 + i / 4096);
	if (mprotect(p, 4096, PROT_NONE) != 0) {
		perror("mprotect");
		return 1;
	}
	for (int n = 0; n < forks; n++) {
		pid_t pid = fork();
		if (pid == 0) {
			for (size_t i = 4096; i < len; i++)
				if (p[i] != (unsigned char)(i * 7 + i / 4096))
					_exit(1);
			_exit(0);
		}
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		int status;
		waitpid(pid, &status, 0);
		printf("fork %d %s\n", n, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "intact"
									       : "damaged");
	}
	return 0;
}
