/* Service and protocol names resolve as on the host: getaddrinfo with a service name,
 * getservbyname/getservbyport, getprotobyname/getprotobynumber (a cage had no
 * /etc/services: EAI_SERVICE for every name). */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	const char *names[] = {"http", "https", "ssh", "domain", "smtp"};
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
		int err = getaddrinfo("127.0.0.1", names[i], &hints, &res);
		int port = err ? -1 : ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port);
		struct servent *s = getservbyname(names[i], "tcp");
		printf("%s: getaddrinfo %d port %d, getservbyname %d\n", names[i], err != 0, port,
		       s ? ntohs(s->s_port) : -1);
		if (!err)
			freeaddrinfo(res);
	}
	struct servent *byport = getservbyport(htons(22), "tcp");
	printf("port 22: %s\n", byport ? byport->s_name : "(none)");
	struct protoent *p = getprotobyname("tcp");      /* a static entry: used at once */
	printf("tcp %d\n", p ? p->p_proto : -1);
	p = getprotobynumber(17);
	printf("17 %s\n", p ? p->p_name : "(none)");
	return 0;
}
