/* The spawn calls (1018, 1019) made raw, as a hostile program would: an absurd size, a
 * pointer outside memory, a plan of garbage, and spawn_plan in a cage that was not
 * spawned.  Built with -DLINK_SPAWN the program links posix_spawn, so it has the spawn
 * entry: the child, started afresh, finds the plan malformed and exits 127 (the host
 * never parses a plan); without it, spawn is ENOSYS.  Nothing else happens. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef LINK_SPAWN
int (*volatile keep)(pid_t *, const char *, const posix_spawn_file_actions_t *,
		     const posix_spawnattr_t *, char *const[], char *const[]) = posix_spawn;
#endif

int main(void)
{
	static char garbage[4096];
	long r;

	memset(garbage, 0x5a, sizeof garbage);
	r = syscall(1018, garbage, 0x7fffffffL);
	printf("huge plan: %ld %s\n", r, strerror(errno));
	r = syscall(1018, 0xfffff000L, 64);
	printf("plan outside memory: %ld %s\n", r, strerror(errno));
	r = syscall(1019, garbage, sizeof garbage);
	printf("spawn_plan here: %ld %s\n", r, strerror(errno));
	pid_t pid = syscall(1018, garbage, sizeof garbage);
	if (pid < 0) {
		printf("garbage plan: %s\n", strerror(errno));
		return 0;
	}
	int status = -1;
	printf("garbage plan: reaped %d, ", waitpid(pid, &status, 0) == pid);
	printf("exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	return 0;
}
