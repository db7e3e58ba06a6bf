/* epoll_pwait (with a signal mask: the microvisor's path, not the trampoline's) asking
 * for 32 Mi events while 300 are ready: Lind sized a host buffer by the asking (384 MiB,
 * outside every budget) and copied it whole once for each event returned. Prints what
 * each of 4 waits returned. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define READY 300
#define ASKED (32 << 20)

int main(void)
{
	int ep = epoll_create1(0);
	for (int i = 0; i < READY; i++) {
		int p[2];
		if (pipe(p) != 0 || write(p[1], "x", 1) != 1)
			return 1;
		struct epoll_event e = {.events = EPOLLIN, .data.fd = p[0]};
		epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
	}
	struct epoll_event *events = malloc(sizeof *events * (size_t)ASKED);
	if (!events)
		return 2;
	sigset_t mask;
	sigemptyset(&mask);
	for (int round = 0; round < 4; round++)
		printf("returned %d\n", epoll_pwait(ep, events, ASKED, 1000, &mask));
	return 0;
}
