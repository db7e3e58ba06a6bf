/* An unbound Unix datagram socket with SO_PASSCRED is autobound when it sends: the
 * receiver reads an abstract name of the kernel's form as the sender's address, and
 * an answer sent to it arrives (the kernel's own autobind gave a cage's socket a name
 * without its network's tag: ECONNREFUSED). Its explicit bind before any send works. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_un server = {.sun_family = AF_UNIX};
	strcpy(server.sun_path, "passcred.sock");
	unlink(server.sun_path);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0), c = socket(AF_UNIX, SOCK_DGRAM, 0), on = 1;
	if (bind(s, (struct sockaddr *)&server, sizeof server) ||
	    setsockopt(c, SOL_SOCKET, SO_PASSCRED, &on, sizeof on))
		return 1;
	int r = sendto(c, "ask", 3, 0, (struct sockaddr *)&server, sizeof server);
	printf("sendto: %d\n", r);
	struct sockaddr_un from;
	socklen_t len = sizeof from;
	char buf[8] = {0};
	r = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
	printf("received %d, from an abstract name of %d bytes: %d\n", r,
	       (int)(len - sizeof(sa_family_t)), len > sizeof(sa_family_t) && !from.sun_path[0]);
	r = sendto(s, "answer", 6, 0, (struct sockaddr *)&from, len);
	printf("answer: %d errno %d\n", r, r < 0 ? errno : 0);
	r = recv(c, buf, sizeof buf, MSG_DONTWAIT);
	printf("the asker reads: %d\n", r);
	int b = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un own = {.sun_family = AF_UNIX};
	strcpy(own.sun_path, "passcred-own.sock");
	unlink(own.sun_path);
	setsockopt(b, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
	printf("bind after SO_PASSCRED: %d\n", bind(b, (struct sockaddr *)&own, sizeof own));
	unlink(server.sun_path);
	unlink(own.sun_path);
	return 0;
}
