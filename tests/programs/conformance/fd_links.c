/* What readlink of /proc/self/fd/N says for each kind of file: a file's path (with
 * " (deleted)" once unlinked), a directory's, a pipe's and a socket's inode, an
 * eventfd, epoll, timerfd, signalfd and inotify fd by kind, a memfd by name. A cage
 * said "anon_inode:[host-file]" for every event file and memfd, and nothing of a
 * deleted file. Paths are shown relative to the working directory, inode numbers as N. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void show(const char *what, int fd)
{
	char link[64], to[PATH_MAX], cwd[PATH_MAX];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, to, sizeof to - 1);
	if (n < 0) {
		printf("%s: readlink failed\n", what);
		return;
	}
	to[n] = 0;
	getcwd(cwd, sizeof cwd);
	size_t len = strlen(cwd);
	if (strncmp(to, cwd, len) == 0 && to[len] == '/') {
		printf("%s: %s\n", what, to + len + 1);
		return;
	}
	char *open_bracket = strchr(to, '[');
	if (open_bracket && open_bracket[1] >= '0' && open_bracket[1] <= '9')
		strcpy(open_bracket, "[N]");
	printf("%s: %s\n", what, to);
}

int main(void)
{
	mkdir("t", 0755);
	chdir("t");          /* so that no path of the test is "/" + a name */
	show("file", open("file", O_CREAT | O_RDWR, 0644));
	int gone = open("gone", O_CREAT | O_RDWR, 0644);
	unlink("gone");
	show("deleted file", gone);
	mkdir("dir", 0755);
	show("directory", open("dir", O_RDONLY | O_DIRECTORY));
	int p[2];
	pipe(p);
	show("pipe", p[0]);
	int s[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	show("socket", s[0]);
	show("memfd", memfd_create("mine", 0));
	show("eventfd", eventfd(0, 0));
	show("epoll", epoll_create1(0));
	show("timerfd", timerfd_create(CLOCK_MONOTONIC, 0));
	sigset_t mask;
	sigemptyset(&mask);
	show("signalfd", signalfd(-1, &mask, 0));
	show("inotify", inotify_init());
	show("/dev/null", open("/dev/null", O_RDONLY));
	return 0;
}
