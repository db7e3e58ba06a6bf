/* Files a run leaves for the next one, a read-only mount, and a small tree filled up.
 *   write     make /data/note.txt (0600) and /data/link -> note.txt
 *   oddtimes  as write, then date note.txt 1970 and the link 2103 (outside a zip's dates)
 *   check     print what "write" left, and /kept.txt if there
 *   readonly  try to change /ro/file.txt (a read-only mount) and read it
 *   fill      fill /small (a 1 MiB imfs) every way a file grows
 *   cwd       print the working directory and the first line of ./seed.txt */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1L : r, r < 0 ? errno : 0);
}

static int write_state(void)
{
	if (mkdir("/data", 0755) != 0)
		return 1;
	int fd = open("/data/note.txt", O_CREAT | O_WRONLY | O_EXCL, 0600);
	if (fd < 0 || write(fd, "note: saved\n", 12) != 12 || close(fd) != 0)
		return 2;
	return symlink("note.txt", "/data/link") != 0 ? 3 : 0;
}

static int check_state(void)
{
	struct stat st;
	char buf[64] = {0};
	if (stat("/data/link", &st) != 0)
		return 1;
	int fd = open("/data/note.txt", O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof buf - 1) < 0)
		return 2;
	close(fd);
	printf("note.txt %o %ld %s", st.st_mode & 07777, (long)st.st_size, buf);
	ssize_t n = readlink("/data/link", buf, sizeof buf - 1);
	buf[n < 0 ? 0 : n] = 0;
	printf("link -> %s\n", buf);
	fd = open("/kept.txt", O_RDONLY);
	if (fd >= 0) {
		memset(buf, 0, sizeof buf);
		read(fd, buf, sizeof buf - 1);
		printf("kept.txt %s", buf);
	}
	return 0;
}

static int read_only(void)
{
	char buf[64] = {0};
	say("write", open("/ro/file.txt", O_WRONLY));
	say("create", open("/ro/new.txt", O_CREAT | O_WRONLY, 0644));
	say("unlink", unlink("/ro/file.txt"));
	say("chmod", chmod("/ro/file.txt", 0777));
	symlink("/ro/file.txt", "/tmp/into_ro");
	say("via link", open("/tmp/into_ro", O_RDWR | O_TRUNC));
	int fd = open("/ro/file.txt", O_RDONLY);
	read(fd, buf, sizeof buf - 1);
	printf("read %d %s", fd < 0 ? -1 : 0, buf);
	return 0;
}

static int fill(void)
{
	static char chunk[4096];
	memset(chunk, 'z', sizeof chunk);
	int other = open("/small/far", O_CREAT | O_RDWR, 0644);
	int fd = open("/small/big", O_CREAT | O_RDWR, 0644);
	long total = 0, r;
	while ((r = write(fd, chunk, sizeof chunk)) > 0)
		total += r;
	printf("big_write %ld %d after %ld\n", r, r < 0 ? errno : 0, total);
	r = pwrite(other, "x", 1, (off_t)1 << 40);
	printf("far_pwrite %ld %d\n", r, r < 0 ? errno : 0);
	r = ftruncate(other, (off_t)1 << 36);
	printf("ftruncate %ld %d\n", r, r < 0 ? errno : 0);
	r = fallocate(other, 0, 0, (off_t)1 << 30);
	printf("fallocate %ld %d\n", r, r < 0 ? errno : 0);
	close(fd);
	unlink("/small/big");
	r = write(other, chunk, sizeof chunk);
	printf("after_unlink %ld\n", r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 100;
	if (!strcmp(argv[1], "write"))
		return write_state();
	if (!strcmp(argv[1], "oddtimes")) {
		struct timespec epoch[2] = {{0, 0}, {0, 0}}, late[2] = {{4200000000LL, 0}, {4200000000LL, 0}};
		int r = write_state();
		if (r)
			return r;
		if (utimensat(AT_FDCWD, "/data/note.txt", epoch, 0) != 0 ||
		    utimensat(AT_FDCWD, "/data/link", late, AT_SYMLINK_NOFOLLOW) != 0)
			return 4;
		return 0;
	}
	if (!strcmp(argv[1], "check"))
		return check_state();
	if (!strcmp(argv[1], "readonly"))
		return read_only();
	if (!strcmp(argv[1], "fill"))
		return fill();
	if (!strcmp(argv[1], "cwd")) {
		char dir[256], line[64] = {0};
		FILE *f = fopen("seed.txt", "r");
		if (!getcwd(dir, sizeof dir) || !f || !fgets(line, sizeof line, f))
			return 1;
		printf("%s %s", dir, line);
		return 0;
	}
	return 100;
}
