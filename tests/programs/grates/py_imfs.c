/* A file-system workout in the directory argv[1], printing only what must not
 * depend on the file system underneath: run natively on a real directory and in a
 * cage on an in-memory one, the outputs must be equal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("FAILED %s: errno %d\n", what, errno);
		exit(1);
	}
}

static void show_file(const char *name)
{
	char buf[256];
	int fd = open(name, O_RDONLY);
	check(fd >= 0, name);
	ssize_t n = read(fd, buf, sizeof buf);
	printf("%s = \"%.*s\"\n", name, (int)n, buf);
	close(fd);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	check(fd >= 0, "open dir");
	struct stat st;
	check(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode), "fstat dir");
	DIR *d = fdopendir(fd);
	check(d != NULL, "fdopendir");
	char *names[300];
	int n = 0, rounds = 0;
	struct dirent *e;
	/* Read part of it, rewind, read it all: the second pass must see everything. */
	for (int i = 0; i < 3 && readdir(d); i++)
		;
	rewinddir(d);
	while ((e = readdir(d)) && n < 300) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
		rounds++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	printf("%s: %d entries (%d with . and ..):", dir, n, rounds);
	for (int i = 0; i < n && i < 8; i++)
		printf(" %s", names[i]);
	printf("%s\n", n > 8 ? " ..." : "");
	for (int i = 0; i < n; i++)
		free(names[i]);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	check(argc == 2 && chdir(argv[1]) == 0, "chdir to the directory");

	/* Offsets: shared by dup and by fork, private to each open. */
	int fd = open("shared", O_RDWR | O_CREAT | O_TRUNC, 0640);
	check(fd >= 0, "create shared");
	check(write(fd, "parent|", 7) == 7, "write");
	pid_t pid = fork();
	if (pid == 0) {
		check(write(fd, "child|", 6) == 6, "child write");
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	int copy = dup(fd);
	check(write(copy, "dup|", 4) == 4, "dup write");
	printf("offset after parent, child and dup: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
	int other = open("shared", O_RDONLY);
	char buf[64];
	ssize_t n = read(other, buf, 6);
	printf("a second open starts at 0: \"%.*s\"\n", (int)n, buf);
	n = pread(fd, buf, 5, 7);
	printf("pread at 7: \"%.*s\"\n", (int)n, buf);
	check(pwrite(fd, "P", 1, 0) == 1, "pwrite");
	close(fd);
	close(copy);
	close(other);
	show_file("shared");

	/* O_APPEND, O_EXCL, O_TRUNC, lseek past the end. */
	fd = open("log", O_WRONLY | O_CREAT | O_APPEND, 0600);
	check(write(fd, "one\n", 4) == 4, "append");
	lseek(fd, 0, SEEK_SET);
	check(write(fd, "two\n", 4) == 4, "append after seek");
	close(fd);
	show_file("log");
	printf("O_EXCL on an existing file: %s\n",
	       open("log", O_WRONLY | O_CREAT | O_EXCL, 0600) < 0 && errno == EEXIST ? "EEXIST" : "?");
	fd = open("log", O_RDWR | O_TRUNC);
	check(lseek(fd, 10, SEEK_SET) == 10 && write(fd, "x", 1) == 1, "write past the end");
	struct stat st;
	check(fstat(fd, &st) == 0, "fstat");
	printf("sparse file: size %lld mode %o links %d\n", (long long)st.st_size,
	       (unsigned)(st.st_mode & 0777), (int)st.st_nlink);
	close(fd);

	/* A bigger file, in odd-sized pieces. */
	fd = open("big", O_WRONLY | O_CREAT, 0644);
	static char block[70000];
	for (int i = 0; i < (int)sizeof block; i++)
		block[i] = (char)(i * 7);
	for (int i = 0; i < 5; i++)
		check(write(fd, block, sizeof block) == sizeof block, "big write");
	close(fd);
	check(stat("big", &st) == 0, "stat big");
	fd = open("big", O_RDONLY);
	lseek(fd, -3, SEEK_END);
	n = read(fd, buf, 10);
	printf("big: %lld bytes, last %zd: %d %d %d\n", (long long)st.st_size, n, buf[0], buf[1], buf[2]);
	close(fd);

	/* Directories: many entries, rename across them, hard links, removal. */
	check(mkdir("many", 0755) == 0, "mkdir many");
	for (int i = 0; i < 150; i++) {
		char name[64];
		snprintf(name, sizeof name, "many/entry-with-a-long-name-%03d", i);
		fd = open(name, O_WRONLY | O_CREAT, 0644);
		check(fd >= 0, name);
		close(fd);
	}
	list("many");
	check(mkdir("many/sub", 0700) == 0, "mkdir sub");
	check(rename("log", "many/sub/log") == 0, "rename into sub");
	check(link("many/sub/log", "hardlink") == 0, "link");
	check(stat("hardlink", &st) == 0, "stat link");
	printf("hard link: size %lld links %d\n", (long long)st.st_size, (int)st.st_nlink);
	printf("rmdir of a full directory: %s\n", rmdir("many") < 0 && errno == ENOTEMPTY ? "ENOTEMPTY" : "?");
	printf("unlink of a directory: %s\n", unlink("many/sub") < 0 && errno == EISDIR ? "EISDIR" : "?");
	printf("open of a missing file: %s\n", open("nope/x", O_RDONLY) < 0 && errno == ENOENT ? "ENOENT" : "?");
	printf("a file as a directory: %s\n", open("big/x", O_RDONLY) < 0 && errno == ENOTDIR ? "ENOTDIR" : "?");
	printf("writing a directory: %s\n", open("many", O_WRONLY) < 0 && errno == EISDIR ? "EISDIR" : "?");
	check(rename("many/sub", "moved") == 0, "rename a directory");
	check(chdir("moved") == 0, "chdir into it");
	show_file("log");
	check(chdir("..") == 0, "chdir back");
	check(unlink("moved/log") == 0 && unlink("hardlink") == 0 && rmdir("moved") == 0, "cleanup");
	for (int i = 0; i < 150; i++) {
		char name[64];
		snprintf(name, sizeof name, "many/entry-with-a-long-name-%03d", i);
		check(unlink(name) == 0, name);
	}
	check(rmdir("many") == 0, "rmdir many");

	/* A file removed while open stays readable through its fd. */
	fd = open("shared", O_RDONLY);
	check(unlink("shared") == 0, "unlink open file");
	n = read(fd, buf, 7);
	printf("read after unlink: \"%.*s\"\n", (int)n, buf);
	close(fd);
	list(".");
	return 0;
}
