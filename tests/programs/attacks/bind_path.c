/* Makes Unix socket files under DIR (argv[1]) with bind: by an absolute path and,
 * after chdir(DIR), a relative one. Then what must still work: an abstract name, a path
 * outside DIR (/tmp), and connect to DIR/live.sock, which the host listens on. Prints
 * "WHAT RESULT ERRNO" for each (RESULT 0 or -1). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void report(const char *what, int r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

static int named(const char *what, const char *path, int abstract, int connecting)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path + abstract, sizeof a.sun_path - 1, "%s", path);
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + abstract + strlen(path) + 1;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	errno = 0;
	int r = connecting ? connect(s, (struct sockaddr *)&a, len)
	                   : bind(s, (struct sockaddr *)&a, len);
	report(what, r);
	return r;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/data";
	char p[100];
	snprintf(p, sizeof p, "%s/sock", dir);
	named("bind_abs", p, 0, 0);
	chdir(dir);
	named("bind_rel", "sock2", 0, 0);
	named("bind_abstract", "lind-bind-path-test", 1, 0);
	named("bind_outside", "/tmp/outside.sock", 0, 0);
	snprintf(p, sizeof p, "%s/live.sock", dir);
	named("connect", p, 0, 1);
	return 0;
}
