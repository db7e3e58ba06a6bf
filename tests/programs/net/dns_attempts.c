/* A private network has no resolver: a name not in /etc/hosts is asked of its loopback,
 * where a program of the tree may serve DNS. Here a child listens there and counts the
 * queries (never answering) while the parent resolves a name: one query (an A record,
 * one attempt), then the lookup fails. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
		perror("bind");
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int queries = 0;
		char buf[512];
		struct pollfd p = {.fd = s, .events = POLLIN};
		while (poll(&p, 1, 3000) == 1 && recv(s, buf, sizeof buf, 0) > 0)
			queries++;
		printf("queries: %d\n", queries);
		return 0;
	}
	close(s);
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
	int r = getaddrinfo("lind-test.invalid", "80", &hints, &res);
	printf("resolved: %s\n", r == 0 ? "yes" : "no");
	r = getaddrinfo("localhost", "80", &hints, &res);
	printf("localhost: %s\n", r == 0 ? "yes" : "no");
	fflush(stdout);
	waitpid(pid, NULL, 0);
	return 0;
}
