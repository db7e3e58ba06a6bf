/* What the cooperative runtime (lind.portable.runtime) answers where it cannot do
 * what Linux does, or where Linux's answer is an error: each line is checked. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	printf("%s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "ok");
}

int main(int argc, char **argv)
{
	char *args[] = {"x", NULL};
	int st;

	if (argc > 1 && strcmp(argv[1], "spin") == 0)
		for (volatile unsigned long i = 0;; i++)
			;

	int fd = open("/data.txt", O_CREAT | O_WRONLY, 0644);
	write(fd, "not a program", 13);
	close(fd);
	show("exec without x", execve("/data.txt", args, NULL));
	chmod("/data.txt", 0755);
	show("exec of text", execve("/data.txt", args, NULL));
	show("exec missing", execve("/no/such", args, NULL));
	show("wait without children", waitpid(-1, &st, 0));
	static char long_arg[200];
	static char *many[20001];
	memset(long_arg, 'a', sizeof long_arg - 1);
	for (int i = 0; i < 20000; i++)
		many[i] = long_arg;           /* 4 MB of arguments from 200 bytes of memory */
	show("exec with 4 MB of arguments", execve("/data.txt", many, NULL));
	show("packet socket", socket(AF_INET, SOCK_SEQPACKET, 0));
	show("netlink socket", socket(AF_NETLINK, SOCK_RAW, 0));
	struct sockaddr_in far = { .sin_family = AF_INET, .sin_port = htons(80),
				   .sin_addr.s_addr = htonl(0x0A010203) };
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	show("connect to 10.1.2.3", connect(tcp, (struct sockaddr *)&far, sizeof far));
	show("bind to 10.1.2.3", bind(tcp, (struct sockaddr *)&far, sizeof far));
	close(tcp);
	int pair[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
	union { struct cmsghdr h; char room[CMSG_SPACE(sizeof(int))]; } passed;
	memset(&passed, 0, sizeof passed);
	passed.h.cmsg_level = SOL_SOCKET;
	passed.h.cmsg_type = SCM_RIGHTS;
	passed.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&passed.h), &pair[0], sizeof(int));
	char byte = 'x';
	struct iovec one = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &one, .msg_iovlen = 1, .msg_control = &passed,
			      .msg_controllen = sizeof passed };
	show("passing an fd", sendmsg(pair[1], &msg, 0));
	close(pair[0]);
	close(pair[1]);
	fd = open("/data.txt", O_RDWR);
	void *shared = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	show("shared file mapping", shared == MAP_FAILED ? -1 : 0);
	void *private = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	printf("private file mapping: %.13s\n", private == MAP_FAILED ? "failed" : (char *)private);
	close(fd);

	int p[2];
	pipe(p);
	char c;
	show("read of a pipe only this cage writes", read(p[0], &c, 1));
	close(p[0]);
	pid_t pid = fork();
	if (pid == 0) {
		write(p[1], "x", 1);          /* no reader left: SIGPIPE */
		_exit(0);
	}
	close(p[1]);
	waitpid(pid, &st, 0);
	printf("writer without readers: signaled %d signal %d\n", WIFSIGNALED(st), WTERMSIG(st));

	char *big = malloc(64 << 20);
	printf("64 MiB malloc: %s\n", big ? "ok" : "failed");
	free(big);
	void *huge = mmap(NULL, 3UL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	show("3 GiB mmap", huge == MAP_FAILED ? -1 : 0);

	int made = 0;
	for (int i = 0; i < 1000; i++) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0)
			break;
		made++;
	}
	printf("forks before the limit: %d, then %s\n", made,
	       strerror(errno));
	while (wait(NULL) > 0)
		;
	big = malloc(64 << 20);
	static struct iovec same[1024];
	for (int i = 0; i < 1024; i++)
		same[i] = (struct iovec){big, 64 << 20};   /* 64 GiB named, 64 MiB there */
	fd = open("/big.out", O_CREAT | O_WRONLY, 0600);
	show("writev of 1024 x 64 MiB", writev(fd, same, 1024));
	close(fd);
	return 0;
}
