/* Unix socket paths up to sun_path's 108 bytes (the last without a NUL): bound, shown
 * by getsockname, connected to; one already there is EADDRINUSE and, once removed,
 * binds on the same socket (a cage's names past ~90 bytes were ENAMETOOLONG: Lind
 * binds through /proc/self/fd/N/, which left no room for them). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct sockaddr_un named(size_t length, char fill)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memset(a.sun_path, fill, length);
	return a;
}

static void try_length(size_t length, char fill)
{
	struct sockaddr_un a = named(length, fill);
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + length +
			(length < sizeof a.sun_path);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	int r = bind(s, (struct sockaddr *)&a, len);
	printf("%zu bytes: bind %d errno %d", length, r, r ? errno : 0);
	struct sockaddr_un got;
	socklen_t got_len = sizeof got;
	getsockname(s, (struct sockaddr *)&got, &got_len);
	printf(", getsockname the same %d", got_len >= offsetof(struct sockaddr_un, sun_path) + length &&
	       !memcmp(got.sun_path, a.sun_path, length));
	listen(s, 1);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	r = connect(c, (struct sockaddr *)&a, len);
	printf(", connect %d errno %d", r, r ? errno : 0);
	int again = socket(AF_UNIX, SOCK_STREAM, 0);
	r = bind(again, (struct sockaddr *)&a, len);
	printf(", again %d errno %d", r, r ? errno : 0);
	char path[sizeof a.sun_path + 1] = {0};
	memcpy(path, a.sun_path, length);
	unlink(path);
	r = bind(again, (struct sockaddr *)&a, len);
	printf(", once removed %d errno %d\n", r, r ? errno : 0);
	unlink(path);
	close(s);
	close(c);
	close(again);
}

int main(void)
{
	try_length(20, 'a');
	try_length(95, 'b');
	try_length(107, 'c');
	try_length(108, 'd');
	return 0;
}
