/* wasm32-lind: thin system-call wrappers.
 *
 * zig's copy of musl drops these files (zig implements them in Zig for its
 * Linux targets, which cannot be built for a new architecture), so the lind
 * guest defines them here.  Each is a direct Linux x86_64 system call with
 * musl's semantics.  They are weak so that a program may define a function
 * of the same name without a duplicate-symbol error. */

#define _GNU_SOURCE
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/utsname.h>
#include <sys/reboot.h>
/* musl has no <sys/capability.h>; these take kernel cap_user_* structures. */
int capget(void *, void *);
int capset(void *, void *);
#include "syscall.h"

#define W __attribute__((__weak__))

W void _exit(int status) { _Exit(status); }

W int access(const char *path, int mode) { return syscall(SYS_access, path, mode); }
W int acct(const char *path) { return syscall(SYS_acct, path); }
W int chdir(const char *path) { return syscall(SYS_chdir, path); }
W int chown(const char *path, uid_t u, gid_t g) { return syscall(SYS_chown, path, u, g); }
W int lchown(const char *path, uid_t u, gid_t g) { return syscall(SYS_lchown, path, u, g); }
W int fchownat(int fd, const char *path, uid_t u, gid_t g, int flag)
{
	return syscall(SYS_fchownat, fd, path, u, g, flag);
}
W int chroot(const char *path) { return syscall(SYS_chroot, path); }

static int dummy_aio_close(int fd) { return fd; }
weak_alias(dummy_aio_close, __aio_close);

W int close(int fd)
{
	fd = __aio_close(fd);
	int r = __syscall_cp(SYS_close, fd);
	/* POSIX: after EINTR the descriptor is gone anyway (Linux). */
	if (r == -EINTR) r = 0;
	return __syscall_ret(r);
}

W int posix_close(int fd, int flags) { (void)flags; return close(fd); }

W char *ctermid(char *s)
{
	static char buf[L_ctermid];
	return strcpy(s ? s : buf, "/dev/tty");
}

W int dup(int fd) { return syscall(SYS_dup, fd); }

W int dup2(int old, int new)
{
	int r;
	while ((r = __syscall(SYS_dup2, old, new)) == -EBUSY);
	return __syscall_ret(r);
}

W int __dup3(int old, int new, int flags)
{
	int r;
	if (old == new) return __syscall_ret(-EINVAL);
	while ((r = __syscall(SYS_dup3, old, new, flags)) == -EBUSY);
	return __syscall_ret(r);
}
weak_alias(__dup3, dup3);

W int fallocate(int fd, int mode, off_t base, off_t len)
{
	return syscall(SYS_fallocate, fd, mode, base, len);
}
W int posix_fallocate(int fd, off_t base, off_t len)
{
	return -__syscall(SYS_fallocate, fd, 0, base, len);
}
W int posix_fadvise(int fd, off_t base, off_t len, int advice)
{
	return -__syscall(SYS_fadvise64, fd, base, len, advice);
}

W int flock(int fd, int op) { return syscall(SYS_flock, fd, op); }

W uid_t getuid(void) { return __syscall(SYS_getuid); }
W uid_t geteuid(void) { return __syscall(SYS_geteuid); }
W gid_t getgid(void) { return __syscall(SYS_getgid); }
W gid_t getegid(void) { return __syscall(SYS_getegid); }
W pid_t getpid(void) { return __syscall(SYS_getpid); }
W pid_t getppid(void) { return __syscall(SYS_getppid); }
W pid_t getpgid(pid_t pid) { return syscall(SYS_getpgid, pid); }
W pid_t getpgrp(void) { return __syscall(SYS_getpgid, 0); }
W pid_t getsid(pid_t pid) { return syscall(SYS_getsid, pid); }
W int getgroups(int count, gid_t list[]) { return syscall(SYS_getgroups, count, list); }
W int setpgid(pid_t pid, pid_t pgid) { return syscall(SYS_setpgid, pid, pgid); }
W pid_t setpgrp(void) { return setpgid(0, 0); }

W int isastream(int fd) { return fcntl(fd, F_GETFD) < 0 ? -1 : 0; }

W int link(const char *a, const char *b) { return syscall(SYS_link, a, b); }
W int linkat(int fd1, const char *a, int fd2, const char *b, int flag)
{
	return syscall(SYS_linkat, fd1, a, fd2, b, flag);
}
W int symlink(const char *a, const char *b) { return syscall(SYS_symlink, a, b); }
W int symlinkat(const char *a, int fd, const char *b) { return syscall(SYS_symlinkat, a, fd, b); }
W int unlink(const char *path) { return syscall(SYS_unlink, path); }
W int unlinkat(int fd, const char *path, int flag) { return syscall(SYS_unlinkat, fd, path, flag); }
W int rmdir(const char *path) { return syscall(SYS_rmdir, path); }
W int renameat(int fd1, const char *a, int fd2, const char *b)
{
	return syscall(SYS_renameat, fd1, a, fd2, b);
}

W int pipe(int fd[2]) { return syscall(SYS_pipe, fd); }

W void sync(void) { __syscall(SYS_sync); }

W ssize_t tee(int in, int out, size_t len, unsigned flags)
{
	return syscall(SYS_tee, in, out, len, flags);
}

W int uname(struct utsname *u) { return syscall(SYS_uname, u); }

W int reboot(int type) { return syscall(SYS_reboot, 0xfee1dead, 672274793, type); }

W int capget(void *a, void *b) { return syscall(SYS_capget, a, b); }
W int capset(void *a, void *b) { return syscall(SYS_capset, a, b); }

/* Memory: the host keeps the mapping bookkeeping; addresses are rounded to
 * the 4096-byte page as Linux requires. */
W int __madvise(void *addr, size_t len, int advice)
{
	return syscall(SYS_madvise, addr, len, advice);
}
weak_alias(__madvise, madvise);

W int posix_madvise(void *addr, size_t len, int advice)
{
	if (advice == MADV_DONTNEED) return 0;
	return -__syscall(SYS_madvise, addr, len, advice);
}

/* As glibc: the arguments as given (musl rounds the start down, which hides an
 * unaligned address the kernel refuses with EINVAL). */
W int __mprotect(void *addr, size_t len, int prot)
{
	return syscall(SYS_mprotect, addr, len, prot);
}
weak_alias(__mprotect, mprotect);

W int mincore(void *addr, size_t len, unsigned char *vec)
{
	return syscall(SYS_mincore, addr, len, vec);
}
W int mlock(const void *addr, size_t len) { return syscall(SYS_mlock, addr, len); }
W int munlock(const void *addr, size_t len) { return syscall(SYS_munlock, addr, len); }
W int mlockall(int flags) { return syscall(SYS_mlockall, flags); }
W int munlockall(void) { return syscall(SYS_munlockall); }
