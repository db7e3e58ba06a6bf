/* Forks argv[1] children (default 100) that each exec /pause.wasm (a program that
 * waits for ever) with arguments of almost ARG_MAX together (fifteen of 126 KiB: one
 * may not pass 128 KiB): the host keeps a program's argv and environment beside its
 * memory. Prints "exec failed N errno E" for each
 * child whose exec failed, then "started S". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int children = argc > 1 ? atoi(argv[1]) : 100;
	int report[2];
	static pid_t pids[1024];
	char *big = malloc(126 * 1024);
	if (!big || children > 1024 || pipe(report) != 0)
		return 1;
	memset(big, 'a', 126 * 1024 - 1);
	big[126 * 1024 - 1] = 0;
	for (int i = 0; i < children; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char *args[17] = {"/pause.wasm"}, *env[] = {NULL};
			for (int a = 1; a <= 15; a++)
				args[a] = big;
			execve("/pause.wasm", args, env);
			char line[64];
			int n = snprintf(line, sizeof line, "exec failed %d errno %d\n", i, errno);
			if (write(report[1], line, n) != n)
				_exit(2);
			_exit(1);
		}
	}
	close(report[1]);
	sleep(2);
	for (int i = 0; i < children; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	int started = 0, status;
	for (int i = 0; i < children; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) > 0 && WIFSIGNALED(status))
			started++;
	char buf[4096];
	ssize_t n;
	while ((n = read(report[0], buf, sizeof buf)) > 0)
		fwrite(buf, 1, n, stdout);
	printf("started %d\n", started);
	return 0;
}
