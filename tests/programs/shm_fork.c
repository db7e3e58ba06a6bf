/* MAP_SHARED anonymous memory across fork: children and grandchildren see the
 * parent's writes and the parent theirs; MAP_PRIVATE stays a copy; munmap or
 * exec in a child leaves the parent's mapping alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (3 * 4096)

static void reap(pid_t pid, const char *what)
{
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("%s: child failed (status %#x)\n", what, status);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IONBF, 0);
	if (argc > 1 && !strcmp(argv[1], "exec-check")) {
		printf("exec: new program runs with argument %s\n", argv[2]);
		return 0;
	}
	char *shared = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *private = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || private == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	strcpy(shared, "from parent");
	strcpy(private, "parent private");

	pid_t child = fork();
	if (child == 0) {
		printf("child sees: %s / %s\n", shared, private);
		strcpy(shared + 100, "from child");
		strcpy(private, "child private");
		pid_t grandchild = fork();
		if (grandchild == 0) {
			printf("grandchild sees: %s / %s\n", shared, shared + 100);
			strcpy(shared + 4096, "from grandchild");
			_exit(0);
		}
		reap(grandchild, "grandchild");
		printf("child sees grandchild: %s\n", shared + 4096);
		_exit(0);
	}
	reap(child, "child");
	printf("parent sees: %s / %s / %s\n", shared + 100, shared + 4096, private);

	/* munmap in a child, of the middle page, then of everything */
	child = fork();
	if (child == 0) {
		munmap(shared + 4096, 4096);
		strcpy(shared + 8192, "after child munmap");
		munmap(shared, SIZE);
		char *again = mmap(shared, SIZE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		strcpy(again, "child's new private page");
		_exit(again == shared ? 0 : 1);
	}
	reap(child, "munmap child");
	printf("parent after child munmap: %s / %s / %s\n", shared, shared + 4096, shared + 8192);

	/* exec in a child drops its mapping; the parent's stays and is still shared */
	child = fork();
	if (child == 0) {
		strcpy(shared + 200, "written before exec");
		execl(argv[0], argv[0], "exec-check", "42", (char *)0);
		_exit(127);
	}
	reap(child, "exec child");
	child = fork();
	if (child == 0) {
		strcpy(shared + 300, "later child");
		_exit(0);
	}
	reap(child, "later child");
	printf("parent after exec: %s / %s\n", shared + 200, shared + 300);

	/* the parent's own munmap of part of the region leaves the rest shared */
	munmap(shared, 4096);
	child = fork();
	if (child == 0) {
		strcpy(shared + 4096, "after parent munmap");
		_exit(0);
	}
	reap(child, "last child");
	printf("parent's remaining pages: %s\n", shared + 4096);
	return 0;
}
