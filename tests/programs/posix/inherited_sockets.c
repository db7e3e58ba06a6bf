/* An inetd-style service: stdin is a connected stream socket (a Unix socketpair's end,
 * "ping" waiting in it) and argv[1] a listening TCP socket on 127.0.0.1 with one client
 * already connected ("hi" sent), both handed over by the parent as subprocess does.
 * Socket calls work on them as on any socket: stdin is read-write, names and types are
 * the host's, a blocking accept takes the waiting client, a non-blocking one says
 * EAGAIN and a blocking one with nobody waiting ends at a signal (EINTR). Run natively
 * and in Lind, and the outputs compared (tests/test_api.py). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1 : r, r < 0 ? errno : 0);
}

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char **argv)
{
	char buf[64] = "";
	struct sockaddr_storage name;
	socklen_t len = sizeof name;
	int value;
	socklen_t value_len = sizeof value;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2)
		return 2;
	int listener = atoi(argv[1]);

	report("stdin access mode", fcntl(0, F_GETFL) & O_ACCMODE);
	report("getsockname", getsockname(0, (struct sockaddr *)&name, &len));
	printf("family %d\n", name.ss_family);
	report("SO_TYPE", getsockopt(0, SOL_SOCKET, SO_TYPE, &value, &value_len));
	printf("type %d\n", value);
	long n = recv(0, buf, sizeof buf - 1, 0);
	report("recv", n);
	printf("got \"%s\"\n", n > 0 ? buf : "");
	report("recv with nothing there, MSG_DONTWAIT", recv(0, buf, sizeof buf, MSG_DONTWAIT));
	report("send", send(0, "pong", 4, 0));
	report("write to stdin", write(0, "!", 1));
	report("shutdown SHUT_WR", shutdown(0, SHUT_WR));

	len = sizeof name;
	report("listener getsockname", getsockname(listener, (struct sockaddr *)&name, &len));
	printf("listener family %d\n", name.ss_family);
	int client = accept(listener, NULL, NULL);
	report("accept of the waiting client", client >= 0 ? 0 : -1);
	memset(buf, 0, sizeof buf);
	n = read(client, buf, sizeof buf - 1);
	report("read from the client", n);
	printf("client said \"%s\"\n", n > 0 ? buf : "");
	report("set O_NONBLOCK", fcntl(listener, F_SETFL, O_NONBLOCK));
	report("non-blocking accept, nobody waiting", accept(listener, NULL, NULL));
	report("clear O_NONBLOCK", fcntl(listener, F_SETFL, 0));
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval t = {{0, 0}, {0, 300000}};
	setitimer(ITIMER_REAL, &t, NULL);
	report("blocking accept, nobody waiting, a signal", accept(listener, NULL, NULL));
	return 0;
}
