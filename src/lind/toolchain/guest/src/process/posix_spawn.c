/* wasm32-lind: posix_spawn without copying the caller.
 *
 * musl spawns with clone(CLONE_VM|CLONE_VFORK) from assembly; a cage cannot
 * share its memory with a child, and a fork would copy it (and make the
 * program one Asyncify instruments).  Instead the parent writes down what the
 * child must do -- its attributes, file actions, argv and envp -- as a plan,
 * and call 1024 (spawn) makes a child cage that starts this same program
 * afresh at __lind_spawn_start, not _start.  The child fetches the plan (call
 * 1025), applies it with ordinary system calls (so a grate sees them as the
 * child's, as after a fork) and execs; if anything fails it writes the
 * (positive) errno into a close-on-exec pipe and exits with status 127.  The
 * parent reads the pipe: end-of-file means the exec happened, 4 bytes are the
 * error, after which it reaps the child.  posix_spawnp sets attr->__fn to
 * __execvpe (a function-table index, the same in the child: the same
 * program); system() and popen() are built on this. */
#define _GNU_SOURCE
#include <spawn.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/wait.h>
#include "syscall.h"
#include "pthread_impl.h"
#include "fdop.h"

typedef int (*exec_fn)(const char *, char *const *, char *const *);

/* One file action, in the order they were added.  Strings are offsets into the
 * plan (0: none). */
struct plan_action {
	int cmd, fd, srcfd, oflag;
	mode_t mode;
	uint32_t path;
};

/* The plan: this header, the actions, then the strings. */
struct plan {
	uint32_t size;
	int errfd, readfd;              /* the error pipe's ends */
	posix_spawnattr_t attr;
	sigset_t parent_mask;           /* the mask to exec with unless SETSIGMASK */
	uint32_t path_env;              /* the parent's PATH (posix_spawnp), or 0 */
	uint32_t path, nactions, argc, envc;
	/* uint32_t argv[argc], envp[envc]; struct plan_action actions[nactions] */
};

/* Signal dispositions for the child: the ones in the SETSIGDEF set go to
 * SIG_DFL (the host has put caught ones there already: the child's program
 * is a fresh start of the parent's, whose handlers must not run in it). */
static void reset_signals(const posix_spawnattr_t *attr)
{
	struct sigaction sa = {0};
	int sig;

	if (!(attr->__flags & POSIX_SPAWN_SETSIGDEF))
		return;
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < _NSIG; sig++)
		if (sigismember(&attr->__def, sig))
			__libc_sigaction(sig, &sa, 0);
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

/* Apply the file actions in order; *errfd is the pipe's write end, moved out of
 * the way when an action names it.  Returns 0 or -errno. */
static int apply_file_actions(const struct plan *p, const struct plan_action *op,
	int *errfd)
{
	const char *base = (const char *)p;
	int r;

	for (uint32_t i = 0; i < p->nactions; i++, op++) {
		const char *path = base + op->path;
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
			r = __sys_open(path, op->oflag, op->mode);
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
			if ((r = __syscall(SYS_chdir, path)) < 0)
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

/* The child's program, from its spawn entry: apply the plan and exec. */
static _Noreturn void spawned_child(const struct plan *p)
{
	const char *base = (const char *)p;
	const uint32_t *offsets = (const uint32_t *)(p + 1);
	const struct plan_action *actions =
		(const struct plan_action *)(offsets + p->argc + p->envc);
	char **argv = malloc((p->argc + 1 + p->envc + 1) * sizeof *argv);
	char **envp = argv ? argv + p->argc + 1 : 0;
	const posix_spawnattr_t *attr = &p->attr;
	int errfd = p->errfd;
	int r = -ENOMEM;

	__syscall(SYS_close, p->readfd);
	if (!argv)
		goto fail;
	for (uint32_t i = 0; i < p->argc; i++)
		argv[i] = (char *)base + offsets[i];
	argv[p->argc] = 0;
	for (uint32_t i = 0; i < p->envc; i++)
		envp[i] = (char *)base + offsets[p->argc + i];
	envp[p->envc] = 0;
	/* posix_spawnp searches the parent's PATH, which this fresh start lacks */
	if (p->path_env ? setenv("PATH", base + p->path_env, 1) : unsetenv("PATH"))
		goto fail;

	reset_signals(attr);
	r = 0;
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
	if ((r = apply_file_actions(p, actions, &errfd)) < 0)
		goto fail;
	pthread_sigmask(SIG_SETMASK, (attr->__flags & POSIX_SPAWN_SETSIGMASK)
		? &attr->__mask : &p->parent_mask, 0);

	exec_fn exec = attr->__fn ? (exec_fn)attr->__fn : execve;
	exec(base + p->path, argv, envp);
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

/* Where a spawned child starts, exported from the programs that link
 * posix_spawn: libc set up as _start does it, no constructors and no main --
 * the plan, then exec. */
__attribute__((export_name("__lind_spawn_start")))
_Noreturn void __lind_spawn_start(void)
{
	int __lind_init(char ***);
	char **argv;
	struct plan *p;
	long size;

	__lind_init(&argv);
	size = __syscall(__LIND_SYS_spawn_plan, 0, 0);
	if (size < (long)sizeof *p || !(p = malloc(size))
	    || __syscall(__LIND_SYS_spawn_plan, p, size) != size || p->size != size)
		_exit(127);
	spawned_child(p);
}

static size_t vector_bytes(char *const v[], uint32_t *count)
{
	size_t n = 0;
	*count = 0;
	for (; v && v[*count]; ++*count)
		n += strlen(v[*count]) + 1;
	return n;
}

/* Copy string `s` to the plan's string area at *at; its offset. */
static uint32_t put(struct plan *p, size_t *at, const char *s)
{
	size_t len = strlen(s) + 1;
	uint32_t offset = *at;
	memcpy((char *)p + *at, s, len);
	*at += len;
	return offset;
}

/* The plan for a child (malloc'd; NULL and errno on failure). */
static struct plan *make_plan(const char *path, const posix_spawn_file_actions_t *fa,
	const posix_spawnattr_t *attr, char *const argv[], char *const envp[],
	const sigset_t *mask, int errfd, int readfd)
{
	struct fdop *op = fa ? fa->__actions : 0, *first = op;
	uint32_t argc, envc, nactions = 0;
	const char *path_env = attr->__fn ? getenv("PATH") : 0;
	size_t strings = strlen(path) + 1 + vector_bytes(argv, &argc)
		+ vector_bytes(envp, &envc) + (path_env ? strlen(path_env) + 1 : 0);

	for (; op; op = op->next) {   /* newest first: the first added is the last */
		nactions++;
		strings += strlen(op->path) + 1;
		first = op;
	}
	size_t head = sizeof(struct plan) + 4 * ((size_t)argc + envc)
		+ nactions * sizeof(struct plan_action);
	if (head + strings > 0x7fffffff) {
		errno = E2BIG;
		return 0;
	}
	struct plan *p = malloc(head + strings);
	if (!p)
		return 0;
	*p = (struct plan){ .size = head + strings, .errfd = errfd, .readfd = readfd,
		.attr = *attr, .parent_mask = *mask, .nactions = nactions,
		.argc = argc, .envc = envc };
	uint32_t *offsets = (uint32_t *)(p + 1);
	struct plan_action *action = (struct plan_action *)(offsets + argc + envc);
	size_t at = head;
	p->path = put(p, &at, path);
	p->path_env = path_env ? put(p, &at, path_env) : 0;
	for (uint32_t i = 0; i < argc; i++)
		offsets[i] = put(p, &at, argv[i]);
	for (uint32_t i = 0; i < envc; i++)
		offsets[argc + i] = put(p, &at, envp[i]);
	for (op = nactions ? first : 0; op; op = op->prev, action++) {
		*action = (struct plan_action){ op->cmd, op->fd, op->srcfd, op->oflag, op->mode,
			put(p, &at, op->path) };
	}
	return p;
}

int posix_spawn(pid_t *restrict res, const char *restrict path,
	const posix_spawn_file_actions_t *fa,
	const posix_spawnattr_t *restrict attr,
	char *const argv[restrict], char *const envp[restrict])
{
	static const posix_spawnattr_t no_attr;
	sigset_t mask;
	int p[2], err = 0, cs;
	long pid = -1;
	struct plan *plan;

	if (!attr)
		attr = &no_attr;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_sigmask(SIG_BLOCK, SIGALL_SET, &mask);

	if (pipe2(p, O_CLOEXEC)) {
		err = errno;
		goto out;
	}
	plan = make_plan(path, fa, attr, argv, envp, &mask, p[1], p[0]);
	if (!plan) {
		err = errno;
	} else {
		pid = __syscall(__LIND_SYS_spawn, plan, plan->size);
		free(plan);
		if (pid < 0)
			err = -pid;
	}
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
