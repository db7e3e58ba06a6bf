/* Makes /big.wasm, argv[2] MiB (default 200) of zeros after a module's magic number
 * (sparse: it costs no disk), and execs it from argv[1] children at once (default 12):
 * the host read each exec's copy of the file into its own memory. Each child prints
 * "execN RESULT ERRNO" (ENOEXEC: no program; ENOMEM: no room in the tree to read it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int children = argc > 1 ? atoi(argv[1]) : 12;
	long mib = argc > 2 ? atol(argv[2]) : 200;
	int gate[2];
	int fd = open("/big.wasm", O_CREAT | O_WRONLY | O_TRUNC, 0755);
	if (fd < 0 || write(fd, "\0asm\1\0\0\0", 8) != 8 || ftruncate(fd, mib << 20) != 0 ||
	    close(fd) != 0 || pipe(gate) != 0) {
		perror("setup");
		return 1;
	}
	for (int i = 0; i < children; i++) {
		if (fork() == 0) {
			char byte, *args[] = {"/big.wasm", NULL};
			close(gate[1]);
			if (read(gate[0], &byte, 1) != 1)      /* all go at once */
				_exit(1);
			int r = execv("/big.wasm", args);
			printf("exec%d %d %d\n", i, r, errno);
			fflush(stdout);
			_exit(0);
		}
	}
	close(gate[0]);
	for (int i = 0; i < children; i++)
		if (write(gate[1], "x", 1) != 1)
			return 1;
	while (wait(NULL) > 0)
		;
	printf("done\n");
	return 0;
}
