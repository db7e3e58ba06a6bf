/* Unix sockets named in the portable back end's tree: a server binds "srv.sock"
 * (relative, in /tmp), a forked child connects by the absolute name and they talk;
 * the name is a socket in the tree, taken names are EADDRINUSE, a missing name
 * ENOENT, a regular file ECONNREFUSED; getsockname shows the name as bound. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sockaddr_un named(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strncpy(a.sun_path, path, sizeof a.sun_path - 1);
	return a;
}

static int try_connect(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = named(path);
	int r = connect(s, (struct sockaddr *)&a, sizeof a);
	int e = errno;
	close(s);
	return r < 0 ? e : 0;
}

int main(void)
{
	if (chdir("/tmp") != 0)
		return 1;
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = named("srv.sock");
	if (bind(srv, (struct sockaddr *)&a, sizeof a) != 0 || listen(srv, 4) != 0) {
		perror("bind");
		return 2;
	}
	struct stat st;
	printf("stat: %d socket %d\n", stat("/tmp/srv.sock", &st), S_ISSOCK(st.st_mode));
	int again = socket(AF_UNIX, SOCK_STREAM, 0);
	int r = bind(again, (struct sockaddr *)&a, sizeof a);
	printf("bind taken: %d errno %d\n", r, r < 0 ? errno : 0);
	struct sockaddr_un got;
	socklen_t len = sizeof got;
	getsockname(srv, (struct sockaddr *)&got, &len);
	printf("name: %s\n", got.sun_path);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un to = named("/tmp/srv.sock");
		if (connect(c, (struct sockaddr *)&to, sizeof to) != 0)
			_exit(3);
		write(c, "ping", 4);
		_exit(0);
	}
	int conn = accept(srv, NULL, NULL);
	char buf[8] = {0};
	read(conn, buf, 4);
	int status;
	waitpid(pid, &status, 0);
	printf("got: %s, child %d\n", buf, WEXITSTATUS(status));
	close(open("/tmp/plain", O_CREAT | O_WRONLY, 0644));
	printf("missing: %d, regular file: %d\n", try_connect("/tmp/none.sock"), try_connect("/tmp/plain"));
	printf("unlink: %d, then missing: %d\n", unlink("/tmp/srv.sock"), try_connect("/tmp/srv.sock"));
	return 0;
}
