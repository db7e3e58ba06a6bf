/* File calls whose answers hang on exact numbers (found untested by the mutation run
 * of sys_files.py): the mode bits open, mknod, mkdir and fchmod keep under a umask,
 * timestamps given in microseconds (utimes, futimesat: raw calls, as musl converts
 * them itself), readlink into one byte, hard links to a symlink or its target,
 * copy_file_range on one file at the edge of an overlap and over more than 64 KiB,
 * sendfile, close_range of one fd, memfd names and seals, F_DUPFD_CLOEXEC, pwritev2
 * with RWF_APPEND and unknown flags, preadv2 at the current offset, a pwrite past
 * 4 GiB, ftruncate on a read-only fd, and metadata changes, truncate and execve on a
 * FIFO (which must not open it: that would wait for a partner). Prints errno numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static void say(const char *what, long r)
{
	printf("%s: %ld %d\n", what, r, r < 0 ? errno : 0);
	errno = 0;
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 ? st.st_mode & 07777 : 0xFFFF;
}

static void times_of(const char *path)
{
	struct stat st;
	stat(path, &st);
	printf("  atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec,
	       st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static void fill(int fd, size_t n)
{
	char block[4096];
	for (size_t i = 0; i < sizeof block; i++)
		block[i] = (char)('a' + i % 26);
	while (n > 0) {
		size_t k = n < sizeof block ? n : sizeof block;
		write(fd, block, k);
		n -= k;
	}
}

static int same_bytes(const char *a, const char *b)
{
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	char x[4096], y[4096];
	ssize_t n, m;
	int same = 1;
	do {
		n = read(fa, x, sizeof x);
		m = read(fb, y, sizeof y);
		if (n != m || (n > 0 && memcmp(x, y, n)))
			same = 0;
	} while (same && n > 0);
	close(fa);
	close(fb);
	return same;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);

	/* modes */
	umask(0);
	close(open("all-bits", O_CREAT | O_WRONLY, 01777));   /* set-ID bits: see README */
	printf("open 01777, umask 0: %o\n", mode_of("all-bits"));
	umask(022);
	close(open("umasked", O_CREAT | O_WRONLY, 0777));
	printf("open 0777, umask 022: %o\n", mode_of("umasked"));
	say("mknod FIFO 0777", mknod("fifo", S_IFIFO | 0777, 0));
	printf("  mode %o\n", mode_of("fifo"));
	umask(0);
	say("mknod regular 01777", mknod("node", S_IFREG | 01777, 0));
	printf("  mode %o\n", mode_of("node"));
	say("mkdir 01777", mkdir("sticky", 01777));
	printf("  mode %o\n", mode_of("sticky"));
	say("chmod a directory 03777", chmod("sticky", 03777));
	printf("  mode %o\n", mode_of("sticky"));
	int fd = open("umasked", O_RDONLY);
	say("fchmod 01777", fchmod(fd, 01777));
	printf("  mode %o\n", mode_of("umasked"));
	say("fchmod 0100644 (type bits ignored)", fchmod(fd, 0100644));
	printf("  mode %o\n", mode_of("umasked"));
	close(fd);
	umask(022);

	/* microsecond times, raw */
	struct timeval tv[2] = {{1000000000, 999999}, {1200000000, 1}};
	say("utimes", syscall(SYS_utimes, "umasked", tv));
	times_of("umasked");
	struct timeval bad[2] = {{1, 1000000}, {1, 0}};
	say("utimes usec 1000000", syscall(SYS_utimes, "umasked", bad));
	bad[0].tv_usec = -1;
	say("utimes usec -1", syscall(SYS_utimes, "umasked", bad));
	tv[0].tv_usec = 0;
	tv[1].tv_usec = 500000;
	say("futimesat", syscall(SYS_futimesat, AT_FDCWD, "umasked", tv));
	times_of("umasked");

	/* times of a symlink itself, and through an fd */
	symlink("umasked", "timed-link");
	struct timespec lt[2] = {{111, 0}, {222, 0}};
	say("utimensat NOFOLLOW on a symlink",
	    utimensat(AT_FDCWD, "timed-link", lt, AT_SYMLINK_NOFOLLOW));
	struct stat ls, ts;
	lstat("timed-link", &ls);
	stat("timed-link", &ts);
	printf("  link mtime %lld, target mtime still %lld\n", (long long)ls.st_mtim.tv_sec,
	       (long long)ts.st_mtim.tv_sec);
	int tf = open("umasked", O_RDONLY);
	say("futimens", futimens(tf, lt));
	say("utimensat(fd, NULL path)", syscall(SYS_utimensat, tf, NULL, lt, 0));
	close(tf);
	struct statx sx;
	say("statx", statx(AT_FDCWD, "all-bits", 0, STATX_BASIC_STATS, &sx));
	printf("  stx_mode %o\n", sx.stx_mode);

	/* file-system information: the same file system for both runs (their directories
	 * sit side by side); /proc, /dev and /dev/null are Linux's kinds */
	struct statfs here, there;
	say("statfs .", statfs(".", &here));
	printf("  type %lx bsize %ld namelen %ld frsize %ld flags %lx\n", (long)here.f_type,
	       (long)here.f_bsize, (long)here.f_namelen, (long)here.f_frsize, (long)here.f_flags);
	int here_fd = open(".", O_RDONLY | O_DIRECTORY);
	say("fstatfs .", fstatfs(here_fd, &there));
	printf("  same as statfs %d\n", there.f_type == here.f_type && there.f_flags == here.f_flags);
	close(here_fd);
	say("statfs /proc", statfs("/proc", &there));
	printf("  type %lx\n", (long)there.f_type);
	say("statfs /dev", statfs("/dev", &there));
	printf("  type %lx\n", (long)there.f_type);
	int null_fd = open("/dev/null", O_RDONLY);
	say("fstatfs /dev/null", fstatfs(null_fd, &there));
	printf("  type %lx\n", (long)there.f_type);
	close(null_fd);

	/* access through links */
	symlink("nothing-here", "dangling-access");
	say("faccessat a dangling link", faccessat(AT_FDCWD, "dangling-access", F_OK, 0));
	say("faccessat NOFOLLOW a dangling link",
	    faccessat(AT_FDCWD, "dangling-access", F_OK, AT_SYMLINK_NOFOLLOW));
	say("access R_OK|W_OK", access("umasked", R_OK | W_OK));

	/* the FIFO's metadata: none of these may open it (that would block) */
	say("chmod FIFO", chmod("fifo", 0600));
	say("chown FIFO", chown("fifo", getuid(), getgid()));
	say("utimensat FIFO", utimensat(AT_FDCWD, "fifo", NULL, 0));
	say("truncate FIFO", truncate("fifo", 0));
	char *args[] = {"fifo", NULL};
	say("execve FIFO", execve("fifo", args, environ));
	say("truncate a directory", truncate("sticky", 0));
	printf("  mode %o\n", mode_of("fifo"));

	/* readlink and links */
	symlink("umasked", "sym");
	char one[4] = "---";
	say("readlink into 1 byte", readlink("sym", one, 1));
	printf("  got %s\n", one);
	say("readlink into 0 bytes", readlink("sym", one, 0));
	say("linkat FOLLOW", linkat(AT_FDCWD, "sym", AT_FDCWD, "hard-target", AT_SYMLINK_FOLLOW));
	say("linkat", linkat(AT_FDCWD, "sym", AT_FDCWD, "hard-link", 0));
	struct stat target, a, b;
	stat("umasked", &target);
	lstat("hard-target", &a);
	lstat("hard-link", &b);
	printf("  FOLLOW linked the target %d; without, the symlink %d\n",
	       a.st_ino == target.st_ino, S_ISLNK(b.st_mode));
	say("fchownat NOFOLLOW on a dangling link",
	    (symlink("nowhere", "dangling"),
	     fchownat(AT_FDCWD, "dangling", getuid(), getgid(), AT_SYMLINK_NOFOLLOW)));
	say("fchownat on a dangling link", fchownat(AT_FDCWD, "dangling", getuid(), getgid(), 0));

	/* copying */
	int big = open("big", O_CREAT | O_RDWR | O_TRUNC, 0644);
	fill(big, 200000);
	int copy = open("copy", O_CREAT | O_RDWR | O_TRUNC, 0644);
	loff_t in = 0, out = 0;
	say("copy_file_range 200000", copy_file_range(big, &in, copy, &out, 200000, 0));
	printf("  offsets %lld %lld, same bytes %d\n", (long long)in, (long long)out,
	       same_bytes("big", "copy"));
	in = 100;
	out = 0;
	say("copy_file_range same file, ranges touching", copy_file_range(big, &in, big, &out, 100, 0));
	in = 50;
	out = 0;
	say("copy_file_range same file, overlapping", copy_file_range(big, &in, big, &out, 100, 0));
	int sent = open("sent", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	off_t from = 0;
	say("sendfile 200000", sendfile(sent, big, &from, 200000));
	printf("  offset %lld\n", (long long)from);
	close(sent);
	close(copy);

	/* fd calls */
	int d = dup(big);
	say("close_range of one fd", syscall(SYS_close_range, d, d, 0));
	say("  it is closed", fcntl(d, F_GETFD));
	say("close_range first > last", syscall(SYS_close_range, 10, 9, 0));
	int c = fcntl(big, F_DUPFD_CLOEXEC, 20);
	printf("F_DUPFD_CLOEXEC: %d, FD_CLOEXEC %d\n", c, fcntl(c, F_GETFD));
	int p = fcntl(big, F_DUPFD, 20);
	printf("F_DUPFD: %d, FD_CLOEXEC %d\n", p, fcntl(p, F_GETFD));
	close(c);
	close(p);

	/* memfd */
	char name[260];
	memset(name, 'n', sizeof name);
	name[249] = 0;
	int m = memfd_create(name, 0);
	say("memfd name of 249 bytes", m >= 0 ? 0 : -1);
	close(m);
	name[249] = 'n';
	name[250] = 0;
	say("memfd name of 250 bytes", memfd_create(name, 0));
	m = memfd_create("sealed", MFD_ALLOW_SEALING);
	say("F_ADD_SEALS with MFD_ALLOW_SEALING", fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
	say("  F_GET_SEALS", fcntl(m, F_GET_SEALS));
	close(m);
	m = memfd_create("unsealed", 0);
	say("F_ADD_SEALS without", fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
	say("  F_GET_SEALS", fcntl(m, F_GET_SEALS));
	close(m);

	/* vectored I/O with flags and offsets */
	int v = open("vec", O_CREAT | O_RDWR | O_TRUNC, 0644);
	write(v, "0123456789", 10);
	struct iovec iov = {"AB", 2};
	say("pwritev2 RWF_APPEND at 0", pwritev2(v, &iov, 1, 0, RWF_APPEND));
	say("pwritev2 unknown flag", pwritev2(v, &iov, 1, 0, 0x4000));
	char got[16] = {0};
	struct iovec rd = {got, 4};
	lseek(v, 3, SEEK_SET);
	say("preadv2 at the current offset", preadv2(v, &rd, 1, -1, 0));
	printf("  read %s, offset now %lld\n", got, (long long)lseek(v, 0, SEEK_CUR));
	say("preadv2 offset -2", preadv2(v, &rd, 1, -2, 0));
	say("pwrite past 4 GiB", pwrite(v, "Z", 1, 5LL << 30));
	struct stat vs;
	fstat(v, &vs);
	printf("  size %lld\n", (long long)vs.st_size);
	struct iovec z = {"Y", 1};
	say("pwritev past 4 GiB", pwritev(v, &z, 1, (5LL << 30) + 1));
	fstat(v, &vs);
	printf("  size %lld\n", (long long)vs.st_size);
	close(v);
	int ro = open("vec", O_RDONLY);
	say("ftruncate a read-only fd", ftruncate(ro, 0));
	close(ro);
	v = open("vec", O_RDWR);
	say("ftruncate -1", ftruncate(v, -1));
	say("ftruncate 3", ftruncate(v, 3));
	close(v);
	close(big);
	return 0;
}
