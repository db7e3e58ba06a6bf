/* A fork that fails for want of host fds lets go of the files its child had copied:
 * a cage holding a signalfd (a fork's child makes one of its own: a new host fd) and a
 * pseudo-terminal fills its tree's share of the host's fds with eventfds, then a child
 * of it forks. Prints what each step got. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	struct rlimit most = {4096, 4096};
	setrlimit(RLIMIT_NOFILE, &most);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (signalfd(-1, &usr1, 0) < 0 || open("/dev/ptmx", O_RDWR | O_NOCTTY) < 0)
		return 1;
	int first = -1, fd;
	while ((fd = eventfd(0, 0)) >= 0)
		if (first < 0)
			first = fd;
	pid_t child = fork();
	if (child == 0) {
		for (int i = 0; i < 1000; i++)    /* room in its table: none in the host's */
			close(first + i);
		while (eventfd(0, 0) >= 0)
			;
		pid_t grandchild = fork();
		if (grandchild == 0)
			_exit(0);
		printf("fork %d %s\n", grandchild, grandchild < 0 ? strerror(errno) : "");
		fflush(stdout);
		_exit(0);
	}
	if (child < 0 || waitpid(child, NULL, 0) != child)
		return 1;
	return 0;
}
