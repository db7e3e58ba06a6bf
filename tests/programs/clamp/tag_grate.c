/* A grate as written for Lind that records which calls reach it: `tag_grate NAME
 * program [args]` handles openat, write, close, getppid and mkdir of its program, notes
 * each (openat and mkdir with their path, write and close with their fd) and forwards
 * it unchanged; when the program is done it prints "NAME saw: ..." on stderr.
 * A NAME starting with "late-" registers openat only, and the rest from inside its
 * first openat; one starting with "fork-" runs the program as a grandchild (the
 * handlers registered by that grandchild, a fork of a fork of the grate). */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int grate_id;
static const char *tag;
static char seen[16384];
static size_t used;

int pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1, uint64_t a2,
                    uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4,
                    uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t, uint64_t *, uint64_t *) = (void *)(uintptr_t)fn_ptr;
	uint64_t a[6] = {a1, a2, a3, a4, a5, a6}, c[6] = {c1, c2, c3, c4, c5, c6};
	return fn(cageid, a, c);
}

static void note(const char *what, uint64_t cageid, uint64_t addr, uint64_t addrcage)
{
	char path[256] = "";
	if (addrcage)
		copy_data_between_cages(grate_id, cageid, addr, addrcage, (uint64_t)(uintptr_t)path,
		                        grate_id, sizeof path, COPY_STRING);
	if (addrcage)
		used += snprintf(seen + used, sizeof seen - used, " %s:%s", what, path);
	else
		used += snprintf(seen + used, sizeof seen - used, " %s:%d", what, (int)addr);
}

static int forward(int nr, uint64_t cageid, uint64_t *a, uint64_t *c)
{
	return make_threei_call(nr, 0, grate_id, cageid, a[0], c[0], a[1], c[1], a[2], c[2],
	                        a[3], c[3], a[4], c[4], a[5], c[5], 0);
}

static int register_rest(uint64_t cageid);

int on_openat(uint64_t cageid, uint64_t *a, uint64_t *c)
{
	static int late_done;
	note("openat", cageid, a[1], c[1]);
	if (strncmp(tag, "late-", 5) == 0 && !late_done) {
		late_done = 1;
		if (register_rest(cageid) != 0)
			return -1;
	}
	return forward(SYS_openat, cageid, a, c);
}

int on_mkdir(uint64_t cageid, uint64_t *a, uint64_t *c)
{
	note("mkdir", cageid, a[0], c[0]);
	return forward(SYS_mkdir, cageid, a, c);
}

int on_write(uint64_t cageid, uint64_t *a, uint64_t *c)
{
	note("write", cageid, a[0], 0);
	return forward(SYS_write, cageid, a, c);
}

int on_close(uint64_t cageid, uint64_t *a, uint64_t *c)
{
	note("close", cageid, a[0], 0);
	return forward(SYS_close, cageid, a, c);
}

int on_getppid(uint64_t cageid, uint64_t *a, uint64_t *c)
{
	note("getppid", cageid, 0, 0);
	return forward(SYS_getppid, cageid, a, c);
}

static const struct { int nr; void *fn; } rest[] = {
	{SYS_mkdir, on_mkdir}, {SYS_write, on_write}, {SYS_close, on_close},
	{SYS_getppid, on_getppid},
};

static int register_rest(uint64_t cageid)
{
	for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
		if (register_handler(cageid, rest[i].nr, grate_id, (uint64_t)(uintptr_t)rest[i].fn))
			return -1;
	return 0;
}

static int wait_for(pid_t pid)
{
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char *argv[])
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s NAME program [args]\n", argv[0]);
		return 2;
	}
	tag = argv[1];
	grate_id = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		if (strncmp(tag, "fork-", 5) == 0 && (pid = fork()) != 0)
			return wait_for(pid);
		int self = getpid();
		if (register_handler(self, SYS_openat, grate_id, (uint64_t)(uintptr_t)on_openat) ||
		    (strncmp(tag, "late-", 5) != 0 && register_rest(self))) {
			perror("register_handler");
			return 1;
		}
		execv(argv[2], &argv[2]);
		perror("execv");
		return 127;
	}
	int status = wait_for(pid);
	fprintf(stderr, "%s saw:%s\n", tag, seen);
	return status;
}
