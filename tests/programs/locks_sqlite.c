/* SQLite's unix VFS locking protocol (os_unix.c), by hand: fcntl read and write
 * locks on the PENDING byte (0x40000000), the RESERVED byte after it, and the
 * 510-byte SHARED range after that.  A reader holds SHARED; the writer takes
 * RESERVED, then PENDING, fails to get EXCLUSIVE while the reader stays, and
 * a new reader is turned away by PENDING; once the reader lets go, EXCLUSIVE
 * is granted and the writer commits.  Output must match a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PENDING_BYTE 0x40000000LL
#define RESERVED_BYTE (PENDING_BYTE + 1)
#define SHARED_FIRST (PENDING_BYTE + 2)
#define SHARED_SIZE 510

static int up[2], down[2];

static void say(int fd) { if (write(fd, "x", 1) != 1) _exit(90); }
static void hear(int fd) { char c; if (read(fd, &c, 1) != 1) _exit(91); }

static int lk(int fd, short type, long long start, long long len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	return fcntl(fd, F_SETLK, &fl) < 0 ? errno : 0;
}

static const char *busy(int e) { return e == 0 ? "ok" : e == EAGAIN || e == EACCES ? "BUSY" : strerror(e); }

/* unixLock(SHARED_LOCK): a read lock on PENDING guards taking the shared range. */
static int shared_lock(int fd)
{
	int e = lk(fd, F_RDLCK, PENDING_BYTE, 1);
	if (e)
		return e;
	e = lk(fd, F_RDLCK, SHARED_FIRST, SHARED_SIZE);
	lk(fd, F_UNLCK, PENDING_BYTE, 1);
	return e;
}

static void show(const char *who, const char *what, int e)
{
	printf("%s %s: %s\n", who, what, busy(e));
	fflush(stdout);
}

int main(void)
{
	int fd = open("sqlite.db", O_RDWR | O_CREAT | O_TRUNC, 0644), status;
	char page[16] = "version 1";
	if (fd < 0 || pipe(up) || pipe(down) || pwrite(fd, page, sizeof page, 0) != sizeof page)
		return 1;
	fflush(stdout);
	pid_t reader = fork();
	if (reader == 0) {
		int rfd = open("sqlite.db", O_RDWR);
		show("reader", "SHARED", shared_lock(rfd));
		pread(rfd, page, sizeof page, 0);
		printf("reader sees: %s\n", page);
		fflush(stdout);
		say(up[1]);
		hear(down[0]);
		show("reader", "unlock", lk(rfd, F_UNLCK, 0, 0));
		say(up[1]);
		hear(down[0]);
		/* a later reader, after the commit */
		show("reader", "SHARED again", shared_lock(rfd));
		pread(rfd, page, sizeof page, 0);
		printf("reader sees: %s\n", page);
		fflush(stdout);
		_exit(0);
	}
	hear(up[0]);
	show("writer", "SHARED", shared_lock(fd));
	show("writer", "RESERVED", lk(fd, F_WRLCK, RESERVED_BYTE, 1));
	show("writer", "PENDING", lk(fd, F_WRLCK, PENDING_BYTE, 1));
	show("writer", "EXCLUSIVE", lk(fd, F_WRLCK, SHARED_FIRST, SHARED_SIZE));
	fflush(stdout);
	pid_t late = fork();
	if (late == 0) {
		int lfd = open("sqlite.db", O_RDWR);
		show("new reader", "SHARED", shared_lock(lfd));
		show("new reader", "RESERVED", lk(lfd, F_WRLCK, RESERVED_BYTE, 1));
		_exit(0);
	}
	waitpid(late, &status, 0);
	say(down[1]);
	hear(up[0]);
	show("writer", "EXCLUSIVE", lk(fd, F_WRLCK, SHARED_FIRST, SHARED_SIZE));
	strcpy(page, "version 2");
	pwrite(fd, page, sizeof page, 0);
	/* unixUnlock to NO_LOCK */
	show("writer", "unlock", lk(fd, F_UNLCK, PENDING_BYTE, 2 + SHARED_SIZE));
	say(down[1]);
	waitpid(reader, &status, 0);
	printf("reader status %d\n", WEXITSTATUS(status));
	unlink("sqlite.db");
	return 0;
}
