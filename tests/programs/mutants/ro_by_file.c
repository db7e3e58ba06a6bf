/* Changes to files of a `:ro` mount reached through another, writable mount (the host
 * directory is read-only whatever guest path names it), calls that only look at a
 * read-only file, what statfs says of mounts and of the microvisor's /proc and /dev,
 * and what an unprivileged cage's chown may do. Lind only: run with /up a writable
 * mount of a host directory U and /ro a `:ro` mount of U/ro, which holds file.txt,
 * link -> file.txt, tonew -> /up/new.txt and toro -> /ro/new.txt (see tests/test_mutants_files.py).
 * One line per step: "what result errno". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1 : r, r < 0 ? errno : 0);
}

static void show_statfs(const char *what, const char *path, int fd)
{
	struct statfs s;
	memset(&s, 0xAB, sizeof s);
	int r = path ? statfs(path, &s) : fstatfs(fd, &s);
	if (r < 0) {
		report(what, r);
		return;
	}
	printf("%s readonly %d fsid %d %d\n", what, (int)(s.f_flags & ST_RDONLY) != 0,
	       s.f_fsid.__val[0], s.f_fsid.__val[1]);
}

static void show_virtual_statfs(const char *what, const char *path)
{
	struct statfs s;
	memset(&s, 0xAB, sizeof s);
	report(what, statfs(path, &s));
	printf("%s: %lx %ld %llu %llu %llu %llu %llu %d %d %ld %ld %lx\n", what, (long)s.f_type,
	       (long)s.f_bsize, (unsigned long long)s.f_blocks, (unsigned long long)s.f_bfree,
	       (unsigned long long)s.f_bavail, (unsigned long long)s.f_files,
	       (unsigned long long)s.f_ffree, s.f_fsid.__val[0], s.f_fsid.__val[1],
	       (long)s.f_namelen, (long)s.f_frsize, (long)s.f_flags);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int x = open("/up/x", O_RDWR | O_CREAT, 0644);
	report("make-up-x", x < 0 ? x : 0);

	report("rename-into", rename("/up/x", "/up/ro/x"));
	report("link-out-of", link("/up/ro/file.txt", "/up/hard"));
	int c = open("/ro/file.txt", O_RDONLY | O_CREAT, 0644);
	report("creat-rdonly-existing", c < 0 ? c : 0);
	close(c);
	report("creat-wronly-existing", open("/ro/file.txt", O_WRONLY | O_CREAT, 0644));
	report("creat-rdonly-trunc-existing", open("/ro/file.txt", O_RDONLY | O_CREAT | O_TRUNC, 0644));
	report("creat-excl-existing", open("/ro/file.txt", O_RDONLY | O_CREAT | O_EXCL, 0644));
	report("creat-excl-missing", open("/ro/missing", O_RDONLY | O_CREAT | O_EXCL, 0644));
	report("link-into", link("/up/x", "/up/ro/l"));
	report("linkat-follow-into", linkat(AT_FDCWD, "/up/x", AT_FDCWD, "/up/ro/l2", AT_SYMLINK_FOLLOW));
	report("symlink-into", symlink("x", "/up/ro/s"));
	report("utimensat", utimensat(AT_FDCWD, "/up/ro/file.txt", NULL, 0));
	report("utimensat-nofollow", utimensat(AT_FDCWD, "/up/ro/link", NULL, AT_SYMLINK_NOFOLLOW));
	report("utime-call", syscall(SYS_utime, "/up/ro/file.txt", NULL));
	report("utimes-call", syscall(SYS_utimes, "/up/ro/file.txt", NULL));
	report("chown", chown("/up/ro/file.txt", -1, -1));
	report("lchown", lchown("/up/ro/link", -1, -1));
	report("chmod", chmod("/up/ro/file.txt", 0644));
	report("truncate", truncate("/up/ro/file.txt", 0));
	report("access-w", access("/up/ro/file.txt", W_OK));
	report("access-w-ro", access("/ro/file.txt", W_OK));
	report("access-r", access("/up/ro/file.txt", R_OK));
	int fd = open("/up/ro/file.txt", O_RDONLY);
	report("fchmod", fchmod(fd, 0644));
	report("fchown", fchown(fd, -1, -1));
	report("futimens", futimens(fd, NULL));
	close(fd);

	show_statfs("statfs-up-ro", "/up/ro", -1);
	show_statfs("statfs-up", "/up", -1);
	show_statfs("statfs-ro", "/ro", -1);
	fd = open("/ro/file.txt", O_RDONLY);
	show_statfs("fstatfs-ro", NULL, fd);
	close(fd);
	show_statfs("fstatfs-up", NULL, x);
	show_virtual_statfs("statfs-proc", "/proc");
	show_virtual_statfs("statfs-dev", "/dev");

	/* Looking is no change: the names under /ro answer as on a read-only mount. */
	struct stat st;
	char buf[64];
	report("lstat-link", lstat("/ro/link", &st));
	report("fstatat-nofollow", fstatat(AT_FDCWD, "/ro/link", &st, AT_SYMLINK_NOFOLLOW));
	report("readlink", readlink("/ro/link", buf, sizeof buf));
	fd = open("/ro/tonew", O_WRONLY | O_CREAT, 0644);   /* makes /up/new.txt */
	report("creat-through-link", fd < 0 ? fd : 0);
	if (fd >= 0)
		close(fd);
	report("creat-in-missing-dir", open("/ro/nodir/x", O_WRONLY | O_CREAT, 0644));
	report("creat-under-a-file", open("/ro/file.txt/x", O_WRONLY | O_CREAT, 0644));
	report("creat-excl-through-link", open("/ro/tonew", O_WRONLY | O_CREAT | O_EXCL, 0644));
	fd = open("/ro/toro", O_WRONLY | O_CREAT, 0644);    /* a link to a new name in /ro */
	report("creat-through-link-into-ro", fd < 0 ? fd : 0);
	if (fd >= 0)
		close(fd);

	/* An unprivileged cage may keep its files' owners, not change them. */
	fstat(x, &st);
	report("chown-same", chown("/up/x", st.st_uid, st.st_gid));
	report("chown-other-uid", chown("/up/x", st.st_uid + 5, -1));
	report("chown-other-gid", chown("/up/x", -1, st.st_gid + 5));
	report("fchown-other-uid", fchown(x, st.st_uid + 5, -1));

	/* statx has no birth time or attributes to give: those fields are zero. */
	unsigned char sx[256];
	memset(sx, 0xAB, sizeof sx);
	report("statx", syscall(SYS_statx, AT_FDCWD, "/up/x", 0, 0x7ff, sx));
	printf("statx-zeros %llu %llu %d %lld %u %d\n", *(unsigned long long *)(sx + 8),
	       *(unsigned long long *)(sx + 56), *(int *)(sx + 76), *(long long *)(sx + 80),
	       *(unsigned *)(sx + 88), *(int *)(sx + 92));

	/* utimensat's two timespecs (the kernel's: two 64-bit words each; libc's
	 * utimensat copies them to its stack, so the call is made raw) in the memory's
	 * last 32 bytes, and one word further. */
	unsigned long end = __builtin_wasm_memory_size(0) * 65536UL;
	long long *at_end = (long long *)(end - 32);
	at_end[0] = 1, at_end[1] = 0, at_end[2] = 2, at_end[3] = 0;
	report("utimensat-times-at-end", syscall(SYS_utimensat, AT_FDCWD, "/up/x", at_end, 0));
	report("utimensat-times-past-end", syscall(SYS_utimensat, AT_FDCWD, "/up/x", at_end + 1, 0));

	/* pipe2's two fds in the memory's last 8 bytes; the last 7 are EFAULT, and leave
	 * no fd behind. */
	report("pipe2-at-end", pipe2((int *)(end - 8), 0));
	int lowest = dup(0);
	close(lowest);
	report("pipe2-past-end", pipe2((int *)(end - 7), 0));
	int next = dup(0);
	report("pipe2-past-end-left-no-fd", next == lowest);
	return 0;
}
