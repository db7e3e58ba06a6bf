/* Runs a program as if it were root: ids read 0, chown succeeds, files appear owned by root.
 *
 * usage: fakeroot.wasm PROGRAM [ARGS...]
 *
 * Like fakeroot(1), for build steps that insist on root: getuid, geteuid,
 * getgid and getegid return 0; chown, fchown, lchown and fchownat succeed
 * without changing anything; stat, fstat, lstat and newfstatat report owner
 * and group 0. Everything else goes below untouched.
 */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Linux x86_64 struct stat: st_uid and st_gid follow dev, ino, nlink and mode. */
#define STAT_UID_OFFSET 28
#define STAT_IDS_SIZE 8

static uint64_t grate_id;

typedef int (*handler_t)(uint64_t cageid, const uint64_t *a, const uint64_t *c);

static int is_route(uint64_t fn_ptr);

int pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t arg1, uint64_t arg1cage,
                    uint64_t arg2, uint64_t arg2cage, uint64_t arg3, uint64_t arg3cage,
                    uint64_t arg4, uint64_t arg4cage, uint64_t arg5, uint64_t arg5cage,
                    uint64_t arg6, uint64_t arg6cage)
{
	/* fn_ptr is whatever a cage registered: call it only if it is one of ours. */
	if (!is_route(fn_ptr))
		return -ENOSYS;
	uint64_t a[6] = {arg1, arg2, arg3, arg4, arg5, arg6};
	uint64_t c[6] = {arg1cage, arg2cage, arg3cage, arg4cage, arg5cage, arg6cage};
	return ((handler_t)(uintptr_t)fn_ptr)(cageid, a, c);
}

static int as_root(uint64_t cageid, const uint64_t *a, const uint64_t *c)
{
	return 0;
}

/* Forward a stat-family call, then make the owner root in the result. */
static int stat_call(int nr, int buf_arg, uint64_t cageid, const uint64_t *a, const uint64_t *c)
{
	int r = make_threei_call(nr, 0, grate_id, cageid, a[0], c[0], a[1], c[1], a[2], c[2],
	                         a[3], c[3], a[4], c[4], a[5], c[5], 0);
	if (r < 0)
		return r;
	static const uint32_t root_ids[2] = {0, 0};
	if (copy_data_between_cages(grate_id, c[buf_arg], (uint64_t)(uintptr_t)root_ids,
	                            grate_id | GRATE_MEMORY_FLAG, a[buf_arg] + STAT_UID_OFFSET,
	                            c[buf_arg], STAT_IDS_SIZE, COPY_RAW) != 0)
		return -14; /* EFAULT */
	return r;
}

static int on_stat(uint64_t id, const uint64_t *a, const uint64_t *c) { return stat_call(SYS_stat, 1, id, a, c); }
static int on_fstat(uint64_t id, const uint64_t *a, const uint64_t *c) { return stat_call(SYS_fstat, 1, id, a, c); }
static int on_lstat(uint64_t id, const uint64_t *a, const uint64_t *c) { return stat_call(SYS_lstat, 1, id, a, c); }
static int on_fstatat(uint64_t id, const uint64_t *a, const uint64_t *c) { return stat_call(SYS_newfstatat, 2, id, a, c); }

static const struct {
	int nr;
	handler_t handler;
} routes[] = {
	{SYS_getuid, as_root}, {SYS_geteuid, as_root}, {SYS_getgid, as_root},
	{SYS_getegid, as_root}, {SYS_chown, as_root}, {SYS_fchown, as_root},
	{SYS_lchown, as_root}, {SYS_fchownat, as_root},
	{SYS_stat, on_stat}, {SYS_fstat, on_fstat}, {SYS_lstat, on_lstat},
	{SYS_newfstatat, on_fstatat},
};

static int is_route(uint64_t fn_ptr)
{
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if ((uint64_t)(uintptr_t)routes[i].handler == fn_ptr)
			return 1;
	return 0;
}

int main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "usage: fakeroot PROGRAM [ARGS...]\n");
		return 2;
	}
	grate_id = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fakeroot: fork");
		return 1;
	}
	if (pid == 0) {
		uint64_t self = getpid();
		for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
			if (register_handler(self, routes[i].nr, grate_id,
			                     (uint64_t)(uintptr_t)routes[i].handler) != 0) {
				perror("fakeroot: register_handler");
				_exit(1);
			}
		}
		execv(argv[1], &argv[1]);
		perror("fakeroot: exec");
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0) {
		perror("fakeroot: waitpid");
		return 1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
