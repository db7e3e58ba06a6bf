/* The other Runtime's tenant for runtime_reach: cage 1 forks cage 2, which forks cage
 * 3; cage 3 says "ready" (argv[1], a file) and lives argv[2] ms. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void wait_for(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
}

int main(int argc, char **argv)
{
	pid_t child = fork();
	if (child == 0) {
		pid_t grandchild = fork();
		if (grandchild == 0) {
			int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || write(fd, "ready\n", 6) != 6) {
				perror(argv[1]);
				return 1;
			}
			close(fd);
			long ms = atol(argv[2]);
			struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
			nanosleep(&t, NULL);
			return 0;
		}
		wait_for(grandchild);
		return 0;
	}
	wait_for(child);
	printf("victim done\n");
	return 0;
}
