/* Tries to park the host in its kernel, where no kill reaches: calls that open a file
 * by name, given a FIFO nobody opens from the other side (truncate, execve, statfs,
 * chmod, utimes, open for writing without O_NONBLOCK: the last one must wait, but
 * interruptibly). Prints "CALL RESULT ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <unistd.h>

extern char **environ;

static void report(const char *what, int r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
	fflush(stdout);
}

static void on_alarm(int sig) { (void)sig; }

int main(void)
{
	report("mkfifo", mkfifo("/fifo", 0666));
	report("truncate", truncate("/fifo", 0));
	char *args[] = {"/fifo", NULL};
	report("execve", execve("/fifo", args, environ));
	struct statfs fs;
	report("statfs", statfs("/fifo", &fs));
	report("chmod", chmod("/fifo", 0600));
	report("utimes", utimes("/fifo", NULL));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	report("open-for-writing", open("/fifo", O_WRONLY));
	return 0;
}
