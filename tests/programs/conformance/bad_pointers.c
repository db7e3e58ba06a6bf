/* Pointers into the null page (a path, a buffer), which the kernel answers with EFAULT:
 * the call fails, the program goes on. In a cage the host once read the page for a
 * path and the cage ended with SIGSEGV instead. (Not a struct stat: musl fills it from
 * a copy of its own, so there the program faults, as it would natively with musl.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NULL_PAGE(offset) ((void *)(unsigned long)(offset))

static void show(const char *what, long r)
{
	printf("%s: %ld %s\n", what, r, r < 0 ? (errno == EFAULT ? "EFAULT" : "other") : "");
	errno = 0;
}

int main(void)
{
	struct stat st;
	int fd = open("file", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "data", 4) != 4 || lseek(fd, 0, SEEK_SET) != 0) {
		perror("file");
		return 1;
	}
	show("open", open(NULL_PAGE(8), O_RDONLY));
	show("openat", syscall(SYS_openat, AT_FDCWD, NULL_PAGE(4), O_RDONLY));
	show("open O_CREAT", open(NULL_PAGE(100), O_WRONLY | O_CREAT, 0644));
	show("stat", stat(NULL_PAGE(8), &st));
	show("lstat", lstat(NULL_PAGE(8), &st));
	show("access", access(NULL_PAGE(8), F_OK));
	show("mkdir", mkdir(NULL_PAGE(4), 0700));
	show("rmdir", rmdir(NULL_PAGE(8)));
	show("unlink", unlink(NULL_PAGE(8)));
	show("chdir", chdir(NULL_PAGE(8)));
	show("rename from", rename(NULL_PAGE(8), "other"));
	show("rename to", rename("file", NULL_PAGE(8)));
	show("symlink", symlink("file", NULL_PAGE(8)));
	show("readlink", readlink(NULL_PAGE(8), (char *)&st, sizeof st));
	show("read into", read(fd, NULL_PAGE(16), 4));
	show("read across its end", read(fd, NULL_PAGE(4090), 100));
	show("write from", write(fd, NULL_PAGE(16), 4));
	show("pipe into", pipe(NULL_PAGE(8)));
	char back[8] = {0};
	show("read after", read(fd, back, sizeof back));
	printf("file holds %s\n", back);
	show("unlink after", unlink("file"));
	return 0;
}
