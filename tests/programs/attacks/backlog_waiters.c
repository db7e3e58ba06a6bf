/* THREADS threads (argv[1]) each block in connect() to a Unix listener whose backlog
 * is full and which never accepts, for SECONDS (argv[2]); then the program leaves.
 * Linux sleeps them until the listener accepts; Lind has no event to wait for and
 * tries again, each try taking Python's lock from the Runtime's other tenants. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static struct sockaddr_un name = {.sun_family = AF_UNIX};
static socklen_t len = sizeof name;
static void *waiter(void *arg)
{
	(void)arg;
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&name, len);
	return NULL;
}
int main(int argc, char **argv)
{
	int threads = atoi(argv[1]), secs = atoi(argv[2]);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&name, sizeof(sa_family_t));
	listen(l, 0);
	getsockname(l, (struct sockaddr *)&name, &len);
	for (int i = 0; i < 4; i++) {          /* fill the backlog */
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(c, (struct sockaddr *)&name, len);
	}
	pthread_t t;
	for (int i = 0; i < threads; i++) pthread_create(&t, NULL, waiter, NULL);
	sleep(secs);
	printf("done\n");
	fflush(stdout);
	_exit(0);
}
