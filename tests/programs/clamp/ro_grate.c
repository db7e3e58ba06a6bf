/* A grate as written for Lind that makes what reaches it read-only: an open, openat or
 * creat that would write, create or truncate is EROFS (one to read is forwarded), and
 * every other call it handles -- the ones that change a file through an fd (write,
 * pwrite64, pwritev2, sendfile, copy_file_range, splice, ftruncate ...) or by name,
 * and bind -- is EROFS too. Inside a clamp on a directory (`ns --prefix DIR %{ ro_grate
 * %}`): a read-only view of that directory. `ro_grate --open program`: every open
 * passes (only the other calls are refused). */
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define REFUSE 1
#define OPEN 2                  /* open(path, flags, mode) */
#define OPENAT 3                /* openat(dirfd, path, flags, mode) */

static int grate, opens_pass;

static const int refused[] = {
	SYS_write, SYS_pwrite64, SYS_writev, SYS_pwritev, SYS_pwritev2, SYS_sendfile,
	SYS_copy_file_range, SYS_splice, SYS_tee, SYS_ftruncate, SYS_fallocate, SYS_truncate,
	SYS_mkdir, SYS_mkdirat, SYS_unlink, SYS_unlinkat, SYS_rename, SYS_renameat,
	SYS_renameat2, SYS_chmod, SYS_fchmod, SYS_fchmodat, SYS_bind, SYS_sync_file_range,
	SYS_fadvise64, SYS_readahead,
};

int pass_fptr_to_wt(uint64_t fn, uint64_t cage, uint64_t a1, uint64_t c1, uint64_t a2,
                    uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4,
                    uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	if (fn != OPEN && fn != OPENAT)
		return -EROFS;
	int flags = (int)(fn == OPEN ? a2 : a3);
	if (!opens_pass && ((flags & O_ACCMODE) != O_RDONLY || flags & (O_CREAT | O_TRUNC)))
		return -EROFS;
	int nr = fn == OPEN ? SYS_open : SYS_openat;
	return make_threei_call(nr, 0, grate, cage, a1, c1, a2, c2, a3, c3, a4, c4, a5, c5,
	                        a6, c6, 0);
}

int main(int argc, char *argv[])
{
	if (argc < 2 || (strcmp(argv[1], "--open") == 0 && argc < 3)) {
		fprintf(stderr, "usage: %s [--open] program [args]\n", argv[0]);
		return 2;
	}
	int at = 1;
	if (strcmp(argv[1], "--open") == 0) {
		opens_pass = 1;
		at = 2;
	}
	grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		int me = getpid(), bad = 0;
		bad |= register_handler(me, SYS_open, grate, OPEN);
		bad |= register_handler(me, SYS_openat, grate, OPENAT);
		bad |= register_handler(me, SYS_creat, grate, REFUSE);
		for (unsigned i = 0; i < sizeof refused / sizeof refused[0]; i++)
			bad |= register_handler(me, refused[i], grate, REFUSE);
		if (bad) {
			perror("register_handler");
			return 1;
		}
		execv(argv[at], &argv[at]);
		perror("execv");
		return 127;
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
