/* Paths at their limits and other path cases found thinly tested by the mutation
 * run of sys_files.py: names of 4095 and 4096 bytes given to stat, fstatat, symlink
 * (as the target) and mkdir; NULL paths (EFAULT); O_CREAT through a dangling
 * relative symlink in a subdirectory (the file is made beside the link) and through
 * one ending in '/'; a directory read, rewound and read again; lseek of a directory
 * to a negative offset; pipe2 flags. Prints errno numbers. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s: %ld %d\n", what, r < 0 ? -1 : r, r < 0 ? errno : 0);
	errno = 0;
}

/* A relative path of `n` bytes: "d/d/d/.../x" with components well under NAME_MAX. */
static char *path_of(size_t n)
{
	static char p[8192];
	for (size_t i = 0; i < n; i++)
		p[i] = i % 2 ? '/' : 'd';
	p[n - 1] = 'x';
	p[n] = 0;
	return p;
}

static int count_entries(DIR *d)
{
	int n = 0;
	while (readdir(d))
		n++;
	return n;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct stat st;
	say("stat 4095 bytes", stat(path_of(4095), &st));
	say("stat 4096 bytes", stat(path_of(4096), &st));
	say("fstatat 4095 bytes", fstatat(AT_FDCWD, path_of(4095), &st, 0));
	say("fstatat 4096 bytes", fstatat(AT_FDCWD, path_of(4096), &st, 0));
	say("mkdir 4096 bytes", mkdir(path_of(4096), 0755));
	say("symlink to 4095 bytes", symlink(path_of(4095), "long-link"));
	char back[8192];
	long n = readlink("long-link", back, sizeof back);
	printf("  readlink gives %ld bytes\n", n);
	say("symlink to 4096 bytes", symlink(path_of(4096), "longer-link"));
	say("open NULL", syscall(SYS_open, NULL, O_RDONLY));
	say("stat NULL", syscall(SYS_newfstatat, AT_FDCWD, NULL, &st, 0));
	say("fstatat NULL with AT_EMPTY_PATH", syscall(SYS_newfstatat, AT_FDCWD, NULL, &st,
	                                               AT_EMPTY_PATH));
	say("fstatat \"\" without AT_EMPTY_PATH", fstatat(AT_FDCWD, "", &st, 0));
	say("fstatat \"\" AT_EMPTY_PATH on the cwd", fstatat(AT_FDCWD, "", &st, AT_EMPTY_PATH));
	printf("  a directory %d\n", S_ISDIR(st.st_mode));

	mkdir("sub", 0755);
	symlink("made", "sub/link");
	int fd = open("sub/link", O_CREAT | O_WRONLY, 0644);
	say("O_CREAT through sub/link -> made", fd);
	close(fd);
	printf("  sub/made exists %d, made exists %d\n", access("sub/made", F_OK) == 0,
	       access("made", F_OK) == 0);
	symlink("newdir/", "sub/dirlink");
	say("O_CREAT through a link to newdir/", open("sub/dirlink", O_CREAT | O_WRONLY, 0644));

	for (int i = 0; i < 5; i++) {
		char name[32];
		snprintf(name, sizeof name, "sub/f%d", i);
		close(open(name, O_CREAT | O_WRONLY, 0644));
	}
	DIR *d = opendir("sub");
	int first = count_entries(d);
	rewinddir(d);
	int again = count_entries(d);
	printf("entries %d, after rewinddir %d\n", first, again);
	rewinddir(d);
	readdir(d);
	long at = telldir(d);
	int rest = count_entries(d);
	seekdir(d, at);
	printf("after seekdir back: %d of %d again\n", count_entries(d), rest);
	say("lseek a directory to -1", lseek(dirfd(d), -1, SEEK_SET));
	closedir(d);

	int p[2];
	say("pipe2 O_NONBLOCK|O_CLOEXEC", pipe2(p, O_NONBLOCK | O_CLOEXEC));
	printf("  read end flags %o, write end flags %o, cloexec %d\n",
	       fcntl(p[0], F_GETFL) & ~O_LARGEFILE, fcntl(p[1], F_GETFL) & ~O_LARGEFILE,
	       fcntl(p[0], F_GETFD));
	close(p[0]);
	close(p[1]);
	say("pipe2 O_TRUNC", pipe2(p, O_TRUNC));
	return 0;
}
