/* What a cage can learn about the host, and a hostile mremap length. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif

int main(void)
{
	struct utsname u;
	uname(&u);
	printf("nodename %s\nrelease %s\n", u.nodename, u.release);
	printf("ids %d %d %d %d\n", getuid(), geteuid(), getgid(), getegid());
	int fd = open("/mine.txt", O_CREAT | O_WRONLY, 0644);
	struct stat st;
	fstat(fd, &st);
	printf("file_uid %d\n", (int)st.st_uid);
	char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	errno = 0;
	long r = syscall(SYS_mremap, p, (long)-4096, 8192, MREMAP_MAYMOVE);
	printf("mremap %ld %d\n", r, r == -1 ? errno : 0);
	return 0;
}
