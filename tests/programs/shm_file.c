/* File-backed MAP_SHARED across fork: writes reach the file (msync, munmap, exit),
 * other cages see them through read() and through their own mappings of the file;
 * MAP_PRIVATE file mappings stay copies; mremap grows and moves a shared one.
 * Leaves shm_file.data for the caller. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH "shm_file.data"
#define SIZE 8192

static void reap(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("child failed (status %#x)\n", status);
		exit(1);
	}
}

static void show(int fd, off_t at, const char *what)
{
	char buf[32] = {0};
	if (pread(fd, buf, sizeof buf - 1, at) < 0)
		perror("pread");
	printf("%s: read() at %ld gives \"%s\"\n", what, (long)at, buf);
}

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);
	int fd = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char zeros[SIZE] = {0};
	if (fd < 0 || write(fd, zeros, SIZE) != SIZE) {
		perror("create");
		return 1;
	}
	pwrite(fd, "original", 8, 0);
	char *map = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *copy = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED || copy == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("mapped: \"%s\" / private \"%s\"\n", map, copy);

	strcpy(copy, "private write");
	pid_t child = fork();
	if (child == 0) {
		printf("child: shared \"%s\", private \"%s\"\n", map, copy);
		strcpy(map + 100, "child, msync");
		msync(map, SIZE, MS_SYNC);
		strcpy(map + 200, "child, at exit");
		strcpy(copy + 300, "child private");
		_exit(0);
	}
	reap(child);
	printf("parent's mapping: \"%s\" / \"%s\" / private \"%s\"\n", map + 100, map + 200, copy);
	show(fd, 100, "after msync");
	show(fd, 200, "after child's exit");
	show(fd, 0, "private write kept out of the file");

	/* through a read-only fd: shared with children, not writable */
	int ro = open(PATH, O_RDONLY);
	errno = 0;
	void *denied = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
	printf("PROT_WRITE through a read-only fd: %s\n",
	       denied == MAP_FAILED && errno == EACCES ? "EACCES" : "allowed");
	char *view = mmap(0, 4096, PROT_READ, MAP_SHARED, ro, 0);
	close(ro);
	child = fork();
	if (child == 0) {
		printf("child's read-only view: \"%s\"\n", view + 100);
		_exit(0);
	}
	reap(child);
	munmap(view, 4096);
	errno = 0;
	int r = msync(view, 4096, MS_SYNC);
	printf("msync of an unmapped page: %d %s\n", r, errno == ENOMEM ? "ENOMEM" : "other");
	errno = 0;
	r = msync(map, 4096, MS_SYNC | MS_ASYNC);
	printf("msync, both MS_SYNC and MS_ASYNC: %d %s\n", r, errno == EINVAL ? "EINVAL" : "other");

	/* a second, independent mapping of the file in another cage */
	child = fork();
	if (child == 0) {
		int own = open(PATH, O_RDWR);
		char *other = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, own, 4096);
		if (other == MAP_FAILED) {
			perror("child mmap");
			_exit(1);
		}
		strcpy(other + 10, "child's own mapping");
		munmap(other, 4096);
		close(own);
		_exit(0);
	}
	reap(child);
	printf("parent's mapping of page 1: \"%s\"\n", map + 4096 + 10);
	show(fd, 4096 + 10, "after child's munmap");

	/* write() by another cage to other bytes of a page the mapping changed survives */
	child = fork();
	if (child == 0) {
		pwrite(fd, "by write()", 10, 500);
		_exit(0);
	}
	reap(child);
	strcpy(map + 600, "by the mapping");
	munmap(map, SIZE);
	show(fd, 500, "write() elsewhere in the page");
	show(fd, 600, "after parent's munmap");

	/* mremap grows a shared file mapping over more of the file, in place or moved */
	char *small = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *grown = mremap(small, 4096, 8192, MREMAP_MAYMOVE);
	if (grown == MAP_FAILED) {
		perror("mremap");
		return 1;
	}
	printf("grown mapping, page 1: \"%s\"\n", grown + 4096 + 10);
	strcpy(grown + 4096 + 50, "through mremap");
	mmap(grown + 8192, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	char *moved = mremap(grown, 8192, 3 * 4096, MREMAP_MAYMOVE);
	if (moved == MAP_FAILED) {
		perror("mremap");
		return 1;
	}
	child = fork();
	if (child == 0) {
		strcpy(moved + 4096 + 70, "child, moved mapping");
		_exit(0);
	}
	reap(child);
	printf("moved mapping: \"%s\" / \"%s\"\n", moved + 4096 + 50, moved + 4096 + 70);
	munmap(moved, 3 * 4096);
	show(fd, 4096 + 50, "after mremap");
	show(fd, 4096 + 70, "after child wrote to the moved mapping");

	/* the mapping goes with the parent's exit: the caller checks the file */
	map = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	strcpy(map + 1000, "written just before exit");
	return 0;
}
