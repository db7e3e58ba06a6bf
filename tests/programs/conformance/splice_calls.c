/* splice, tee and vmsplice: a file into a pipe at an offset (the offset moves, the
 * file's position does not), a pipe into a file, a pipe copied into another without
 * being emptied, a socket into a pipe, the cage's buffers into a pipe and out of one,
 * SPLICE_F_NONBLOCK on an empty pipe, a wait for a writer, and the errors. Prints
 * errno numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s: %ld %d\n", what, r, r < 0 ? errno : 0);
	errno = 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int file = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(file, "0123456789abcdefghij", 20);
	int p[2], q[2];
	pipe(p);
	pipe(q);
	loff_t at = 5;
	say("file to pipe at 5", splice(file, &at, p[1], NULL, 8, 0));
	printf("  offset now %lld, position %ld\n", (long long)at, (long)lseek(file, 0, SEEK_CUR));
	say("tee", tee(p[0], q[1], 100, 0));
	char buf[64] = {0};
	say("read the copy", read(q[0], buf, sizeof buf));
	printf("  copy: %s\n", buf);
	int out = open("out", O_RDWR | O_CREAT | O_TRUNC, 0644);
	say("pipe to file", splice(p[0], NULL, out, NULL, 100, 0));
	memset(buf, 0, sizeof buf);
	pread(out, buf, sizeof buf, 0);
	printf("  file: %s, position %ld\n", buf, (long)lseek(out, 0, SEEK_CUR));
	say("empty pipe, SPLICE_F_NONBLOCK", splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK));
	say("tee of an empty pipe, SPLICE_F_NONBLOCK", tee(p[0], q[1], 10, SPLICE_F_NONBLOCK));

	struct iovec parts[2] = {{"vm", 2}, {"splice", 6}};
	say("vmsplice into the pipe", vmsplice(p[1], parts, 2, 0));
	char a[3] = {0}, b[7] = {0};
	struct iovec back[2] = {{a, 2}, {b, 6}};
	say("vmsplice out of it", vmsplice(p[0], back, 2, 0));
	printf("  %s %s\n", a, b);

	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[1], "over a socket", 13);
	say("socket to pipe", splice(sv[0], NULL, p[1], NULL, 100, 0));
	memset(buf, 0, sizeof buf);
	read(p[0], buf, sizeof buf);
	printf("  %s\n", buf);

	pid_t pid = fork();
	if (pid == 0) {
		usleep(50000);
		write(p[1], "late", 4);
		_exit(0);
	}
	say("waits for a writer", splice(p[0], NULL, out, NULL, 100, 0));
	waitpid(pid, NULL, 0);

	at = 0;
	say("no pipe at all", splice(file, &at, out, NULL, 4, 0));
	say("an offset on the pipe", splice(p[0], &at, out, NULL, 4, 0));
	say("unknown flags", splice(file, &at, p[1], NULL, 4, 0x100));
	int ro = open("data", O_RDONLY);
	write(p[1], "x", 1);
	say("into a read-only file", splice(p[0], NULL, ro, NULL, 1, 0));
	say("tee of a file", tee(file, q[1], 4, 0));
	int app = open("out", O_WRONLY | O_APPEND);
	say("into an O_APPEND file", splice(p[0], NULL, app, NULL, 1, 0));
	say("zero bytes", splice(p[0], NULL, out, NULL, 0, 0));
	unlink("data");
	unlink("out");
	return 0;
}
