/* A cage may not make a raw packet socket: Linux still turns the obsolete
 * socket(AF_INET, SOCK_PACKET, proto) into an AF_PACKET one, which root (Lind may be
 * root, and owns its private network) gets. Through one a cage read every frame of its
 * network: other trees' traffic, connections to its published ports (with the host's
 * network, the host's). Prints each socket() outcome and, with a socket, whether it
 * saw "SECRET" go by within 3 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOCK_PACKET
#define SOCK_PACKET 10
#endif
#define ETH_P_ALL 0x0003

static void sniff(int s)
{
	static unsigned char frame[65536];
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int seen = 0;
	do {
		struct pollfd p = {s, POLLIN, 0};
		if (poll(&p, 1, 200) > 0) {
			ssize_t n = recv(s, frame, sizeof frame, MSG_DONTWAIT);
			for (ssize_t i = 0; i + 6 <= n; i++)
				seen |= !memcmp(frame + i, "SECRET", 6);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!seen && now.tv_sec - start.tv_sec < 3);
	printf("sniffed %d 0\n", seen);
}

int main(void)
{
	int families[] = {AF_INET, AF_INET6};
	for (int i = 0; i < 2; i++) {
		int s = socket(families[i], SOCK_PACKET, htons(ETH_P_ALL));
		printf("packet-%d %d %d\n", families[i], s < 0 ? -1 : 0, s < 0 ? errno : 0);
		fflush(stdout);
		if (s >= 0) {
			sniff(s);
			close(s);
		}
	}
	return 0;
}
