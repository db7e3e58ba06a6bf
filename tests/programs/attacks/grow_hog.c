/* Memory a program grows by itself (wasm memory.grow, no system call) must count in its
 * tree's budget like any other, even when nothing runs wasm afterwards (run it under
 * --memory 128M): N children each grow theirs to SIZE MiB (at most 40) and fill it from
 * the kernel in one getrandom, then
 *   grow_hog spin N SIZE    spin (a tick finds them: the budget's last is killed)
 *   grow_hog block N SIZE   wait in a read of a pipe nobody writes (no tick reaches them)
 * The parent reaps none of them, prints "children N" and waits for stdin's end: its
 * host process's RSS is the test's to read meanwhile.
 *   grow_hog probe N SIZE   each child grows its memory past the budget, lets one call
 *                           see it (getrandom of its last byte) and then writes
 *                           "survived": the write must never be made (the child is
 *                           killed at that call); the parent reaps them and prints
 *                           "killed K of N" */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int probe(int n, unsigned long target)
{
	int killed = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			unsigned long have = __builtin_wasm_memory_size(0) * 65536ul;
			long old = __builtin_wasm_memory_grow(0, (target - have) >> 16);
			if (old < 0)
				_exit(9);
			syscall(SYS_getrandom, (char *)(target - 1), 1, 0);
			write(1, "survived\n", 9);
			_exit(0);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		killed += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	}
	printf("killed %d of %d\n", killed, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	if (!strcmp(argv[1], "probe"))
		return probe(atoi(argv[2]), strtoul(argv[3], 0, 10) << 20);
	int spin = !strcmp(argv[1], "spin"), n = atoi(argv[2]);
	unsigned long target = strtoul(argv[3], 0, 10) << 20;
	int never[2];
	pipe(never);
	int made = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			unsigned long have = __builtin_wasm_memory_size(0) * 65536ul;
			unsigned long pages = target > have ? (target - have) >> 16 : 0;
			long old = __builtin_wasm_memory_grow(0, pages);
			if (old < 0)
				_exit(9);
			/* resident now, in one call (at most 32 MiB): no wasm runs until the end */
			syscall(SYS_getrandom, (char *)(old * 65536ul), pages << 16, 0);
			if (spin)
				for (;;)
					;
			char byte;
			read(never[0], &byte, 1);
			_exit(0);
		}
		made++;
		usleep(100000);
	}
	printf("children %d\n", made);
	fflush(stdout);
	char line[8];
	while (fgets(line, sizeof line, stdin))
		;
	return 0;
}
