/* sendfile from a file into what a server sends to: a Unix stream socket, a datagram
 * socket, a TCP connection, a pipe; with an offset (the file's position stays) and
 * without (it moves); and a count past the file's end. Prints what each side got. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

static void pass(const char *what, int out, int in, int file)
{
	off_t at = 6;
	long sent = sendfile(out, file, &at, 5);
	int e = sent < 0 ? errno : 0;
	long rest = sendfile(out, file, NULL, 100);       /* from the position, to the end */
	char got[128] = {0};
	long n = read(in, got, sizeof got - 1);
	printf("%s: sent %ld %d at %ld rest %ld pos %ld read %ld [%s]\n", what, sent, e,
	       (long)at, rest, (long)lseek(file, 0, SEEK_CUR), n, got);
	lseek(file, 0, SEEK_SET);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int file = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(file, "hello world from a file\n", 24);
	lseek(file, 0, SEEK_SET);
	int sv[2], dg[2], p[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pass("unix stream", sv[0], sv[1], file);
	socketpair(AF_UNIX, SOCK_DGRAM, 0, dg);
	pass("unix datagram", dg[0], dg[1], file);
	pipe(p);
	pass("pipe", p[1], p[0], file);
	int listener = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (bind(listener, (struct sockaddr *)&a, sizeof a) == 0 && listen(listener, 1) == 0 &&
	    getsockname(listener, (struct sockaddr *)&a, &len) == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, sizeof a) == 0) {
			int d = accept(listener, NULL, NULL);
			pass("tcp", c, d, file);
			usleep(1000);
		}
	}
	return 0;
}
