/* Fills the Lind process's table of host mappings (vm.max_map_count, 65530 for the
 * whole process): each MAP_SHARED region of a cage is a host mapping in the process.
 * "cycle N": maps one page of a file MAP_SHARED into a private region and unmaps it, N
 * times, one page apart (each left a host mapping behind while the cage lived). "hold
 * PAGES KIDS": maps one page of a file PAGES times, splits an anonymous shared region
 * by unmapping every other page, then forks KIDS children (each maps its parent's
 * regions again). Prints "WHAT COUNT ERRNO" for each step, then "holding", and holds
 * everything argv[last] seconds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static void step(const char *what, int count, int failed)
{
	printf("%s %d %d\n", what, count, failed ? errno : 0);
}

static void hold(int seconds)
{
	printf("holding\n");
	fflush(stdout);
	sleep(seconds);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 100;
	int fd = open("/file", O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, PAGE))
		return 101;
	if (!strcmp(argv[1], "cycle")) {
		int n = atoi(argv[2]), i;
		char *room = mmap(0, (size_t)n * 2 * PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (room == MAP_FAILED)
			return 102;
		for (i = 0; i < n; i++)
			room[(size_t)i * 2 * PAGE] = 1;
		int failed = 0;
		for (i = 0; i < n && !failed; i++) {
			char *at = room + (size_t)i * 2 * PAGE;
			failed = mmap(at, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED
				 || munmap(at, PAGE) != 0;
		}
		step("cycled", i - failed, failed);
		hold(atoi(argv[3]));
		return 0;
	}
	int pages = atoi(argv[2]), kids = atoi(argv[3]), i;
	for (i = 0; i < pages; i++)
		if (mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED)
			break;
	step("mapped", i, i < pages);
	char *region = mmap(0, (size_t)pages * 2 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (i = 0; region != MAP_FAILED && i < pages; i++)
		if (munmap(region + (size_t)i * 2 * PAGE, PAGE) != 0)
			break;
	step("split", i, region == MAP_FAILED || i < pages);
	int seconds = atoi(argv[4 < argc ? 4 : 3]);
	for (i = 0; i < kids; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			sleep(seconds);
			_exit(0);
		}
		if (pid < 0)
			break;
	}
	step("forked", i, i < kids);
	hold(seconds);
	while (wait(0) > 0)
		;
	return 0;
}
