/* One side of a lock contest on shared.dat with another program: a native
 * process, or another cage of the same runtime.  The test sequences the two
 * through two FIFOs in the working directory, sync (this program writes a
 * line when it reaches a point) and go (it reads a byte to go on).
 *
 *   hold:    a POSIX write lock on bytes 0..9, an OFD read lock on 100..109
 *            and a flock(LOCK_EX) on another description; "held" to sync;
 *            keeps them until a byte comes on go.
 *   contend: meets such locks held by the other side: F_GETLK's answer,
 *            F_SETLK, F_OFD_*, flock(LOCK_NB); "blocking" to sync; then
 *            F_SETLKW and flock(LOCK_EX) wait until the other side lets go. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void line(const char *text)
{
	int fd = open("sync", O_WRONLY);
	if (fd < 0 || write(fd, text, strlen(text)) < 0) {
		perror("sync");
		_exit(1);
	}
	close(fd);
}

static int lk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	return fcntl(fd, cmd, &fl) < 0 ? -errno : 0;
}

static void probe(const char *what, int fd, int cmd, short type, off_t start)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = 1 };
	if (fcntl(fd, cmd, &fl) < 0)
		printf("%s: %s\n", what, strerror(errno));
	else if (fl.l_type == F_UNLCK)
		printf("%s: unlocked\n", what);
	else
		printf("%s: %s %lld+%lld pid=%d\n", what, fl.l_type == F_RDLCK ? "read" : "write",
		       (long long)fl.l_start, (long long)fl.l_len, (int)fl.l_pid);
}

static const char *err(int r) { return r ? strerror(-r) : "ok"; }

int main(int argc, char **argv)
{
	int fd = open("shared.dat", O_RDWR), other = open("shared.dat", O_RDWR);
	if (argc != 2 || fd < 0 || other < 0) {
		perror("open");
		return 1;
	}
	if (!strcmp(argv[1], "hold")) {
		char c;
		int r = lk(fd, F_SETLK, F_WRLCK, 0, 10);
		r = r ? r : lk(other, F_OFD_SETLK, F_RDLCK, 100, 10);
		r = r ? r : (flock(other, LOCK_EX) ? -errno : 0);
		printf("hold: %s\n", err(r));
		fflush(stdout);
		line("held\n");
		int go = open("go", O_RDONLY);
		if (go < 0 || read(go, &c, 1) != 1)
			perror("go");
		return 0;
	}
	probe("getlk 0", fd, F_GETLK, F_WRLCK, 0);
	probe("getlk 9 read", fd, F_GETLK, F_RDLCK, 9);
	probe("getlk 10", fd, F_GETLK, F_WRLCK, 10);
	printf("setlk 5: %s\n", err(lk(fd, F_SETLK, F_RDLCK, 5, 1)));
	probe("ofd getlk 105", fd, F_OFD_GETLK, F_WRLCK, 105);
	printf("ofd read 105: %s\n", err(lk(fd, F_OFD_SETLK, F_RDLCK, 105, 1)));
	lk(fd, F_OFD_SETLK, F_UNLCK, 105, 1);
	printf("ofd write 105: %s\n", err(lk(other, F_OFD_SETLK, F_WRLCK, 105, 1)));
	printf("flock LOCK_SH|LOCK_NB: %s\n", err(flock(other, LOCK_SH | LOCK_NB) ? -errno : 0));
	fflush(stdout);
	line("blocking\n");
	printf("setlkw 0: %s\n", err(lk(fd, F_SETLKW, F_WRLCK, 0, 10)));
	printf("flock LOCK_EX: %s\n", err(flock(other, LOCK_EX) ? -errno : 0));
	printf("ofd setlkw 100: %s\n", err(lk(other, F_OFD_SETLKW, F_WRLCK, 100, 10)));
	return 0;
}
