/* A Unix socket address longer than struct sockaddr_un (sizeof(struct sockaddr_storage),
 * say) is EINVAL for bind, connect and sendto, as Linux's unix_validate_addr says (a
 * cage's were taken); one of sizeof(struct sockaddr_un) binds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_un *a = (struct sockaddr_un *)&ss;
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, "lengths.sock");
	unlink(a->sun_path);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	int r = bind(s, (struct sockaddr *)&ss, sizeof ss);
	printf("bind, sockaddr_storage's length: %d errno %d\n", r, r ? errno : 0);
	r = bind(s, (struct sockaddr *)&ss, sizeof(struct sockaddr_un));
	printf("bind, sockaddr_un's length: %d errno %d\n", r, r ? errno : 0);
	listen(s, 1);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	r = connect(c, (struct sockaddr *)&ss, sizeof ss);
	printf("connect, sockaddr_storage's length: %d errno %d\n", r, r ? errno : 0);
	r = connect(c, (struct sockaddr *)&ss, sizeof(struct sockaddr_un));
	printf("connect, sockaddr_un's length: %d errno %d\n", r, r ? errno : 0);
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	r = sendto(d, "x", 1, 0, (struct sockaddr *)&ss, sizeof ss);
	printf("sendto, sockaddr_storage's length: %d errno %d\n", r, r < 0 ? errno : 0);
	a->sun_path[0] = '\0';                     /* abstract */
	r = bind(d, (struct sockaddr *)&ss, sizeof ss);
	printf("abstract bind, sockaddr_storage's length: %d errno %d\n", r, r ? errno : 0);
	unlink("lengths.sock");
	return 0;
}
