/* Prints every system call of the program (and its children) with decoded arguments and results, like strace -f.
 *
 * usage: strace.wasm [-o FILE] [-e CALL[,CALL...]] PROGRAM [ARGS...]
 *
 * A grate written against <lind_syscall.h>: it forks, the child routes every
 * call number to this grate and execs PROGRAM, the grate waits. Each handler
 * forwards the call below itself with make_threei_call and prints one line:
 *
 *   [pid 2] openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3
 *   [pid 2] read(3, "root:x:0:0:root:/root:/bin/sh\n"..., 4096) = 512
 *   [pid 2] unlink("/nope") = -1 ENOENT (No such file or directory)
 *
 * The value registered for each call is the call number itself: this grate's
 * own dispatcher, pass_fptr_to_wt, receives it and knows which call it traces.
 *
 * Named with --grate (or grates=[...]), -o FILE is a file on the host, written for
 * the person running Lind: Lind opens it and hands it over as -o /dev/fd/N, which
 * this grate keeps close-on-exec, so the traced program never sees the trace. Run as
 * a program (lind run strace.wasm -o FILE prog.wasm), FILE is a path in the cage.
 */
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calls.h"

#define SHOWN_BYTES 32          /* of a read/write buffer, as strace's -s 32 */
#define ERESTARTNOINTR 513      /* fork's first pass: the call is made again */


static const struct {
	int value;
	const char *name;
} errno_names[] = {
	{EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"}, {EINTR, "EINTR"},
	{EIO, "EIO"}, {ENXIO, "ENXIO"}, {E2BIG, "E2BIG"}, {ENOEXEC, "ENOEXEC"},
	{EBADF, "EBADF"}, {ECHILD, "ECHILD"}, {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"},
	{EACCES, "EACCES"}, {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"}, {EEXIST, "EEXIST"},
	{EXDEV, "EXDEV"}, {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"},
	{EINVAL, "EINVAL"}, {ENFILE, "ENFILE"}, {EMFILE, "EMFILE"}, {ENOTTY, "ENOTTY"},
	{EFBIG, "EFBIG"}, {ENOSPC, "ENOSPC"}, {ESPIPE, "ESPIPE"}, {EROFS, "EROFS"},
	{EMLINK, "EMLINK"}, {EPIPE, "EPIPE"}, {ERANGE, "ERANGE"}, {ENAMETOOLONG, "ENAMETOOLONG"},
	{ENOSYS, "ENOSYS"}, {ENOTEMPTY, "ENOTEMPTY"}, {ELOOP, "ELOOP"}, {ENOTSOCK, "ENOTSOCK"},
	{EAFNOSUPPORT, "EAFNOSUPPORT"}, {ECONNREFUSED, "ECONNREFUSED"}, {ETIMEDOUT, "ETIMEDOUT"},
	{ENOMSG, "ENOMSG"}, {EIDRM, "EIDRM"},
};

static uint64_t grate_id;
static int out_fd = 2;
static unsigned char traced[MAX_CALL];
static volatile int64_t traced_child;   /* the program this grate forked: main() waits */

/* One output line, built on the handler's own stack and written with one write():
 * handlers for different cages run at the same time, so nothing may be shared. */
struct line {
	char text[2048];
	size_t len;
};

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = sizeof l->text - l->len;
	int n = vsnprintf(l->text + l->len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < room ? (size_t)n : room - 1;
}

static void emit(struct line *l)
{
	size_t done = 0;
	while (done < l->len) {
		ssize_t n = write(out_fd, l->text + done, l->len - done);
		if (n <= 0)
			return;
		done += (size_t)n;
	}
}

int pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t arg1, uint64_t arg1cage,
                    uint64_t arg2, uint64_t arg2cage, uint64_t arg3, uint64_t arg3cage,
                    uint64_t arg4, uint64_t arg4cage, uint64_t arg5, uint64_t arg5cage,
                    uint64_t arg6, uint64_t arg6cage);

/* "+++ killed by SIGKILL +++", as strace ends a process a signal killed. */
static void put_killed(struct line *l, int sig)
{
	static const char *const signal_names[32] = {
		NULL, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
		"SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
		"SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN",
		"SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
		"SIGIO", "SIGPWR", "SIGSYS"};
	if (sig > 0 && sig < 32)
		put(l, "+++ killed by %s +++\n", signal_names[sig]);
	else
		put(l, "+++ killed by signal %d +++\n", sig);
}

/* A string or buffer of the traced cage, printed with C escapes like strace. */
static void show_bytes(struct line *l, const unsigned char *s, size_t n, int truncated)
{
	put(l, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		switch (c) {
		case '\n': put(l, "\\n"); break;
		case '\t': put(l, "\\t"); break;
		case '"': put(l, "\\\""); break;
		case '\\': put(l, "\\\\"); break;
		default:
			if (c >= 32 && c < 127)
				put(l, "%c", c);
			else
				put(l, "\\%o", c);
		}
	}
	put(l, "\"");
	if (truncated)
		put(l, "...");
}

static void show_string(struct line *l, uint64_t addr, uint64_t cage)
{
	char path[1024];
	if (!addr) {
		put(l, "NULL");
		return;
	}
	if (copy_data_between_cages(grate_id, cage, addr, cage, (uint64_t)(uintptr_t)path,
	                            grate_id, sizeof path, COPY_STRING) != 0) {
		put(l, "0x%llx", (unsigned long long)addr);
		return;
	}
	show_bytes(l, (unsigned char *)path, strlen(path), 0);
}

static void show_buffer(struct line *l, uint64_t addr, uint64_t cage, int64_t len)
{
	unsigned char buf[SHOWN_BYTES];
	size_t n = len < 0 ? 0 : len > SHOWN_BYTES ? SHOWN_BYTES : (size_t)len;
	if (n && copy_data_between_cages(grate_id, cage, addr, cage, (uint64_t)(uintptr_t)buf,
	                                 grate_id, n, COPY_RAW) != 0) {
		put(l, "0x%llx", (unsigned long long)addr);
		return;
	}
	show_bytes(l, buf, n, len > SHOWN_BYTES);
}

static void show_open_flags(struct line *l, uint64_t flags)
{
	static const struct { int bit; const char *name; } bits[] = {
		{O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_NOCTTY, "O_NOCTTY"},
		{O_TRUNC, "O_TRUNC"}, {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"},
		{O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"}, {O_CLOEXEC, "O_CLOEXEC"},
	};
	int acc = (int)flags & O_ACCMODE;
	put(l, "%s", acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY"
	      : acc == O_RDWR ? "O_RDWR" : "O_ACCMODE");
	flags &= ~(uint64_t)O_ACCMODE;
	flags &= ~(uint64_t)O_LARGEFILE;
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
		if (flags & (uint64_t)bits[i].bit) {
			put(l, "|%s", bits[i].name);
			flags &= ~(uint64_t)bits[i].bit;
		}
	}
	if (flags)
		put(l, "|0x%llx", (unsigned long long)flags);
}

static void show_result(struct line *l, int64_t r)
{
	if (r == -THREEI_CAGE_ENDED) {          /* a grate below ended the cage: no result */
		put(l, " = ?\n");
	} else if (r < 0 && r > -4096) {
		const char *name = NULL;
		for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
			if (errno_names[i].value == -r)
				name = errno_names[i].name;
		if (name)
			put(l, " = -1 %s (%s)\n", name, strerror((int)-r));
		else
			put(l, " = -1 errno %lld\n", (long long)-r);
	} else if (r >= 4096 || r < 0) {
		put(l, " = 0x%llx\n", (unsigned long long)r);
	} else {
		put(l, " = %lld\n", (long long)r);
	}
}

static void trace(int nr, long tid, const uint64_t *a, const uint64_t *c, int64_t r)
{
	struct line line = {.len = 0}, *l = &line;
	const struct call_info *info = &calls[nr];
	put(l, "[pid %ld] ", tid);
	if (info->name)
		put(l, "%s(", info->name);
	else
		put(l, "syscall_%d(", nr);
	const char *spec = info->name ? info->args : "xxxxxx";
	for (int i = 0; spec[i]; i++) {
		/* as strace: an open's mode only when the call can create a file */
		if (spec[i] == 'o' && i && spec[i - 1] == 'f' && !(a[i - 1] & (O_CREAT | 020000000)))
			break;
		if (i)
			put(l, ", ");
		int64_t v = (int64_t)a[i];
		switch (spec[i]) {
		case 'd': put(l, "%d", (int)v); break;
		case 'u': put(l, "%llu", (unsigned long long)a[i]); break;
		case 'l': put(l, "%lld", (long long)v); break;
		case 'w': {
			static const char *const whence[] = {"SEEK_SET", "SEEK_CUR", "SEEK_END",
			                                     "SEEK_DATA", "SEEK_HOLE"};
			int w = (int)v;
			if (w >= 0 && w < 5)
				put(l, "%s", whence[w]);
			else
				put(l, "%d", w);
			break;
		}
		case 'o': put(l, "0%llo", (unsigned long long)a[i]); break;
		case 's': show_string(l, a[i], c[i]); break;
		case 'f': show_open_flags(l, a[i]); break;
		case 'a':
			if ((int)v == AT_FDCWD)
				put(l, "AT_FDCWD");
			else
				put(l, "%d", (int)v);
			break;
		case 'b': {
			/* A read's buffer holds data only up to what the call returned. */
			int64_t shown = info->out_buffer ? (r < 0 ? -1 : r) : (int64_t)a[i + 1];
			if (shown < 0)
				put(l, "0x%llx", (unsigned long long)a[i]);
			else
				show_buffer(l, a[i], c[i], shown);
			break;
		}
		case 'p':
			if (a[i])
				put(l, "0x%llx", (unsigned long long)a[i]);
			else
				put(l, "NULL");
			break;
		default: put(l, "0x%llx", (unsigned long long)a[i]); break;
		}
	}
	put(l, ")");
	show_result(l, r);
	emit(l);
}

int pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t arg1, uint64_t arg1cage,
                    uint64_t arg2, uint64_t arg2cage, uint64_t arg3, uint64_t arg3cage,
                    uint64_t arg4, uint64_t arg4cage, uint64_t arg5, uint64_t arg5cage,
                    uint64_t arg6, uint64_t arg6cage)
{
	if (fn_ptr == HARSH_EXIT_SYSCALL) {
		/* A traced cage died of a signal (arg1: its id, arg2: the signal), as strace -f
		 * shows for each process; main() says it for the program it waits for. The
		 * notification comes for the cage itself: a call of 1005 naming another cage
		 * is a program forging a line. */
		if (arg1 == cageid && (int64_t)arg1 != traced_child) {
			struct line line = {.len = 0};
			put(&line, "[pid %lld] ", (long long)arg1);
			put_killed(&line, (int)arg2);
			emit(&line);
		}
		return 0;
	}
	/* fn_ptr is whatever a cage registered: only numbers this grate traces name a call. */
	if (fn_ptr >= MAX_CALL || !traced[fn_ptr])
		return -ENOSYS;
	int nr = (int)fn_ptr;
	uint64_t a[6] = {arg1, arg2, arg3, arg4, arg5, arg6};
	uint64_t c[6] = {arg1cage, arg2cage, arg3cage, arg4cage, arg5cage, arg6cage};
	/* As strace -f: the calling thread's id (gettid made for the cage runs on the
	 * thread that made the call; it is the cage's id for its first thread). */
	long tid = make_threei_call(SYS_gettid, 0, grate_id, cageid, 0, cageid, 0, cageid,
	                            0, cageid, 0, cageid, 0, cageid, 0, cageid, 0);
	if (tid <= 0)
		tid = (long)cageid;
	int exiting = nr == SYS_exit || nr == SYS_exit_group;
	if (exiting) {
		/* There is no result to wait for: the cage ends inside the call. */
		struct line line = {.len = 0};
		put(&line, "[pid %ld] %s(%d) = ?\n", tid, calls[nr].name, (int)arg1);
		emit(&line);
	}
	int r = make_threei_call(nr, 0, grate_id, cageid, arg1, arg1cage, arg2, arg2cage,
	                         arg3, arg3cage, arg4, arg4cage, arg5, arg5cage,
	                         arg6, arg6cage, 0);
	if (!exiting && r != -ERESTARTNOINTR)
		trace(nr, tid, a, c, r);     /* -THREEI_CAGE_ENDED: shown as "= ?" */
	return r;
}

static int trace_only(const char *list)
{
	char *copy = strdup(list), *save = NULL;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int nr = call_number(name);
		if (nr < 0) {
			fprintf(stderr, "strace: unknown system call '%s'\n", name);
			free(copy);
			return -1;
		}
		traced[nr] = 1;
	}
	free(copy);
	return 0;
}

int main(int argc, char *argv[])
{
	int opt, selective = 0;
	const char *outfile = NULL;
	while ((opt = getopt(argc, argv, "+o:e:")) != -1) {
		switch (opt) {
		case 'o': outfile = optarg; break;
		case 'e': {
			const char *list = strncmp(optarg, "trace=", 6) == 0 ? optarg + 6 : optarg;
			if (trace_only(list) != 0)
				return 2;
			selective = 1;
			break;
		}
		default:
			fprintf(stderr, "usage: strace [-o FILE] [-e CALL,...] PROGRAM [ARGS...]\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: strace [-o FILE] [-e CALL,...] PROGRAM [ARGS...]\n");
		return 2;
	}
	char *end = NULL;
	long given = -1;
	if (outfile && strncmp(outfile, "/dev/fd/", 8) == 0)
		given = strtol(outfile + 8, &end, 10);
	if (given >= 0 && end && *end == '\0' && end != outfile + 8) {
		/* A descriptor this grate was given: kept from the program it execs. */
		out_fd = (int)given;
		if (fcntl(out_fd, F_SETFD, FD_CLOEXEC) != 0) {
			perror(outfile);
			return 1;
		}
	} else if (outfile && (out_fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
	                                     O_CLOEXEC, 0644)) < 0) {
		perror(outfile);
		return 1;
	}
	if (!selective)
		memset(traced, 1, sizeof traced);
	grate_id = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		perror("strace: fork");
		return 1;
	}
	if (pid == 0) {
		uint64_t self = getpid();
		for (int nr = 0; nr < MAX_CALL; nr++) {
			if (traced[nr] && register_handler(self, nr, grate_id, nr) != 0) {
				perror("strace: register_handler");
				_exit(1);
			}
		}
		if (register_handler(self, HARSH_EXIT_SYSCALL, grate_id, HARSH_EXIT_SYSCALL) != 0) {
			perror("strace: register_handler");
			_exit(1);
		}
		execv(argv[optind], &argv[optind]);
		perror("strace: exec");
		_exit(127);
	}
	traced_child = pid;
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("strace: waitpid");
			return 1;
		}
	}
	struct line line = {.len = 0};
	if (WIFSIGNALED(status))
		put_killed(&line, WTERMSIG(status));
	else
		put(&line, "+++ exited with %d +++\n", WEXITSTATUS(status));
	emit(&line);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
