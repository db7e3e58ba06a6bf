/* wasm32-lind: posix_spawn on fork + execve.
 *
 * musl spawns with clone(CLONE_VM|CLONE_VFORK) from assembly; a cage cannot
 * share its memory with a child, so here the child is a _Fork (no
 * pthread_atfork handlers run, as with musl's).  The child applies the
 * attributes and file actions, then execs; if anything fails it writes the
 * (positive) errno into a close-on-exec pipe and exits with status 127.
 * The parent reads the pipe: end-of-file means the exec happened, 4 bytes
 * are the error, after which it reaps the child.  posix_spawnp sets
 * attr->__fn to __execvpe; system() and popen() are built on this. */
#define _GNU_SOURCE
#include <spawn.h>
#include <sched.h>
#include <unistd.h>
#include <signal.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/wait.h>
#include "syscall.h"
#include "pthread_impl.h"
#include "fdop.h"

typedef int (*exec_fn)(const char *, char *const *, char *const *);

/* Signal dispositions for the child: the ones in the SETSIGDEF set go to
 * SIG_DFL, and so do caught ones, so that no handler of the parent's can
 * run between the fork and the exec. */
static void reset_signals(const posix_spawnattr_t *attr)
{
	struct sigaction sa = {0};
	sigset_t caught;
	int sig;

	__get_handler_set(&caught);
	for (sig = 1; sig < _NSIG; sig++) {
		int to_default = (attr->__flags & POSIX_SPAWN_SETSIGDEF)
			&& sigismember(&attr->__def, sig);
		if (!to_default && !sigismember(&caught, sig))
			continue;
		if (to_default) {
			sa.sa_handler = SIG_DFL;
		} else if (sig >= 32 && sig < 35) {
			sa.sa_handler = SIG_IGN; /* libc-internal signals */
		} else {
			__libc_sigaction(sig, 0, &sa);
			if (sa.sa_handler == SIG_IGN)
				continue;
			sa.sa_handler = SIG_DFL;
		}
		__libc_sigaction(sig, &sa, 0);
	}
}

/* dup2 that also clears FD_CLOEXEC when both descriptors are the same. */
static int move_fd(int from, int to)
{
	if (from != to)
		return __syscall(SYS_dup2, from, to);
	int fl = __syscall(SYS_fcntl, from, F_GETFD);
	if (fl < 0)
		return fl;
	return __syscall(SYS_fcntl, from, F_SETFD, fl & ~FD_CLOEXEC);
}

/* Apply the file actions in the order they were added; *errfd is the
 * pipe's write end, moved out of the way when an action names it.
 * Returns 0 or -errno. */
static int apply_file_actions(const posix_spawn_file_actions_t *fa, int *errfd)
{
	struct fdop *op;
	int r;

	if (!fa || !fa->__actions)
		return 0;
	/* The list is newest first: walk from its tail. */
	for (op = fa->__actions; op->next; op = op->next)
		;
	for (; op; op = op->prev) {
		if (op->fd == *errfd) {
			r = __syscall(SYS_fcntl, *errfd, F_DUPFD_CLOEXEC, 0);
			if (r < 0)
				return r;
			__syscall(SYS_close, *errfd);
			*errfd = r;
		}
		switch (op->cmd) {
		case FDOP_CLOSE:
			__syscall(SYS_close, op->fd);
			break;
		case FDOP_DUP2:
			if (op->srcfd == *errfd)
				return -EBADF;
			if ((r = move_fd(op->srcfd, op->fd)) < 0)
				return r;
			break;
		case FDOP_OPEN:
			r = __sys_open(op->path, op->oflag, op->mode);
			if (r < 0)
				return r;
			if (r != op->fd) {
				int fd = r;
				r = __syscall(SYS_dup2, fd, op->fd);
				__syscall(SYS_close, fd);
				if (r < 0)
					return r;
			}
			break;
		case FDOP_CHDIR:
			if ((r = __syscall(SYS_chdir, op->path)) < 0)
				return r;
			break;
		case FDOP_FCHDIR:
			if ((r = __syscall(SYS_fchdir, op->fd)) < 0)
				return r;
			break;
		}
	}
	return 0;
}

static _Noreturn void spawned_child(int errfd, const char *path,
	const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
	char *const argv[], char *const envp[], const sigset_t *parent_mask)
{
	int r = 0;

	reset_signals(attr);
	if ((attr->__flags & POSIX_SPAWN_SETSID) && (r = __syscall(SYS_setsid)) < 0)
		goto fail;
	if ((attr->__flags & POSIX_SPAWN_SETPGROUP)
	    && (r = __syscall(SYS_setpgid, 0, attr->__pgrp)) < 0)
		goto fail;
	/* System calls, not setgid/setuid: those would synchronise all threads. */
	if ((attr->__flags & POSIX_SPAWN_RESETIDS)
	    && ((r = __syscall(SYS_setgid, __syscall(SYS_getgid))) < 0
	        || (r = __syscall(SYS_setuid, __syscall(SYS_getuid))) < 0))
		goto fail;
	if ((r = apply_file_actions(fa, &errfd)) < 0)
		goto fail;
	pthread_sigmask(SIG_SETMASK, (attr->__flags & POSIX_SPAWN_SETSIGMASK)
		? &attr->__mask : parent_mask, 0);

	exec_fn exec = attr->__fn ? (exec_fn)attr->__fn : execve;
	exec(path, argv, envp);
	r = -errno;
fail:
	if (r < 0) {
		int code = -r;
		while ((r = __syscall(SYS_write, errfd, &code, sizeof code)) < 0
		       && r != -EPIPE)
			;
	}
	_exit(127);
}

int posix_spawn(pid_t *restrict res, const char *restrict path,
	const posix_spawn_file_actions_t *fa,
	const posix_spawnattr_t *restrict attr,
	char *const argv[restrict], char *const envp[restrict])
{
	static const posix_spawnattr_t no_attr;
	sigset_t mask;
	int p[2], err = 0, cs;
	pid_t pid;

	if (!attr)
		attr = &no_attr;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_sigmask(SIG_BLOCK, SIGALL_SET, &mask);

	if (pipe2(p, O_CLOEXEC)) {
		err = errno;
		goto out;
	}
	pid = _Fork();
	if (pid == 0) {
		__syscall(SYS_close, p[0]);
		spawned_child(p[1], path, fa, attr, argv, envp, &mask);
	}
	if (pid < 0)
		err = errno;
	__syscall(SYS_close, p[1]);
	if (pid > 0) {
		ssize_t n;
		while ((n = read(p[0], &err, sizeof err)) < 0 && errno == EINTR)
			;
		if (n != sizeof err) {
			err = 0;
		} else {
			int status;
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
		}
	}
	__syscall(SYS_close, p[0]);
	if (!err && res)
		*res = pid;
out:
	pthread_sigmask(SIG_SETMASK, &mask, 0);
	pthread_setcancelstate(cs, 0);
	return err;
}
