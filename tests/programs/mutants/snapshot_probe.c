/* A grate below a Python grate: the path of an open it is handed is the Python grate's
 * copy (a read-only snapshot of the caller's memory at the path's own address, holding
 * the string and its NUL). For the path "/probe" the grate tries the copy's edges
 * through 3i — bytes below it and past it, zero-length ranges, a negative length,
 * writes into it (a copy, read(2) and pread(2) into it) and write(2) from it — and
 * prints each answer; then it forwards the open. Run as `snapshot_probe PROGRAM ARGS`. */
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int grate_id;

int pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t arg1, uint64_t arg1cage,
                    uint64_t arg2, uint64_t arg2cage, uint64_t arg3, uint64_t arg3cage,
                    uint64_t arg4, uint64_t arg4cage, uint64_t arg5, uint64_t arg5cage,
                    uint64_t arg6, uint64_t arg6cage)
{
	int (*fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
	          uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) =
		(void *)(uintptr_t)fn_ptr;
	return fn(cageid, arg1, arg1cage, arg2, arg2cage, arg3, arg3cage, arg4, arg4cage,
	          arg5, arg5cage, arg6, arg6cage);
}

/* 0, or -errno as make_threei_call answers */
static int raw_copy(uint64_t cageid, uint64_t from, uint64_t from_cage, uint64_t to,
                    uint64_t to_cage, uint64_t len)
{
	int r = copy_data_between_cages(grate_id, cageid, from, from_cage, to, to_cage, len,
	                                COPY_RAW);
	return r < 0 ? -errno : r;
}

/* A call the grate makes for itself, with argument 2 (a buffer) in another memory. */
static int own_call(int nr, int fd, uint64_t buf, uint64_t buf_cage, uint64_t len, uint64_t off)
{
	return make_threei_call(nr, 0, grate_id, grate_id, fd, grate_id, buf, buf_cage, len,
	                        grate_id, off, grate_id, 0, grate_id, 0, grate_id, 0);
}

static void probe(uint64_t cageid, uint64_t path, uint64_t snap)
{
	char got[64];
	uint64_t own = (uint64_t)(uintptr_t)got;
	const uint64_t len = sizeof "/probe";   /* the string and its NUL */
	int fds[2];

	memset(got, 0, sizeof got);
	int r = raw_copy(cageid, path, snap, own, grate_id, len);
	printf("the whole copy: %d %s\n", r, got);
	printf("one byte more: %d\n", raw_copy(cageid, path, snap, own, grate_id, len + 1));
	printf("the byte below: %d\n", raw_copy(cageid, path - 1, snap, own, grate_id, 1));
	printf("the last byte: %d\n", raw_copy(cageid, path + len - 1, snap, own, grate_id, 1));
	printf("nothing at its start: %d\n", raw_copy(cageid, path, snap, own, grate_id, 0));
	printf("nothing at its end: %d\n", raw_copy(cageid, path + len, snap, own, grate_id, 0));
	printf("length -1: %d\n", raw_copy(cageid, path, snap, own, grate_id, (uint64_t)-1));
	memset(got, 0, sizeof got);
	r = copy_data_between_cages(grate_id, cageid, path, snap, own, grate_id, sizeof got,
	                            COPY_STRING);
	printf("the string: %d %s\n", r < 0 ? -errno : r, got);
	printf("a copy into it: %d\n", raw_copy(cageid, own, grate_id, path, snap, 1));

	if (pipe(fds) != 0)
		return;
	r = own_call(SYS_write, fds[1], path, snap, len - 1, 0);
	memset(got, 0, sizeof got);
	printf("write(2) from it: %d, the pipe holds %zd %s\n", r, read(fds[0], got, sizeof got), got);
	write(fds[1], "xy", 2);
	printf("read(2) into it: %d\n", own_call(SYS_read, fds[0], path, snap, 1, 0));
	printf("read(2) of nothing into it: %d\n", own_call(SYS_read, fds[0], path, snap, 0, 0));
	close(fds[0]);
	close(fds[1]);
	int fd = open("/probe-data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, "abcdefgh", 8);
	printf("pread(2) into it: %d\n", own_call(SYS_pread64, fd, path, snap, 2, 0));
	printf("read(2) of a file into it: %d\n", own_call(SYS_read, fd, path, snap, 2, 0));
	printf("pwrite(2) from it: %d\n", own_call(SYS_pwrite64, fd, path, snap, len - 1, 2));
	memset(got, 0, sizeof got);
	pread(fd, got, sizeof got - 1, 0);
	printf("the file: %s\n", got);
	close(fd);
	unlink("/probe-data");
	fflush(stdout);
}

static int forward_open(int nr, uint64_t cageid, int path_arg, uint64_t a[6], uint64_t c[6])
{
	char path[16] = "";
	copy_data_between_cages(grate_id, cageid, a[path_arg], c[path_arg],
	                        (uint64_t)(uintptr_t)path, grate_id, sizeof path, COPY_STRING);
	if (strcmp(path, "/probe") == 0)
		probe(cageid, a[path_arg], c[path_arg]);
	return make_threei_call(nr, 0, grate_id, cageid, a[0], c[0], a[1], c[1], a[2], c[2],
	                        a[3], c[3], a[4], c[4], a[5], c[5], 0);
}

int open_handler(uint64_t cageid, uint64_t a1, uint64_t c1, uint64_t a2, uint64_t c2,
                 uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4, uint64_t a5,
                 uint64_t c5, uint64_t a6, uint64_t c6)
{
	uint64_t a[6] = {a1, a2, a3, a4, a5, a6}, c[6] = {c1, c2, c3, c4, c5, c6};
	return forward_open(SYS_open, cageid, 0, a, c);
}

int openat_handler(uint64_t cageid, uint64_t a1, uint64_t c1, uint64_t a2, uint64_t c2,
                   uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4, uint64_t a5,
                   uint64_t c5, uint64_t a6, uint64_t c6)
{
	uint64_t a[6] = {a1, a2, a3, a4, a5, a6}, c[6] = {c1, c2, c3, c4, c5, c6};
	return forward_open(SYS_openat, cageid, 1, a, c);
}

int main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s program [args]\n", argv[0]);
		return 2;
	}
	grate_id = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		int self = getpid();
		if (register_handler(self, SYS_open, grate_id, (uint64_t)(uintptr_t)&open_handler) ||
		    register_handler(self, SYS_openat, grate_id, (uint64_t)(uintptr_t)&openat_handler)) {
			perror("register_handler");
			return 1;
		}
		execv(argv[1], &argv[1]);
		perror("execv");
		return 127;
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
