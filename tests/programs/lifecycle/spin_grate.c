/* A grate whose handler never returns: it forks a child, answers the child's
 * sched_yield with an endless loop, and then either exits at once (`exit`:
 * the child is left spinning inside the grate's handler) or waits for the
 * child (`wait`: the run only ends by its timeout). */
#include <lind_syscall.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t spins;

long long pass_fptr_to_wt(uint64_t fn_ptr_uint, uint64_t cageid, uint64_t arg1,
                          uint64_t arg1cage, uint64_t arg2, uint64_t arg2cage,
                          uint64_t arg3, uint64_t arg3cage, uint64_t arg4,
                          uint64_t arg4cage, uint64_t arg5, uint64_t arg5cage,
                          uint64_t arg6, uint64_t arg6cage)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr_uint;
	return fn(cageid);
}

int spin_forever(uint64_t cageid)
{
	(void)cageid;
	for (;;)
		spins++;
}

int main(int argc, char **argv)
{
	int wait_child = argc > 1 && strcmp(argv[1], "wait") == 0;
	int grateid = getpid();
	int ready[2];
	if (pipe(ready) < 0) {
		perror("pipe");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		uint64_t fn = (uint64_t)(uintptr_t)&spin_forever;
		if (register_handler(getpid(), 24, grateid, fn) != 0) {
			perror("register_handler");
			return 1;
		}
		write(ready[1], "x", 1);
		sched_yield();   /* never comes back */
		printf("child: sched_yield returned\n");
		return 0;
	}
	char c;
	read(ready[0], &c, 1);
	struct timespec ts = {0, 50 * 1000000L};
	nanosleep(&ts, 0);
	printf("grate: child is spinning\n");
	fflush(stdout);
	if (wait_child)
		waitpid(pid, 0, 0);
	return 0;
}
