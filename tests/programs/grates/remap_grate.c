/* A grate as written for Lind: logs every open and sends paths under /data/
 * to /real/ instead, forwarding the call below itself with make_threei_call.
 * A rewritten path lives in the grate's memory (GRATE_MEMORY_FLAG). */
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

/* The path argument of open (nr 2, path first) or openat (257, path second). */
static int forward_open(int nr, uint64_t cageid, uint64_t *path, uint64_t *pathcage,
                        uint64_t a[6], uint64_t c[6])
{
	static char buf[4096];
	char rewritten[4200];
	if (copy_data_between_cages(grate_id, cageid, *path, *pathcage, (uint64_t)(uintptr_t)buf,
	                            grate_id, sizeof buf, COPY_STRING) != 0)
		return -14; /* EFAULT */
	fprintf(stderr, "[remap] cage %d open %s\n", (int)cageid, buf);
	if (strncmp(buf, "/data/", 6) == 0) {
		snprintf(rewritten, sizeof rewritten, "/real/%s", buf + 6);
		*path = (uint64_t)(uintptr_t)rewritten;
		*pathcage = grate_id | GRATE_MEMORY_FLAG;
	}
	return make_threei_call(nr, 0, grate_id, cageid, a[0], c[0], a[1], c[1], a[2], c[2],
	                        a[3], c[3], a[4], c[4], a[5], c[5], 0);
}

int open_handler(uint64_t cageid, uint64_t a1, uint64_t c1, uint64_t a2, uint64_t c2,
                 uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4, uint64_t a5,
                 uint64_t c5, uint64_t a6, uint64_t c6)
{
	uint64_t a[6] = {a1, a2, a3, a4, a5, a6}, c[6] = {c1, c2, c3, c4, c5, c6};
	return forward_open(SYS_open, cageid, &a[0], &c[0], a, c);
}

int openat_handler(uint64_t cageid, uint64_t a1, uint64_t c1, uint64_t a2, uint64_t c2,
                   uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4, uint64_t a5,
                   uint64_t c5, uint64_t a6, uint64_t c6)
{
	uint64_t a[6] = {a1, a2, a3, a4, a5, a6}, c[6] = {c1, c2, c3, c4, c5, c6};
	return forward_open(SYS_openat, cageid, &a[1], &c[1], a, c);
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
