/* posix_spawns argv[1] children of /tiny.wasm (argv[2]: how many; default 16), each
 * with 15 arguments of 130,000 bytes (~2 MB, under ARG_MAX), then waits for them all;
 * prints "started N ended well M". Built --suspendable, it spawns them all before any
 * child runs. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	const char *program = argc > 1 ? argv[1] : "/tiny.wasm";
	int n = argc > 2 ? atoi(argv[2]) : 16;
	char *big = malloc(130000);
	memset(big, 'a', 129999);
	big[129999] = 0;
	char *args[17] = {(char *)program};
	for (int k = 1; k < 16; k++)
		args[k] = big;
	args[16] = NULL;
	int started = 0, well = 0, status;
	for (int i = 0; i < n; i++) {
		pid_t child;
		if (posix_spawn(&child, program, NULL, NULL, args, environ))
			break;
		started++;
	}
	while (wait(&status) > 0)
		well += status == 0;
	printf("started %d ended well %d\n", started, well);
	return 0;
}
