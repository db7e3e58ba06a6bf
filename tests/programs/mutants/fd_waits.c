/* How reads and writes of an open file wait and what its status flags change: F_SETFL on
 * a regular file, a FIFO read and a FIFO write a signal interrupts, writev larger than a
 * pipe holds, a non-blocking pipe filled up, hundreds of eventfds at once, and virtual
 * files opened and closed many times. Relative paths only: run in a directory holding
 * "data" (10 bytes) and "fifo" (a named pipe), natively and in Lind, and the outputs
 * compared (tests/test_mutants_fs.py). With argv[1] "stdout", only the status flags of an
 * inherited stdout (which the test opens for appending); with "socket-stdin", reads of
 * a stdin that is a socket; with "dup-pipe", a pipe's description shared by two fds;
 * with "received-pipes", the ends of two host pipes received over a stdin socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG 200000

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1 : r, r < 0 ? errno : 0);
}

static int alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

/* SIGALRM in `ms` milliseconds, with a handler that does not restart calls. */
static void alarm_in(int ms)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval t = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
	setitimer(ITIMER_REAL, &t, NULL);
}

static unsigned checksum(const unsigned char *p, size_t n, size_t at)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (unsigned)(at + i + 1) * p[i];
	return sum;
}

/* Reads `fd` to its end: how many bytes, and their position-weighted checksum. */
static void drain(int fd, const char *who)
{
	static unsigned char buf[8192];
	size_t total = 0;
	unsigned sum = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		sum += checksum(buf, (size_t)n, total);
		total += (size_t)n;
	}
	printf("%s read %zu bytes, checksum %u\n", who, total, sum);
}

static void show_flags(const char *what, int fd)
{
	int fl = fcntl(fd, F_GETFL);
	printf("%s access %d append %d nonblock %d\n", what, fl & O_ACCMODE, !!(fl & O_APPEND),
	       !!(fl & O_NONBLOCK));
}

static void show_data(const char *what)
{
	char buf[32] = "";
	int fd = open("data", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("%s: %zd \"%s\"\n", what, n, n > 0 ? buf : "");
}

static int inherited_stdout(void)
{
	int fl = fcntl(1, F_GETFL);
	int keep = fcntl(1, F_SETFL, fl | O_NONBLOCK);
	int e1 = keep < 0 ? errno : 0;
	int nonblock = !!(fcntl(1, F_GETFL) & O_NONBLOCK);
	int back = fcntl(1, F_SETFL, fl);
	int e2 = back < 0 ? errno : 0;
	fprintf(stderr, "append %d; keeping it, adding O_NONBLOCK: %d %d (nonblock %d); "
	        "as before: %d %d\n", !!(fl & O_APPEND), keep, e1, nonblock, back, e2);
	return 0;
}

/* stdin a socket the host holds, "abc" already sent: a read of more returns what is
 * there; the next read waits until a signal interrupts it (EINTR). */
static int socket_stdin(void)
{
	char buf[100];
	report("socket read of 100 with 3 there", read(0, buf, sizeof buf));
	alarm_in(300);
	report("socket read interrupted", read(0, buf, sizeof buf));
	printf("alarms %d\n", alarms);
	return 0;
}

/* A blocking pipe whose read end was dup'ed and the copy closed, then a non-blocking
 * pipe made: reads of the first still wait (until a signal). First in its process:
 * the pipes are the first of the run. */
static int dup_pipe(void)
{
	int p[2], q[2];
	char c;
	pipe(p);
	close(dup(p[0]));
	pipe2(q, O_NONBLOCK);
	report("empty nonblocking pipe", read(q[0], &c, 1));
	alarm_in(300);
	report("empty blocking pipe interrupted", read(p[0], &c, 1));
	printf("alarms %d\n", alarms);
	return 0;
}

/* stdin a socket that brought a pipe's read end ("abc" in it, its writer held open by
 * the host) and another pipe's write end (its reader never reads): reads return what
 * is there, then wait until a signal, then with O_NONBLOCK say EAGAIN; a write larger
 * than the pipe holds fills it and waits until a signal, then with O_NONBLOCK EAGAIN. */
static int received_pipes(void)
{
	static char big[70000];
	char buf[100], control[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = {buf, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
	                     .msg_controllen = sizeof control};
	report("recvmsg", recvmsg(0, &msg, 0));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(2 * sizeof(int))) {
		printf("no two fds\n");
		return 1;
	}
	int fds[2];
	memcpy(fds, CMSG_DATA(c), sizeof fds);
	report("read of 100 with 3 there", read(fds[0], buf, sizeof buf));
	alarm_in(300);
	report("empty read interrupted", read(fds[0], buf, sizeof buf));
	report("set nonblock", fcntl(fds[0], F_SETFL, O_NONBLOCK));
	report("empty nonblocking read", read(fds[0], buf, sizeof buf));
	alarm_in(300);
	report("write past the room interrupted", write(fds[1], big, sizeof big));
	report("set nonblock", fcntl(fds[1], F_SETFL, O_NONBLOCK));
	report("write to a full pipe", write(fds[1], big, 1));
	printf("alarms %d\n", alarms);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "received-pipes") == 0)
		return received_pipes();
	if (argc > 1 && strcmp(argv[1], "stdout") == 0)
		return inherited_stdout();
	if (argc > 1 && strcmp(argv[1], "socket-stdin") == 0)
		return socket_stdin();
	if (argc > 1 && strcmp(argv[1], "dup-pipe") == 0)
		return dup_pipe();
	setvbuf(stdout, NULL, _IONBF, 0);
	static unsigned char big[BIG];
	for (size_t i = 0; i < BIG; i++)
		big[i] = (unsigned char)(i * 7 + i / 251);
	printf("sent checksum %u\n", checksum(big, BIG, 0));

	/* F_SETFL on a regular file: O_APPEND off and on again, O_NONBLOCK (ignored). */
	int fd = open("data", O_WRONLY | O_APPEND);
	show_flags("opened", fd);
	report("append ab", write(fd, "ab", 2));
	report("clear append", fcntl(fd, F_SETFL, 0));
	show_flags("cleared", fd);
	lseek(fd, 0, SEEK_SET);
	report("write X at 0", write(fd, "X", 1));
	report("set append", fcntl(fd, F_SETFL, O_APPEND));
	report("append c", write(fd, "c", 1));
	report("set nonblock", fcntl(fd, F_SETFL, O_NONBLOCK));
	show_flags("nonblock", fd);
	lseek(fd, 1, SEEK_SET);
	report("write Y at 1", write(fd, "Y", 1));
	close(fd);
	show_data("data");

	/* A blocked FIFO read that a signal interrupts: EINTR. */
	pid_t writer = fork();
	if (writer == 0) {
		int w = open("fifo", O_WRONLY);
		sleep(2);    /* the writer stays, silent, past the alarm */
		close(w);
		_exit(0);
	}
	int r = open("fifo", O_RDONLY);
	char c;
	alarm_in(300);
	report("fifo read interrupted", read(r, &c, 1));
	printf("alarms %d\n", alarms);
	report("fifo read at writer's end", read(r, &c, 1));
	close(r);
	waitpid(writer, NULL, 0);

	/* A FIFO write a signal interrupts after part of it: the part. */
	pid_t reader = fork();
	if (reader == 0) {
		int rd = open("fifo", O_RDONLY);
		sleep(2);    /* reads nothing until well after the alarm */
		drain(rd, "fifo reader");
		_exit(0);
	}
	int w = open("fifo", O_WRONLY);
	alarm_in(300);
	long part = write(w, big, BIG);
	report("fifo write interrupted", part);
	printf("alarms %d\n", alarms);
	if (part > 0)
		report("fifo write the rest", write(w, big + part, BIG - part));
	close(w);
	waitpid(reader, NULL, 0);

	/* writev of two buffers larger than a pipe holds, a reader draining it: all of it,
	 * in order. */
	int p[2];
	pipe(p);
	reader = fork();
	if (reader == 0) {
		close(p[1]);
		drain(p[0], "pipe reader");
		_exit(0);
	}
	close(p[0]);
	struct iovec iov[2] = {{big, BIG / 2}, {big + BIG / 2, BIG / 2}};
	report("writev to pipe", writev(p[1], iov, 2));
	close(p[1]);
	waitpid(reader, NULL, 0);

	/* readv asking for more than the pipe holds: what is there (an alarm would end a
	 * wait for more). */
	pipe(p);
	write(p[1], "abc", 3);
	char part1[8] = "", part2[8] = "";
	struct iovec parts[2] = {{part1, 2}, {part2, 8}};
	alarm_in(500);
	report("readv of 10 with 3 there", readv(p[0], parts, 2));
	printf("read \"%.2s\" \"%.1s\"\n", part1, part2);
	alarm_in(0);
	close(p[0]);
	close(p[1]);

	/* A non-blocking pipe filled up: what fits, then EAGAIN. */
	pipe(p);
	report("pipe nonblock", fcntl(p[1], F_SETFL, O_NONBLOCK));
	report("fill pipe", write(p[1], big, BIG));
	report("write to full pipe", write(p[1], big, 1));
	report("read some", read(p[0], big, 4096));
	report("write after read", write(p[1], big, BIG));
	close(p[0]);
	close(p[1]);

	/* Hundreds of eventfds open at once, each written and read. */
	struct rlimit lim = {1024, 1024};
	setrlimit(RLIMIT_NOFILE, &lim);
	static int events[300];
	int made = 0, used = 0;
	for (int i = 0; i < 300; i++)
		if ((events[i] = eventfd(0, 0)) >= 0)
			made++;
	for (int i = 0; i < 300; i++) {
		uint64_t one = 1, got = 0;
		if (write(events[i], &one, 8) == 8 && read(events[i], &got, 8) == 8 && got == 1)
			used++;
		close(events[i]);
	}
	printf("eventfds made %d, written and read %d\n", made, used);

	/* Virtual files and directories, opened and closed many times over. */
	int opened = 0;
	for (int i = 0; i < 200; i++) {
		int n = open("/dev/null", O_RDWR), d = open("/proc", O_RDONLY | O_DIRECTORY);
		opened += (n >= 0) + (d >= 0);
		close(n);
		close(d);
	}
	printf("virtual opens %d\n", opened);
	struct pollfd virt[2] = {{open("/dev/null", O_RDWR), POLLIN | POLLOUT | POLLPRI, 0},
	                         {open("/proc", O_RDONLY | O_DIRECTORY), POLLIN, 0}};
	report("poll /dev/null and /proc", poll(virt, 2, 0));
	printf("revents %d %d\n", virt[0].revents, virt[1].revents);
	return 0;
}
