/* recv(MSG_TRUNC) on TCP discards bytes and copies none, so the microvisor reads them
 * into a host buffer of its own: THREADS threads (argv[1]) each block in one asking for
 * a GiB, on connections with nothing to read yet, then get one byte each. Prints
 * "discarded N" (the bytes their recvs said). */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define MOST 512
static int servers[MOST];
static long said[MOST];

static void *discard(void *arg)
{
	long i = (long)arg;
	said[i] = recv(servers[i], NULL, 1 << 30, MSG_TRUNC);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 256, clients[MOST];
	if (threads > MOST)
		return 2;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, MOST) ||
	    getsockname(l, (struct sockaddr *)&a, &n))
		return 1;
	for (int i = 0; i < threads; i++) {
		clients[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(clients[i], (struct sockaddr *)&a, sizeof a) ||
		    (servers[i] = accept(l, NULL, NULL)) < 0)
			return 1;
	}
	pthread_t ids[MOST];
	for (long i = 0; i < threads; i++)
		if (pthread_create(&ids[i], NULL, discard, (void *)i))
			return 1;
	sleep(2);                      /* every thread waits in its recv */
	for (int i = 0; i < threads; i++)
		write(clients[i], "x", 1);
	long total = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(ids[i], NULL);
		total += said[i];
	}
	printf("discarded %ld\n", total);
	return 0;
}
