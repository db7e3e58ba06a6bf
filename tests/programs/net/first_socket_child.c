/* The tree's first Internet socket is a child's, whose host thread then ends: the
 * private network must outlive it. The parent waits argv[1] ms after the child, then
 * makes a kind of socket not made before and talks to itself over the loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int say(const char *what, int r)
{
	printf("%s %s\n", what, r >= 0 ? "ok" : strerror(errno));
	return r;
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		say("child socket", socket(AF_INET, SOCK_STREAM, 0));
		return 0;
	}
	waitpid(pid, NULL, 0);
	struct timespec pause = {ms / 1000, ms % 1000 * 1000000};
	nanosleep(&pause, NULL);
	int u = say("udp socket", socket(AF_INET, SOCK_DGRAM, 0));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	say("bind", bind(u, (struct sockaddr *)&a, sizeof a));
	socklen_t len = sizeof a;
	getsockname(u, (struct sockaddr *)&a, &len);
	say("send to itself", (int)sendto(u, "hi", 2, 0, (struct sockaddr *)&a, sizeof a));
	char got[3] = {0};
	say("receive", (int)recv(u, got, 2, 0));
	printf("got %s\n", got);
	return 0;
}
