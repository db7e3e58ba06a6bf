/* A file created 0444 (or 0000) by an open for reading and writing stays readable and
 * writable through that fd, whatever its mode says afterwards: a shared writable
 * mapping of it, and read and write locks through it, work for a user other than root
 * as they do on Linux (Lind reopens the fd for them). See test_syscalls: both runs are
 * a user other than root. Prints errno numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%-32s %ld %d\n", what, r < 0 ? -1L : 0L, r < 0 ? errno : 0);
}

static void try_file(const char *name, mode_t mode)
{
	char what[64];
	int fd = open(name, O_CREAT | O_RDWR | O_EXCL, mode);
	snprintf(what, sizeof what, "create %s %04o O_RDWR", name, (unsigned)mode);
	say(what, fd);
	if (fd < 0)
		return;
	say("write", write(fd, "abcd", 4) == 4 ? 0 : -1);
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	say("mmap shared, writable", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED) {
		p[0] = 'X';
		say("msync", msync(p, 4096, MS_SYNC));
		munmap(p, 4096);
	}
	char c = 0;
	say("pread sees the mapping's write", pread(fd, &c, 1, 0) == 1 && c == 'X' ? 0 : -1);
	struct flock lock = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	say("F_SETLK read lock", fcntl(fd, F_SETLK, &lock));
	lock.l_type = F_WRLCK;
	lock.l_start = 1;
	say("F_SETLK write lock", fcntl(fd, F_SETLK, &lock));
	struct flock ofd = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 1};
	say("F_OFD_SETLK write lock", fcntl(fd, F_OFD_SETLK, &ofd));
	close(fd);
	say("unlink", unlink(name));
}

int main(void)
{
	try_file("ro", 0444);
	try_file("none", 0);
	return 0;
}
