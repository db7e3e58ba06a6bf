/* File calls at their edges: symlink chains with O_CREAT, names ending in "/", path
 * and target lengths, statx and utimensat times to the nanosecond, access modes, the
 * *at flags (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW), calls on a socket file and a dangling
 * link, argument checks of fallocate/truncate/fadvise/sync_file_range/readahead,
 * getdents64 with a buffer that just fits, sendfile/copy_file_range past one chunk,
 * preadv/pwritev and their flags, fd flags of dup3, F_DUPFD, memfd, the file-size
 * limit of pwritev2, ftruncate and sync_file_range of files with no host file.
 * Run with a scratch directory as the working directory (it makes what it needs there),
 * natively and in Lind; the outputs are compared (tests/test_mutants_files.py). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1 : r, r < 0 ? errno : 0);
}

static void opened(const char *what, int fd)
{
	report(what, fd < 0 ? fd : 0);
	if (fd >= 0)
		close(fd);
}

static long mode_of(const char *path, int follow)
{
	struct stat st;
	int r = follow ? stat(path, &st) : lstat(path, &st);
	return r < 0 ? -errno : (long)st.st_mode;
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0) {
		perror(path);
		exit(1);
	}
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = 0;
	return s;
}

static void symlink_chains(void)
{
	/* O_CREAT through a chain of links, the last one dangling: the kernel follows 40. */
	char name[32], next[32];
	mkdir("chain", 0755);
	for (int i = 0; i < 41; i++) {
		snprintf(name, sizeof name, "chain/l%d", i);
		snprintf(next, sizeof next, "l%d", i + 1);
		symlink(next, name);
	}
	opened("creat through 40 links", open("chain/l1", O_WRONLY | O_CREAT, 0600));
	report("made at the end of 40", access("chain/l41", F_OK));
	unlink("chain/l41");
	opened("creat through 41 links", open("chain/l0", O_WRONLY | O_CREAT, 0600));
	report("made at the end of 41", access("chain/l41", F_OK));
	symlink("nowhere", "dangling");
	symlink("file", "tofile");
	put("file", "0123456789");
	report("symlink to dangling/", symlink("x", "dangling/"));
	report("symlink to missing/", symlink("x", "missing/"));
	report("link to dangling/", link("file", "dangling/"));
	report("link of a link", link("tofile", "hard"));
	report("the hard link is a link", S_ISLNK(mode_of("hard", 0)));
	report("linkat follow", linkat(AT_FDCWD, "tofile", AT_FDCWD, "hard2", AT_SYMLINK_FOLLOW));
	report("hard2 is a file", S_ISREG(mode_of("hard2", 0)));
}

static void lengths(void)
{
	char *name = repeat('n', 4095), *longer = repeat('n', 4096);
	struct stat st;
	report("fstatat 4095", fstatat(AT_FDCWD, name, &st, 0));
	report("fstatat 4096", fstatat(AT_FDCWD, longer, &st, 0));
	/* Paths of 4095 and 4096 bytes in short components: "./" repeated, then "file". */
	char *dots = malloc(4097);
	strcpy(dots, ".//");
	for (int i = 0; i < 2044; i++)
		strcat(dots, "./");
	strcat(dots, "file");
	report("fstatat ./ 4095", fstatat(AT_FDCWD, dots, &st, 0));
	report("newfstatat call ./ 4095", syscall(SYS_newfstatat, AT_FDCWD, dots, &st, 0));
	struct statx sx;
	report("statx ./ 4095", statx(AT_FDCWD, dots, 0, STATX_BASIC_STATS, &sx));
	report("fchownat ./ 4095 empty-path", fchownat(AT_FDCWD, dots, -1, -1, AT_EMPTY_PATH));
	memmove(dots + 1, dots, strlen(dots) + 1);
	report("fstatat ./ 4096", fstatat(AT_FDCWD, dots, &st, 0));
	report("newfstatat call ./ 4096", syscall(SYS_newfstatat, AT_FDCWD, dots, &st, 0));
	report("statx ./ 4096", statx(AT_FDCWD, dots, 0, STATX_BASIC_STATS, &sx));
	report("fchownat ./ 4096 empty-path", fchownat(AT_FDCWD, dots, -1, -1, AT_EMPTY_PATH));
	free(dots);
	report("symlink target 4095", symlink(name, "longlink"));
	report("symlink target 4096", symlink(longer, "longlink2"));
	report("symlinkat target 4095", symlinkat(name, AT_FDCWD, "longlink3"));
	report("symlinkat target 4096", symlinkat(longer, AT_FDCWD, "longlink4"));
	report("symlinkat target 4094", symlinkat(name + 1, AT_FDCWD, "longlink5"));
	char *back = malloc(5000);
	report("readlink 4095", readlink("longlink", back, 5000));
	report("fchownat 4095 empty-path", fchownat(AT_FDCWD, name, -1, -1, AT_EMPTY_PATH));
	report("fchownat 4096 empty-path", fchownat(AT_FDCWD, longer, -1, -1, AT_EMPTY_PATH));
	free(back);
	free(name);
	free(longer);
}

static void times(void)
{
	struct timespec set[2] = {{1001, 123456789}, {2003, 987654321}};   /* odd seconds */
	report("utimensat", utimensat(AT_FDCWD, "file", set, 0));
	struct statx sx;
	memset(&sx, 0xAB, sizeof sx);
	report("statx", statx(AT_FDCWD, "file", 0, STATX_BASIC_STATS, &sx));
	printf("statx atime %lld %u mtime %lld %u\n", (long long)sx.stx_atime.tv_sec,
	       sx.stx_atime.tv_nsec, (long long)sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec);
	printf("statx mask has basic %d\n", (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
	struct stat st;
	stat("file", &st);
	printf("statx matches stat: %d %d %d %d\n", sx.stx_ino == st.st_ino, sx.stx_size == st.st_size,
	       sx.stx_nlink == st.st_nlink, sx.stx_mode == st.st_mode);
	/* Through a link: the times are the target's, or the link's with NOFOLLOW. */
	struct timespec other[2] = {{3000, 5}, {4000, 6}};
	report("utimensat through a link", utimensat(AT_FDCWD, "tofile", other, 0));
	stat("file", &st);
	printf("target mtime %lld %ld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	struct timespec omit[2] = {{0, UTIME_OMIT}, {5000, 7}};
	report("utimensat nofollow dangling", utimensat(AT_FDCWD, "dangling", omit, AT_SYMLINK_NOFOLLOW));
	lstat("dangling", &st);
	printf("link mtime %lld %ld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	report("utimensat follow dangling", utimensat(AT_FDCWD, "dangling", omit, 0));
	struct timespec bad[2] = {{1, -1}, {1, 0}};
	report("utimensat nsec -1", utimensat(AT_FDCWD, "file", bad, 0));
	struct timespec big[2] = {{1, 0}, {1, 1000000000}};
	report("utimensat nsec 1e9", utimensat(AT_FDCWD, "file", big, 0));
#ifdef SYS_utime
	struct utimbuf ub = {1111, 2222};
	report("utime call", syscall(SYS_utime, "file", &ub));
	stat("file", &st);
	printf("after utime %lld %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
	time_t before = time(NULL);
	report("utime call now", syscall(SYS_utime, "file", NULL));
	stat("file", &st);
	printf("utime now is now: %d\n", st.st_mtim.tv_sec >= before && st.st_atim.tv_sec >= before);
#endif
}

static void access_and_owners(void)
{
	report("access x of 0644 file", access("file", X_OK));
	report("access r of 0644 file", access("file", R_OK));
	report("access f", access("file", F_OK));
	report("faccessat2 dangling follow", syscall(SYS_faccessat2, AT_FDCWD, "dangling", F_OK, 0));
	/* without AT_SYMLINK_NOFOLLOW the file is checked, not the link (0777) */
	report("faccessat2 x through a link to a 0644 file",
	       syscall(SYS_faccessat2, AT_FDCWD, "tofile", X_OK, 0));
	report("faccessat2 dangling nofollow",
	       syscall(SYS_faccessat2, AT_FDCWD, "dangling", F_OK, AT_SYMLINK_NOFOLLOW));
	report("chown dangling", chown("dangling", -1, -1));
	report("lchown dangling", lchown("dangling", -1, -1));
	int fd = open("file", O_RDONLY);
	report("fchownat empty path", fchownat(fd, "", -1, -1, AT_EMPTY_PATH));
	report("fchownat empty path without the flag", fchownat(fd, "", -1, -1, 0));
	close(fd);
	report("chmod 0751", chmod("file", 0751));
	printf("mode %lo\n", (unsigned long)mode_of("file", 1) & 07777);
	report("fchmodat nofollow on a link", fchmodat(AT_FDCWD, "tofile", 0600, AT_SYMLINK_NOFOLLOW));
	report("fchmodat follow on a link", fchmodat(AT_FDCWD, "tofile", 0640, 0));
	report("fchmodat2 call follow on a link", syscall(452, AT_FDCWD, "tofile", 0640, 0));
	report("fchmodat2 call nofollow on a link",
	       syscall(452, AT_FDCWD, "tofile", 0640, AT_SYMLINK_NOFOLLOW));
	printf("mode %lo\n", (unsigned long)mode_of("file", 1) & 07777);
	chmod("file", 0644);
	report("umask 0777", umask(0777));
	report("umask back", umask(022));
}

static void socket_file(void)
{
	/* A socket file cannot be opened for I/O (ENXIO): calls on its name must not. */
	report("mknod sock", mknod("sock", S_IFSOCK | 0644, 0));
	report("is a socket", S_ISSOCK(mode_of("sock", 0)));
	report("chmod sock", chmod("sock", 0600));
	report("chown sock", chown("sock", -1, -1));
	struct timespec t[2] = {{7, 0}, {8, 0}};
	report("utimensat sock", utimensat(AT_FDCWD, "sock", t, 0));
#ifdef SYS_utime
	report("utime sock", syscall(SYS_utime, "sock", NULL));
#endif
	report("truncate sock", truncate("sock", 0));
	report("linkat follow sock", linkat(AT_FDCWD, "sock", AT_FDCWD, "sock2", AT_SYMLINK_FOLLOW));
	report("access sock", access("sock", R_OK));
	report("mknod fifo", mknod("fifo2", S_IFIFO | 0600, 0));
	report("chmod fifo", chmod("fifo2", 0640));
	report("mknod plain", mknod("plain", 0600, 0));
	report("plain is a file", S_ISREG(mode_of("plain", 0)));
}

static void arguments(void)
{
	int fd = open("file", O_RDWR);
	int ro = open("file", O_RDONLY);
	report("fallocate length 0", fallocate(fd, 0, 0, 0));
	report("fallocate offset -1", fallocate(fd, 0, -1, 10));
	report("fallocate length -1", fallocate(fd, 0, 0, -1));
	report("fallocate offset 0 length 1", fallocate(fd, 0, 0, 1));
	report("truncate -1", truncate("file", -1));
	report("truncate a directory -1", truncate("chain", -1));
	report("truncate a directory", truncate("chain", 0));
	report("ftruncate read-only", ftruncate(ro, 0));
	report("ftruncate -1", ftruncate(fd, -1));
	report("ftruncate 12", ftruncate(fd, 12));
	struct stat st;
	fstat(fd, &st);
	report("size after ftruncate", st.st_size);
	ftruncate(fd, 10);
	int null = open("/dev/null", O_RDWR);
	report("syncfs /dev/null", syncfs(null));
	report("sync_file_range /dev/null", sync_file_range(null, 0, 0, SYNC_FILE_RANGE_WRITE));
	report("sync_file_range /dev/null no flags", sync_file_range(null, 0, 0, 0));
	close(null);
	struct statfs sfs;
	report("statfs sock", statfs("sock", &sfs));
	report("fsync", fsync(fd));
	report("fdatasync", fdatasync(fd));
	report("syncfs", syncfs(fd));
	report("sync call", syscall(SYS_sync));
	report("sync_file_range -1", sync_file_range(fd, 0, -1, 0));
	report("sync_file_range 0", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
	for (int advice = -1; advice <= 6; advice++) {
		char what[32];
		snprintf(what, sizeof what, "fadvise %d", advice);
		errno = posix_fadvise(fd, 0, 10, advice);
		report(what, errno ? -1 : 0);
	}
	errno = posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL);
	report("fadvise length -1", errno ? -1 : 0);
	report("readahead offset -1", readahead(fd, -1, 10));
	report("readahead", readahead(fd, 0, 10));
	close(fd);
	close(ro);
}

static void raw_calls(void)
{
	/* The calls libc no longer makes itself (it uses the *at forms). */
	struct stat st;
	report("stat call", syscall(SYS_stat, "file", &st));
	report("lstat call on a link", syscall(SYS_lstat, "tofile", &st));
	/* its size is the link's (4: "file"), not the file's (10); the raw call's struct is
	 * the kernel's, whose st_mode is elsewhere than libc's on wasm32-lind */
	report("lstat call saw the link itself", st.st_size == 4);
	report("stat call on a dangling link", syscall(SYS_stat, "dangling", &st));
	int c = syscall(SYS_creat, "created", 0600);
	report("creat call", c < 0 ? c : 0);
	report("creat call made it write-only", (fcntl(c, F_GETFL) & O_ACCMODE) == O_WRONLY);
	close(c);

	/* pipe2 when the fd table has room for one end, or none: EMFILE, nothing left open. */
	int probe = dup(0);
	close(probe);
	struct rlimit saved, rl;
	getrlimit(RLIMIT_NOFILE, &saved);
	rl = saved;
	int p[2] = {-1, -1};
	for (int room = 0; room < 3; room++) {
		rl.rlim_cur = probe + room;
		setrlimit(RLIMIT_NOFILE, &rl);
		char what[32];
		snprintf(what, sizeof what, "pipe2 with room for %d", room);
		int r = pipe2(p, 0);
		report(what, r);
		if (r == 0) {
			close(p[0]);
			close(p[1]);
		}
		setrlimit(RLIMIT_NOFILE, &saved);
		int next = dup(0);
		report("the lowest fd is still free", next == probe);
		close(next);
	}

	/* FIONBIO on a pipe's read end: a read then fails at once. */
	pipe(p);
	int on = 1;
	report("FIONBIO on", ioctl(p[0], FIONBIO, &on));
	char b;
	report("read of an empty non-blocking pipe", read(p[0], &b, 1));
	report("O_NONBLOCK shown", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
	on = 0;
	report("FIONBIO off", ioctl(p[0], FIONBIO, &on));
	report("O_NONBLOCK gone", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
	report("still read-only", (fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY);

	/* sendfile into a pipe: as much as fits when it would block, EPIPE with no reader. */
	int src = open("big", O_RDONLY);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	report("a write into the pipe first", write(p[1], "0123456789", 10));
	report("sendfile more than the pipe holds", sendfile(p[1], src, NULL, 200000));
	report("sendfile into a full pipe", sendfile(p[1], src, NULL, 10));
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	report("sendfile with no reader", sendfile(p[1], src, NULL, 10));
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);
	close(src);

	/* preadv2/pwritev2 at the file position with their flags; no buffers at all. */
	int fd = open("file", O_RDWR);
	char buf[8] = "abcdefg";
	struct iovec iov = {buf, 4};
	report("pwritev2 at the position, RWF_DSYNC", pwritev2(fd, &iov, 1, -1, RWF_DSYNC));
	report("pwritev2 at the position, RWF_SYNC", pwritev2(fd, &iov, 1, -1, RWF_SYNC));
	report("position after them", lseek(fd, 0, SEEK_CUR));
	report("preadv2 at the position, RWF_HIPRI", preadv2(fd, &iov, 1, -1, RWF_HIPRI));
	lseek(fd, 0, SEEK_SET);      /* the position is not the end: RWF_APPEND writes there */
	report("pwritev2 at the position, RWF_APPEND", pwritev2(fd, &iov, 1, -1, RWF_APPEND));
	report("position after it", lseek(fd, 0, SEEK_CUR));
	report("preadv with no buffers", preadv(fd, &iov, 0, 0));
	int q[2];
	pipe(q);
	report("pwritev2 on a pipe at the position", pwritev2(q[1], &iov, 1, -1, 0));
	report("pwritev2 on a pipe, RWF_APPEND", pwritev2(q[1], &iov, 1, -1, RWF_APPEND));
	report("pwritev2 on a pipe, RWF_DSYNC", pwritev2(q[1], &iov, 1, -1, RWF_DSYNC));
	report("preadv2 on a pipe, RWF_NOWAIT", preadv2(q[0], &iov, 1, -1, RWF_NOWAIT));
	report("preadv2 on a pipe at the position", preadv2(q[0], &iov, 1, -1, 0));
	report("preadv2 on a pipe, RWF_HIPRI", preadv2(q[0], &iov, 1, -1, RWF_HIPRI));
	report("preadv2 on an empty pipe, RWF_NOWAIT", preadv2(q[0], &iov, 1, -1, RWF_NOWAIT));
	report("preadv2 on a pipe at 0", preadv2(q[0], &iov, 1, 0, 0));
	pid_t filler = fork();       /* an empty pipe at the position: the read waits */
	if (filler == 0) {
		usleep(100000);
		write(q[1], "late", 4);
		_exit(0);
	}
	/* raw: libc makes preadv2 without flags at -1 a readv */
	report("preadv2 call on a pipe filled later", syscall(SYS_preadv2, q[0], &iov, 1, -1L, -1L, 0));
	waitpid(filler, NULL, 0);
	/* an offset below -1 is EINVAL before the file is looked at (not ESPIPE, not EBADF) */
	report("preadv2 at -2 on a pipe", syscall(SYS_preadv2, q[0], &iov, 1, -2L, -1L, 0));
	report("preadv2 at -2 on the write end", syscall(SYS_preadv2, q[1], &iov, 1, -2L, -1L, 0));
	close(q[0]);
	close(q[1]);
	report("pwritev with no buffers", pwritev(fd, &iov, 0, 0));
	close(fd);
}

static void directories(void)
{
	mkdir("d", 0755);
	put("d/alpha", "a");
	mkdir("d/beta", 0755);
	DIR *dir = opendir("d");
	int same = 1, count = 0;
	struct dirent *e;
	char path[300];
	while ((e = readdir(dir))) {
		struct stat st;
		snprintf(path, sizeof path, "d/%s", e->d_name);
		lstat(path, &st);
		same &= e->d_ino == st.st_ino;
		count++;
	}
	printf("readdir %d entries, inodes match lstat: %d\n", count, same);
	put("d/gamma", "g");
	rewinddir(dir);
	count = 0;
	while ((e = readdir(dir)))
		count++;
	printf("after rewinddir %d entries\n", count);
	closedir(dir);

	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	char buf[4096];
	long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
	unsigned short first = *(unsigned short *)(buf + 16);
	lseek(dfd, 0, SEEK_SET);
	report("getdents64 one record exactly", syscall(SYS_getdents64, dfd, buf, first) == first);
	lseek(dfd, 0, SEEK_SET);
	report("getdents64 one byte short", syscall(SYS_getdents64, dfd, buf, first - 1));
	report("getdents64 whole", n > first);
	close(dfd);

	char cwd[PATH_MAX];
	getcwd(cwd, sizeof cwd);
	size_t need = strlen(cwd) + 1;
	report("getcwd exact size", syscall(SYS_getcwd, cwd, need) == (long)need);
	report("getcwd one short", syscall(SYS_getcwd, cwd, need - 1));

	symlink("d", "dlink");
	chdir("dlink");
	struct stat st;
	report("fstatat empty path at a linked cwd", fstatat(AT_FDCWD, "", &st, AT_EMPTY_PATH));
	printf("cwd is a directory: %d\n", S_ISDIR(st.st_mode));
	chdir("..");
	/* A working directory removed under the program: ".." still leads out of it. */
	mkdir("gone", 0755);
	chdir("gone");
	rmdir("../gone");
	opened("open ../file from a removed cwd", open("../file", O_RDONLY));
	report("chdir .. from a removed cwd", chdir(".."));
	opened("back in the scratch directory", open("file", O_RDONLY));
	symlink("/dev", "todev");
	report("unlink of a link to a directory, with /", unlink("todev/"));
	report("the link is still there", S_ISLNK(mode_of("todev", 0)));
	report("renameat2 of / with a bad flag", syscall(SYS_renameat2, AT_FDCWD, "/", AT_FDCWD, "x", 8));
	report("renameat2 of / with exchange|noreplace",
	       syscall(SYS_renameat2, AT_FDCWD, "/", AT_FDCWD, "x", 3));
	report("renameat2 bad flag on missing", syscall(SYS_renameat2, AT_FDCWD, "missing",
	                                                  AT_FDCWD, "x", 8));
	report("renameat2 exchange|noreplace on missing",
	       syscall(SYS_renameat2, AT_FDCWD, "missing", AT_FDCWD, "x", 3));
}

static void copies(void)
{
	size_t size = 200000;
	char *data = malloc(size);
	for (size_t i = 0; i < size; i++)
		data[i] = (char)(i * 7 + i / 251);
	int src = open("big", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(src, data, size);
	int dst = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0644);
	off_t off = 1000;
	report("sendfile 100000", sendfile(dst, src, &off, 100000));
	printf("sendfile offset now %lld\n", (long long)off);
	report("sendfile 0", sendfile(dst, src, &off, 0));
	report("sendfile 1", sendfile(dst, src, &off, 1));
	off_t minus_one = -1;
	report("sendfile at offset -1", sendfile(dst, src, &minus_one, 10));
	loff_t in = 5, out = 0;
	report("copy_file_range 150000", copy_file_range(src, &in, dst, &out, 150000, 0));
	printf("offsets %lld %lld\n", (long long)in, (long long)out);
	char *back = malloc(size);
	report("pread copy", pread(dst, back, size, 0));
	printf("copy matches: %d\n", memcmp(back, data + 5, 150000) == 0);
	loff_t a = 0, b = 10;
	report("copy_file_range adjacent", copy_file_range(src, &a, src, &b, 10, 0));
	a = 0, b = 9;
	report("copy_file_range overlapping", copy_file_range(src, &a, src, &b, 10, 0));
	int wronly = open("big", O_WRONLY);
	int rdonly = open("copy", O_RDONLY);
	int dir = open("d", O_RDONLY | O_DIRECTORY);
	a = b = 0;
	report("copy_file_range from write-only", copy_file_range(wronly, &a, dst, &b, 10, 0));
	report("copy_file_range to read-only", copy_file_range(src, &a, rdonly, &b, 10, 0));
	report("copy_file_range from a directory", copy_file_range(dir, &a, dst, &b, 10, 0));
	report("copy_file_range to a directory", copy_file_range(src, &a, dir, &b, 10, 0));

	struct iovec iov = {back, 10};
	report("preadv read-only", preadv(rdonly, &iov, 1, 0));
	report("preadv offset -1", preadv(rdonly, &iov, 1, -1));
	report("pwritev offset -1", pwritev(wronly, &iov, 1, -1));
	report("pwritev write-only", pwritev(wronly, &iov, 1, 3));
	report("preadv write-only", preadv(wronly, &iov, 1, 0));
	report("pwritev read-only", pwritev(rdonly, &iov, 1, 0));
	struct stat st;
	fstat(src, &st);
	long before = st.st_size;
	report("pwritev2 append", pwritev2(src, &iov, 1, 0, RWF_APPEND));
	fstat(src, &st);
	report("pwritev2 appended", st.st_size - before);
	report("preadv2 offset -2", preadv2(rdonly, &iov, 1, -2, 0));
	report("preadv2 at the position", preadv2(rdonly, &iov, 1, -1, 0));
	report("position after preadv2", lseek(rdonly, 0, SEEK_CUR));

	struct iovec many[1024];
	for (int i = 0; i < 1024; i++)
		many[i] = (struct iovec){data + i, 1};
	report("writev 1024", writev(dst, many, 1024));
	report("writev 1025", writev(dst, many, 1025));
	close(wronly);
	close(rdonly);
	close(dir);
	close(src);
	close(dst);
	free(back);
	free(data);
}

static void descriptors(void)
{
	int fd = open("file", O_RDONLY);
	report("dup3 no flags", dup3(fd, 20, 0));
	report("dup3 cloexec bit", fcntl(20, F_GETFD));
	report("dup3 cloexec", dup3(fd, 21, O_CLOEXEC));
	report("dup3 cloexec bit", fcntl(21, F_GETFD));
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	report("F_DUPFD -1", fcntl(fd, F_DUPFD, -1));
	report("F_DUPFD 0", fcntl(fd, F_DUPFD, 0) >= 0);
	report("F_DUPFD 63", fcntl(fd, F_DUPFD, 63));
	report("F_DUPFD 64", fcntl(fd, F_DUPFD, 64));
	int m = memfd_create("m", 0);
	report("memfd cloexec bit", fcntl(m, F_GETFD));
	int mc = memfd_create("mc", MFD_CLOEXEC);
	report("memfd_create cloexec bit", fcntl(mc, F_GETFD));
	report("F_ADD_SEALS of an MFD_CLOEXEC memfd", fcntl(mc, F_ADD_SEALS, F_SEAL_GROW));
	char name[251];
	memset(name, 'n', 250);
	name[250] = 0;
	report("memfd_create name of 250", memfd_create(name, MFD_CLOEXEC));
	name[249] = 0;
	int longest = memfd_create(name, MFD_CLOEXEC);
	report("memfd_create name of 249", longest < 0 ? longest : 0);
	close(longest);
	report("F_GET_SEALS of a memfd", fcntl(m, F_GET_SEALS));
	int p[2];
	pipe(p);
	report("F_GET_SEALS of a pipe", fcntl(p[0], F_GET_SEALS));
	int path = open("file", O_PATH | O_NOFOLLOW);
	report("O_PATH fd", path >= 0);
	int lpath = open("tofile", O_PATH | O_NOFOLLOW);
	struct stat st;
	fstat(lpath, &st);
	report("O_PATH|O_NOFOLLOW on a link is the link", S_ISLNK(st.st_mode));
	int tpath = open("tofile", O_PATH);
	fstat(tpath, &st);
	report("O_PATH on a link is the file", S_ISREG(st.st_mode));
	int null = open("/dev/null", O_RDONLY);
	report("/dev/null cloexec bit", fcntl(null, F_GETFD));
	int made = open("made", O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
	int shown = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_NONBLOCK | O_CLOEXEC;
	printf("F_GETFL after open %o\n", fcntl(made, F_GETFL) & shown);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void fifos(void)
{
	/* A blocking open of a FIFO waits for its partner, and a signal ends the wait. */
	mkfifo("pipe", 0600);
	size_t size = 200000;
	char *data = calloc(1, size);
	pid_t child = fork();
	if (child == 0) {
		usleep(100000);
		int r = open("pipe", O_RDONLY | O_CREAT, 0600);
		size_t got = 0;
		ssize_t n;
		while ((n = read(r, data, size)) > 0)
			got += n;
		_exit(got == size ? 0 : 1);
	}
	int w = open("pipe", O_WRONLY | O_TRUNC);
	report("fifo open for writing waited", w < 0 ? w : 0);
	report("one big write to a fifo", write(w, data, size));
	close(w);
	int status;
	waitpid(child, &status, 0);
	report("the reader read it all", WIFEXITED(status) && WEXITSTATUS(status) == 0);

	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	ualarm(100000, 0);
	report("fifo open interrupted", open("pipe", O_RDONLY));
	int rn = open("pipe", O_RDONLY | O_NONBLOCK);
	report("fifo opened again without waiting", rn < 0 ? rn : 0);
	close(rn);
	free(data);
}

/* Where the file-size limit falls for pwritev2 (at the end for an O_APPEND file, at the
 * file position for offset -1), and calls a device or a directory without a host file
 * refuses or answers. */
static void limits_and_devices(void)
{
	int null = open("/dev/null", O_WRONLY);
	report("ftruncate /dev/null", ftruncate(null, 0));
	close(null);
	int dir = open("/proc", O_RDONLY | O_DIRECTORY);
	report("sync_file_range /proc", sync_file_range(dir, 0, 0, SYNC_FILE_RANGE_WRITE));
	close(dir);

	static char block[30];
	memset(block, 'f', sizeof block);
	struct iovec iov = {block, sizeof block};
	int fd = open("fsize", O_CREAT | O_TRUNC | O_RDWR, 0644);
	write(fd, block, 10);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, small;
	getrlimit(RLIMIT_FSIZE, &old);
	small = old;
	small.rlim_cur = 20;
	setrlimit(RLIMIT_FSIZE, &small);
	int app = open("fsize", O_WRONLY | O_APPEND);
	long appended = pwritev2(app, &iov, 1, 0, 0);
	close(app);
	ftruncate(fd, 10);
	lseek(fd, 15, SEEK_SET);
	long positioned = pwritev2(fd, &iov, 1, -1, RWF_DSYNC);
	long to_the_limit = ftruncate(fd, 20), past_it = ftruncate(fd, 21);
	setrlimit(RLIMIT_FSIZE, &old);    /* before reporting: stdout may be a file */
	report("pwritev2 at 0 of an O_APPEND file, 20-byte limit", appended);
	report("pwritev2 RWF_DSYNC at the position 15, 20-byte limit", positioned);
	report("ftruncate to the 20-byte limit", to_the_limit);
	report("ftruncate past it", past_it);
	struct stat st;
	fstat(fd, &st);
	report("size", st.st_size);
	close(fd);
	signal(SIGXFSZ, SIG_DFL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	umask(022);
	symlink_chains();
	lengths();
	times();
	access_and_owners();
	socket_file();
	arguments();
	directories();
	copies();
	raw_calls();
	descriptors();
	fifos();
	limits_and_devices();
	return 0;
}
