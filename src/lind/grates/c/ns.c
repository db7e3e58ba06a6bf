/* Clamps a stack of grates: only calls that match a condition go through it (Lind's clamping grate).
 *
 * usage: ns.wasm CONDITION %{ GRATE [ARGS] ... %} PROGRAM [ARGS...]
 *   CONDITION: --prefix DIR | --calls CALL[,CALL...] | --fd N[,N...] | --cage PID[,PID...]
 *
 *   lind run ns.wasm --prefix /tmp %{ imfs.wasm strace.wasm %} prog.wasm
 *
 * runs imfs.wasm, which runs strace.wasm, which runs prog.wasm: calls that name a
 * file under /tmp (a path argument, the *at forms resolved against their dirfd and
 * relative names against the working directory; links not followed; an AF_UNIX socket
 * address of bind, connect or sendto), or act on an fd opened by such a name (either
 * fd of sendfile, copy_file_range, splice, tee; close_range of any range), go through
 * strace and then imfs; every other call skips
 * both and goes to the layer below this grate. The grates between %{ and %} are
 * written bottom first, as the command line runs them. --calls: calls by name or number;
 * --fd: calls on these file descriptors; --cage: calls of these cages (their pids).
 * Clamps nest and stand in series.
 *
 * Built from 3i alone. The first grate inside runs as this grate's child, with this
 * grate's handlers for register_handler and execve in its table; fork and exec hand
 * them down, so every cage started inside the clamp has them. A handler a clamped
 * grate registers goes in as it asked (every 3i check applies), then this grate
 * routes it: the registering grate's function is put in this grate's own table at a
 * number no Linux call uses (an alias), and the target's entry becomes a route here
 * that sends a matching call to the alias and any other call on down through this
 * grate's own table. The exec of `%}` (what the last grate inside runs) leaves the
 * clamp: that cage's registrations go through unrouted again, and PROGRAM runs.
 *
 * A call that does not match goes down with the path this grate checked (its own
 * copy, made absolute), so another thread of the program cannot change it, nor the
 * directory it was resolved against, after the check; the fds it judged are pinned
 * (pin_fds) until the call returns, so that a dup2 cannot change them either.
 * At most 390 (grate, handler, call) routes per clamp: past that a registration
 * fails with ENOSPC.
 */
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calls.h"

#define ALIAS_BASE 600                  /* numbers no Linux call uses, below 3i's own */
#define ALIASES 390
#define ROUTE_TAG (1ULL << 40)          /* handler value: a route to alias N */
#define BYPASS_TAG (1ULL << 41)         /* handler value: call N can never match */
#define PATH_LEN 4096

static uint64_t self;
static char prefix[PATH_LEN];
static size_t prefix_len;
static enum { BY_PREFIX, BY_CALLS, BY_FDS, BY_CAGES } by;
static unsigned char wanted[1024 / 8];  /* --calls, --fd: the numbers */
static long cages[64];                  /* --cage */
static int cage_count;

static struct { uint64_t grate, fn; int nr; } aliases[ALIASES];
static int alias_count;
static volatile int alias_lock;

/* -- which arguments name files ------------------------------------------------ */
/* The same tables as src/lind/grates/paths.py (PATH_CALLS, FD_ARGS), which a test
 * holds this file to. */

struct path_arg { int nr, path, dirfd; };   /* dirfd -1: relative to the working dir */

static const struct path_arg path_args[] = {
	{SYS_open, 0, -1}, {SYS_creat, 0, -1}, {SYS_openat, 1, 0}, {SYS_stat, 0, -1},
	{SYS_lstat, 0, -1}, {SYS_newfstatat, 1, 0}, {SYS_statx, 1, 0}, {SYS_access, 0, -1},
	{SYS_faccessat, 1, 0}, {SYS_faccessat2, 1, 0}, {SYS_readlink, 0, -1},
	{SYS_readlinkat, 1, 0}, {SYS_unlink, 0, -1}, {SYS_unlinkat, 1, 0}, {SYS_rmdir, 0, -1},
	{SYS_mkdir, 0, -1}, {SYS_mkdirat, 1, 0}, {SYS_mknod, 0, -1}, {SYS_mknodat, 1, 0},
	{SYS_rename, 0, -1}, {SYS_rename, 1, -1}, {SYS_renameat, 1, 0}, {SYS_renameat, 3, 2},
	{SYS_renameat2, 1, 0}, {SYS_renameat2, 3, 2}, {SYS_link, 0, -1}, {SYS_link, 1, -1},
	{SYS_linkat, 1, 0}, {SYS_linkat, 3, 2}, {SYS_symlink, 1, -1}, {SYS_symlinkat, 2, 1},
	{SYS_chmod, 0, -1}, {SYS_fchmodat, 1, 0}, {SYS_fchmodat2, 1, 0}, {SYS_chown, 0, -1},
	{SYS_lchown, 0, -1},
	{SYS_fchownat, 1, 0}, {SYS_truncate, 0, -1}, {SYS_utime, 0, -1}, {SYS_utimes, 0, -1},
	{SYS_futimesat, 1, 0}, {SYS_utimensat, 1, 0}, {SYS_chdir, 0, -1}, {SYS_chroot, 0, -1},
	{SYS_execve, 0, -1}, {SYS_execveat, 1, 0}, {SYS_statfs, 0, -1},
	{SYS_inotify_add_watch, 1, -1}, {SYS_fanotify_mark, 4, 3}, {SYS_openat2, 1, 0},
	{SYS_name_to_handle_at, 1, 0}, {SYS_uselib, 0, -1}, {SYS_acct, 0, -1},
	{SYS_swapon, 0, -1}, {SYS_swapoff, 0, -1}, {SYS_mount, 0, -1}, {SYS_mount, 1, -1},
	{SYS_umount2, 0, -1}, {SYS_pivot_root, 0, -1}, {SYS_pivot_root, 1, -1},
	{SYS_quotactl, 1, -1}, {SYS_open_tree, 1, 0}, {SYS_move_mount, 1, 0},
	{SYS_move_mount, 3, 2}, {SYS_fspick, 1, 0}, {SYS_mount_setattr, 1, 0},
	{SYS_setxattr, 0, -1}, {SYS_lsetxattr, 0, -1}, {SYS_getxattr, 0, -1},
	{SYS_lgetxattr, 0, -1}, {SYS_listxattr, 0, -1}, {SYS_llistxattr, 0, -1},
	{SYS_removexattr, 0, -1}, {SYS_lremovexattr, 0, -1},
};

/* Every call that takes fds of the caller's, and which arguments they are (-1: none):
 * a call matches when either does. Not here: an *at call's dirfd (path_args), fds in
 * memory (poll, select, SCM_RIGHTS), close_range's range (matched apart). */
struct fd_arg { int nr, fd, other; };

static const struct fd_arg fd_args[] = {
	{SYS_read, 0, -1}, {SYS_write, 0, -1}, {SYS_pread64, 0, -1}, {SYS_pwrite64, 0, -1},
	{SYS_readv, 0, -1}, {SYS_writev, 0, -1}, {SYS_preadv, 0, -1}, {SYS_pwritev, 0, -1},
	{SYS_preadv2, 0, -1}, {SYS_pwritev2, 0, -1}, {SYS_lseek, 0, -1}, {SYS_fstat, 0, -1},
	{SYS_fstatfs, 0, -1}, {SYS_fsync, 0, -1}, {SYS_fdatasync, 0, -1}, {SYS_syncfs, 0, -1},
	{SYS_sync_file_range, 0, -1}, {SYS_readahead, 0, -1}, {SYS_fadvise64, 0, -1},
	{SYS_ftruncate, 0, -1}, {SYS_fallocate, 0, -1}, {SYS_fchmod, 0, -1},
	{SYS_fchown, 0, -1}, {SYS_fchdir, 0, -1}, {SYS_getdents, 0, -1},
	{SYS_getdents64, 0, -1}, {SYS_ioctl, 0, -1}, {SYS_fcntl, 0, -1}, {SYS_flock, 0, -1},
	{SYS_close, 0, -1}, {SYS_dup, 0, -1}, {SYS_dup2, 0, 1}, {SYS_dup3, 0, 1},
	{SYS_fsetxattr, 0, -1}, {SYS_fgetxattr, 0, -1}, {SYS_flistxattr, 0, -1},
	{SYS_fremovexattr, 0, -1}, {SYS_mmap, 4, -1},
	{SYS_sendfile, 0, 1}, {SYS_copy_file_range, 0, 2}, {SYS_splice, 0, 2}, {SYS_tee, 0, 1},
	{SYS_vmsplice, 0, -1},
	{SYS_connect, 0, -1}, {SYS_accept, 0, -1}, {SYS_accept4, 0, -1}, {SYS_bind, 0, -1},
	{SYS_listen, 0, -1}, {SYS_shutdown, 0, -1}, {SYS_getsockname, 0, -1},
	{SYS_getpeername, 0, -1}, {SYS_setsockopt, 0, -1}, {SYS_getsockopt, 0, -1},
	{SYS_sendto, 0, -1}, {SYS_recvfrom, 0, -1}, {SYS_sendmsg, 0, -1}, {SYS_recvmsg, 0, -1},
	{SYS_sendmmsg, 0, -1}, {SYS_recvmmsg, 0, -1},
	{SYS_epoll_wait, 0, -1}, {SYS_epoll_pwait, 0, -1}, {SYS_epoll_pwait2, 0, -1},
	{SYS_epoll_ctl_old, 0, -1}, {SYS_epoll_wait_old, 0, -1}, {SYS_epoll_ctl, 0, 2},
	{SYS_signalfd, 0, -1}, {SYS_signalfd4, 0, -1}, {SYS_timerfd_settime, 0, -1},
	{SYS_timerfd_gettime, 0, -1}, {SYS_inotify_add_watch, 0, -1},
	{SYS_inotify_rm_watch, 0, -1}, {SYS_fanotify_mark, 0, -1},
	{SYS_mq_timedsend, 0, -1}, {SYS_mq_timedreceive, 0, -1}, {SYS_mq_notify, 0, -1},
	{SYS_mq_getsetattr, 0, -1}, {SYS_open_by_handle_at, 0, -1}, {SYS_setns, 0, -1},
	{SYS_finit_module, 0, -1}, {SYS_fsconfig, 0, -1}, {SYS_fsmount, 0, -1},
	{SYS_pidfd_send_signal, 0, -1}, {SYS_pidfd_getfd, 0, -1},
	{SYS_process_madvise, 0, -1}, {SYS_process_mrelease, 0, -1},
	{SYS_io_uring_enter, 0, -1}, {SYS_io_uring_register, 0, -1},
	{SYS_landlock_add_rule, 0, -1}, {SYS_landlock_restrict_self, 0, -1},
	{SYS_cachestat, 0, -1}, {SYS_kexec_file_load, 0, 1}, {SYS_perf_event_open, 3, -1},
};

static const struct fd_arg *fd_arg_of(int nr)
{
	for (size_t i = 0; i < sizeof fd_args / sizeof fd_args[0]; i++)
		if (fd_args[i].nr == nr)
			return &fd_args[i];
	return NULL;
}

static int is_fd_call(int nr)
{
	return fd_arg_of(nr) != NULL || nr == SYS_close_range;
}

/* bind, connect, sendto: a socket address (argument, its length) that may name a file. */
static int address_arg(int nr, int *len)
{
	*len = nr == SYS_sendto ? 5 : 2;
	return nr == SYS_bind || nr == SYS_connect ? 1 : nr == SYS_sendto ? 4 : -1;
}

static int names_files(int nr)
{
	int len;
	for (size_t i = 0; i < sizeof path_args / sizeof path_args[0]; i++)
		if (path_args[i].nr == nr)
			return 1;
	return address_arg(nr, &len) >= 0;
}

static int in_set(long n)
{
	return n >= 0 && n < 1024 && (wanted[n / 8] >> (n % 8) & 1);
}

static int may_match(int nr)
{
	switch (by) {
	case BY_CALLS:
		return in_set(nr);
	case BY_FDS:
		return is_fd_call(nr);
	case BY_CAGES:
		return 1;
	default:
		return names_files(nr) || is_fd_call(nr);
	}
}

/* -- paths as the microvisor resolves them ------------------------------------- */

static uint64_t mine(void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Fold ".", ".." and repeated slashes of the absolute `path`, in place. */
static void fold(char *path)
{
	char *out = path, *in = path;
	while (*in) {
		while (*in == '/')
			in++;
		char *end = strchr(in, '/');
		size_t len = end ? (size_t)(end - in) : strlen(in);
		if (len == 0 || (len == 1 && in[0] == '.')) {
			/* nothing */
		} else if (len == 2 && in[0] == '.' && in[1] == '.') {
			while (out > path && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, len);
			out += len;
		}
		in += len;
	}
	if (out == path)
		*out++ = '/';
	*out = 0;
}

/* The path the cage's fd was opened as (-1 if it has none). */
static int fd_path(uint64_t cage, int fd, char *out)
{
	char link[40];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	int n = make_threei_call(SYS_readlinkat, 0, self, cage, (uint64_t)AT_FDCWD, cage,
	                         mine(link), self | GRATE_MEMORY_FLAG, mine(out),
	                         self | GRATE_MEMORY_FLAG, PATH_LEN - 1, cage, 0, cage, 0, cage, 0);
	if (n <= 0 || out[0] != '/')
		return -1;
	out[n] = 0;
	return 0;
}

/* The absolute path a path argument names (raw: the caller's bytes, copied here). */
static int resolve(uint64_t cage, const char *raw, int dirfd, char *out)
{
	if (raw[0] == '/') {
		snprintf(out, PATH_LEN, "%s", raw);
	} else {
		char base[PATH_LEN];
		if (dirfd == AT_FDCWD || dirfd == -1000) {
			int n = make_threei_call(SYS_getcwd, 0, self, cage, mine(base),
			                         self | GRATE_MEMORY_FLAG, sizeof base, cage, 0, cage,
			                         0, cage, 0, cage, 0, cage, 0);
			if (n <= 0)
				return -1;
		} else if (fd_path(cage, dirfd, base) != 0) {
			return -1;
		}
		if (snprintf(out, PATH_LEN, "%s/%s", base, raw) >= PATH_LEN)
			return -1;
	}
	fold(out);
	return 0;
}

static int under_prefix(const char *path)
{
	return strcmp(prefix, "/") == 0 ||
	       (strncmp(path, prefix, prefix_len) == 0 &&
	        (path[prefix_len] == 0 || path[prefix_len] == '/'));
}

/* Whether the socket address in argument `at` (its length in `len_at`) names a file
 * under the prefix: an AF_UNIX path, not an abstract name. The address is copied into
 * `copy` and the argument made to point at it, as a path argument is. < 0: -errno. */
static int address_matches(uint64_t cage, uint64_t *a, uint64_t *c, int at, int len_at,
                           char *copy)
{
	int32_t len = (int32_t)a[len_at];
	if (len <= 2 || len > 128)          /* no name, or what the layer below refuses */
		return 0;
	if (copy_data_between_cages(self, cage, a[at], c[at], mine(copy),
	                            self | GRATE_MEMORY_FLAG, (uint64_t)len, COPY_RAW) < 0)
		return -errno;
	a[at] = mine(copy);
	c[at] = self | GRATE_MEMORY_FLAG;
	if (((unsigned char)copy[0] | (unsigned char)copy[1] << 8) != AF_UNIX || copy[2] == 0)
		return 0;
	char name[112], path[PATH_LEN];
	size_t n = (size_t)len - 2 < sizeof name - 1 ? (size_t)len - 2 : sizeof name - 1;
	memcpy(name, copy + 2, n);
	name[n] = 0;
	return resolve(cage, name, -1000, path) == 0 && under_prefix(path);
}

/* Whether the call matches; a path argument is copied into `copies` and the argument
 * made to point at the copy (what goes down if it does not match). < 0: -errno. */
static int matches(int nr, uint64_t cage, uint64_t *a, uint64_t *c,
                   char copies[3][PATH_LEN])
{
	if (by == BY_CALLS)
		return in_set(nr);
	const struct fd_arg *fds = fd_arg_of(nr);
	if (by == BY_FDS && nr == SYS_close_range) {      /* first and last of a range */
		for (uint64_t n = (uint32_t)a[0]; n <= (uint32_t)a[1] && n < 1024; n++)
			if (in_set((long)n))
				return 1;
		return 0;
	}
	if (by == BY_FDS)       /* sendfile, splice ...: either fd */
		return fds && (in_set((int)a[fds->fd]) ||
		               (fds->other >= 0 && in_set((int)a[fds->other])));
	if (by == BY_CAGES) {
		for (int i = 0; i < cage_count; i++)
			if ((uint64_t)cages[i] == cage)
				return 1;
		return 0;
	}
	int hit = 0, used = 0;
	for (size_t i = 0; i < sizeof path_args / sizeof path_args[0]; i++) {
		const struct path_arg *p = &path_args[i];
		if (p->nr != nr || !a[p->path])
			continue;
		char *raw = copies[used++], path[PATH_LEN];
		if (copy_data_between_cages(self, cage, a[p->path], c[p->path], mine(raw),
		                            self | GRATE_MEMORY_FLAG, PATH_LEN, COPY_STRING) < 0)
			return -errno;
		a[p->path] = mine(raw);
		c[p->path] = self | GRATE_MEMORY_FLAG;
		int dirfd = p->dirfd < 0 ? -1000 : (int)a[p->dirfd];
		if (nr == SYS_execve && strcmp(raw, "%}") == 0) {
			hit = 1;          /* the end of a clamp inside: its own grate takes it */
		} else if (raw[0] == 0) {        /* an *at call on its dirfd itself */
			if (p->dirfd >= 0 && fd_path(cage, dirfd, path) == 0)
				hit |= under_prefix(path);
		} else if (resolve(cage, raw, dirfd, path) == 0) {
			hit |= under_prefix(path);
			if (raw[0] != '/') {
				/* What goes down is what was checked: the absolute path, not the
				 * dirfd or cwd another thread may change meanwhile (dup2, chdir). */
				strcpy(raw, path);
				if (p->dirfd >= 0)
					a[p->dirfd] = (uint32_t)AT_FDCWD;
			}
		}
	}
	int len_at, at = address_arg(nr, &len_at);
	if (at >= 0 && a[at]) {
		int r = address_matches(cage, a, c, at, len_at, copies[used]);
		if (r < 0)
			return r;
		hit |= r;
	}
	if (nr == SYS_close_range)      /* it may close a file under the prefix: seen inside */
		hit |= (uint32_t)a[0] <= (uint32_t)a[1];
	for (int i = 0; fds && i < 2; i++) {
		int index = i == 0 ? fds->fd : fds->other;
		char path[PATH_LEN];
		if (index >= 0 && fd_path(cage, (int)a[index], path) == 0)
			hit |= under_prefix(path);
	}
	return hit;
}

/* -- routes ---------------------------------------------------------------------- */

static int call_as(int nr, uint64_t cage, uint64_t *a, uint64_t *c)
{
	return make_threei_call(nr, 0, self, cage, a[0], c[0], a[1], c[1], a[2], c[2], a[3],
	                        c[3], a[4], c[4], a[5], c[5], 0);
}

int on_execve(uint64_t cage, uint64_t *a, uint64_t *c);

/* What a call that skips the clamp gets: the layer below this grate. */
static int bypass(int nr, uint64_t cage, uint64_t *a, uint64_t *c)
{
	if (nr == SYS_execve)       /* this grate's own handler is that layer's top */
		return on_execve(cage, a, c);
	return call_as(nr, cage, a, c);
}

/* The fds --prefix judges call `nr` by (its dirfds and fd arguments), at most 3. */
static int judged_fds(int nr, const uint64_t *a, int out[3])
{
	int n = 0;
	for (size_t i = 0; i < sizeof path_args / sizeof path_args[0] && n < 3; i++)
		if (path_args[i].nr == nr && path_args[i].dirfd >= 0 && (int)a[path_args[i].dirfd] >= 0)
			out[n++] = (int)a[path_args[i].dirfd];
	const struct fd_arg *fds = fd_arg_of(nr);
	if (fds && n < 3 && (int)a[fds->fd] >= 0)
		out[n++] = (int)a[fds->fd];
	if (fds && fds->other >= 0 && n < 3 && (int)a[fds->other] >= 0)
		out[n++] = (int)a[fds->other];
	return n;
}

static int route(int k, uint64_t cage, uint64_t *a, uint64_t *c)
{
	uint64_t given[6], given_cages[6];
	char copies[3][PATH_LEN];
	memcpy(given, a, sizeof given);
	memcpy(given_cages, c, sizeof given_cages);
	int nr = aliases[k].nr;
	/* The files this grate judges are the ones the call acts on, below or inside: held
	 * on this thread, so that another thread's dup2 between the look (readlink of
	 * /proc/self/fd/N) and the call cannot change them. */
	int fds[3] = {-1, -1, -1};
	int pinned = by == BY_PREFIX ? judged_fds(nr, a, fds) : 0;
	if (pinned && pin_fds(cage, pinned, fds[0], fds[1], fds[2]) != 0)
		return -errno;
	int r = matches(nr, cage, a, c, copies);
	if (r > 0)    /* the clamped grate reads the arguments as they were given */
		r = call_as(ALIAS_BASE + k, cage, given, given_cages);
	else if (r == 0)
		r = bypass(nr, cage, a, c);
	if (pinned)
		unpin_fds(cage);
	return r;
}

/* The alias of (grate, fn) for call `nr`, made if new; -1 when there is no room. */
static int alias_for(uint64_t grate, uint64_t fn, int nr)
{
	while (__sync_lock_test_and_set(&alias_lock, 1))
		;
	int k;
	for (k = 0; k < alias_count; k++)
		if (aliases[k].grate == grate && aliases[k].fn == fn && aliases[k].nr == nr)
			break;
	if (k == alias_count) {
		if (k == ALIASES || register_handler(self, ALIAS_BASE + k, grate, fn) != 0) {
			k = -1;
		} else {
			aliases[k].grate = grate;
			aliases[k].fn = fn;
			aliases[k].nr = nr;
			__atomic_store_n(&alias_count, k + 1, __ATOMIC_RELEASE);
		}
	}
	__sync_lock_release(&alias_lock);
	return k;
}

/* register_handler from a cage inside the clamp. */
int on_register(uint64_t cage, uint64_t *a, uint64_t *c)
{
	uint64_t target = a[0], grate = a[2], fn = a[3];
	int nr = (int)a[1];
	int k = -1;
	int routed = grate != THREEI_DEREGISTER && nr >= 0 && nr < ALIAS_BASE;
	if (routed && may_match(nr) && (k = alias_for(grate, fn, nr)) < 0)
		return -ENOSPC;
	int r = call_as(REGISTER_HANDLER_SYSCALL, cage, a, c);    /* as the grate asked */
	if (r != 0 || !routed)
		return r;
	uint64_t route_value = k >= 0 ? ROUTE_TAG + (uint64_t)k : BYPASS_TAG + (uint64_t)nr;
	return register_handler(target, nr, self, route_value) == 0 ? 0 : -errno;
}

/* register_handler from a cage that left the clamp: as it would go without this grate
 * (an enclosing clamp's handler below, if any, still applies). */
int on_register_outside(uint64_t cage, uint64_t *a, uint64_t *c)
{
	return call_as(REGISTER_HANDLER_SYSCALL, cage, a, c);
}

/* execve inside the clamp: `%}` leaves it. */
int on_execve(uint64_t cage, uint64_t *a, uint64_t *c)
{
	char path[4];
	if (copy_data_between_cages(self, cage, a[0], c[0], mine(path), self | GRATE_MEMORY_FLAG,
	                            sizeof path, COPY_STRING) < 0 ||
	    strcmp(path, "%}") != 0)
		return call_as(SYS_execve, cage, a, c);
	uint32_t next = 0;        /* argv[1]: the program after %} (wasm32 pointers) */
	if (copy_data_between_cages(self, cage, a[1] + 4, c[1], mine(&next),
	                            self | GRATE_MEMORY_FLAG, sizeof next, COPY_RAW) < 0)
		return -EFAULT;
	if (!next)
		return -ENOENT;
	if (register_handler(cage, REGISTER_HANDLER_SYSCALL, self, mine(on_register_outside)) != 0)
		return -errno;
	uint64_t args[6] = {next, a[1] + 4, a[2], a[3], a[4], a[5]};
	uint64_t cages[6] = {c[1], c[1], c[2], c[3], c[4], c[5]};
	return call_as(SYS_execve, cage, args, cages);
}

int pass_fptr_to_wt(uint64_t fn, uint64_t cage, uint64_t a1, uint64_t c1, uint64_t a2,
                    uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4,
                    uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	uint64_t a[6] = {a1, a2, a3, a4, a5, a6}, c[6] = {c1, c2, c3, c4, c5, c6};
	/* fn is whatever a cage registered (a cage below may route its own calls here):
	 * only the values this grate hands out mean anything. */
	if (fn >= BYPASS_TAG && fn - BYPASS_TAG < ALIAS_BASE)
		return bypass((int)(fn - BYPASS_TAG), cage, a, c);
	if (fn >= ROUTE_TAG && fn - ROUTE_TAG < (uint64_t)__atomic_load_n(&alias_count, __ATOMIC_ACQUIRE))
		return route((int)(fn - ROUTE_TAG), cage, a, c);
	if (fn == mine(on_register))
		return on_register(cage, a, c);
	if (fn == mine(on_register_outside))
		return on_register_outside(cage, a, c);
	if (fn == mine(on_execve))
		return on_execve(cage, a, c);
	return -ENOSYS;
}

static int usage(void)
{
	fprintf(stderr, "usage: ns.wasm (--prefix DIR | --calls CALL,... | --fd N,... | --cage PID,...) "
	                "%%{ GRATE [ARGS] ... %%} PROGRAM [ARGS...]\n");
	return 2;
}

/* "N,N,..." into the bit set (or, for --cage, the list); 0 if it is not such a list. */
static int numbers(char *text, long limit)
{
	if (!*text)
		return 0;
	for (char *s = text, *end; *s; s = *end ? end + 1 : end) {
		long n = strtol(s, &end, 10);
		if (end == s && by == BY_CALLS) {   /* a call's name */
			char name[32];
			size_t len = strcspn(s, ",");
			if (len >= sizeof name)
				return 0;
			memcpy(name, s, len);
			name[len] = '\0';
			n = call_number(name);
			end = s + len;
		}
		if (end == s || n < 0 || n >= limit || (*end && *end != ','))
			return 0;
		if (by == BY_CAGES) {
			if (cage_count == 64)
				return 0;
			cages[cage_count++] = n;
		} else {
			wanted[n / 8] |= 1 << (n % 8);
		}
	}
	return 1;
}

int main(int argc, char *argv[])
{
	int i = 1;
	if (i + 1 >= argc)
		return usage();
	if (strcmp(argv[i], "--prefix") == 0 && argv[i + 1][0] == '/') {
		snprintf(prefix, sizeof prefix, "%s", argv[i + 1]);
		fold(prefix);
		prefix_len = strlen(prefix);
	} else {
		if (strcmp(argv[i], "--calls") == 0)
			by = BY_CALLS;
		else if (strcmp(argv[i], "--fd") == 0)
			by = BY_FDS;
		else if (strcmp(argv[i], "--cage") == 0)
			by = BY_CAGES;
		else
			return usage();
		long limit = by == BY_CALLS ? ALIAS_BASE : by == BY_FDS ? 1024 : 0x7fffffff;
		if (!numbers(argv[i + 1], limit))
			return usage();
	}
	i += 2;
	if (i + 1 >= argc || strcmp(argv[i], "%{") != 0)
		return usage();
	i++;
	self = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		perror("ns: fork");
		return 1;
	}
	if (pid == 0) {
		uint64_t me = getpid();
		/* execve first: once register_handler is this grate's, it routes. */
		if (register_handler(me, SYS_execve, self, mine(on_execve)) != 0 ||
		    register_handler(me, REGISTER_HANDLER_SYSCALL, self, mine(on_register)) != 0) {
			perror("ns: register_handler");
			_exit(1);
		}
		execv(argv[i], &argv[i]);
		fprintf(stderr, "ns: %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
