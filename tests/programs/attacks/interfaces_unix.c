/* Names the network interfaces a cage can find by index (SIOCGIFNAME), asked through a
 * Unix socket and, where the cage may make one, an Internet socket: "unix: lo" and
 * "inet: lo" for a private network. Lind's Unix sockets are the host's (its own
 * namespace), and through them a cage of a private network, or of none, read the
 * host's interfaces and their hardware addresses. */
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static void names(const char *what, int s)
{
	printf("%s:", what);
	for (int i = 1; s >= 0 && i <= 64; i++) {
		struct ifreq r;
		memset(&r, 0, sizeof r);
		r.ifr_ifindex = i;
		if (ioctl(s, SIOCGIFNAME, &r) == 0)
			printf(" %.*s", IFNAMSIZ, r.ifr_name);
	}
	printf("\n");
}

int main(void)
{
	names("unix", socket(AF_UNIX, SOCK_DGRAM, 0));
	names("inet", socket(AF_INET, SOCK_DGRAM, 0));
	return 0;
}
