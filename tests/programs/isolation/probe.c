/* What a program under an isolation policy may do: each line names an action and
 * whether it worked (or the errno it got). tests/test_isolation.py runs it under
 * policies embedded in it and compares with what each policy allows. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

/* volatile: the compiler may not drop an allocation nobody reads */
static void *volatile big;

static void say(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "ok" : strerror(errno));
}

static int write_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 0;
	int ok = write(fd, "written in the cage\n", 20) == 20;
	return close(fd) == 0 && ok;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct utsname u;
	uname(&u);
	printf("hostname: %s\nuid: %d\n", u.nodename, (int)getuid());

	say("read /data/in.txt", access("/data/in.txt", R_OK) == 0);
	say("write /data/new.txt", write_file("/data/new.txt"));
	say("write /out/result.txt", write_file("/out/result.txt"));
	say("write /tmp/scratch", write_file("/tmp/scratch"));
	say("unlink /out/result.txt", unlink("/out/result.txt") == 0);

	int s = socket(AF_INET, SOCK_STREAM, 0);
	say("socket", s >= 0);
	if (s >= 0) {
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
		inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
		errno = 0;
		int r = connect(s, (struct sockaddr *)&to, sizeof to);
		/* nothing listens on port 9: ECONNREFUSED means the call reached the network */
		say("connect 127.0.0.1:9", r == 0);
		close(s);
	}

	struct rlimit nofile;
	getrlimit(RLIMIT_NOFILE, &nofile);
	printf("RLIMIT_NOFILE: %llu %llu\n", (unsigned long long)nofile.rlim_cur,
	       (unsigned long long)nofile.rlim_max);
	int opened = 0, fd;
	while ((fd = open("/", O_RDONLY | O_DIRECTORY)) >= 0)
		opened++;
	say("opens until one fails", 0);
	printf("  %d opened\n", opened);
	for (int i = 3; i < 3 + opened; i++)
		close(i);
	big = malloc(64 << 20);
	say("malloc 64 MiB", big != NULL);

	if (argc > 1 && strcmp(argv[1], "sleep") == 0) {
		printf("sleeping\n");
		sleep(1000);
	}
	if (argc > 1 && strcmp(argv[1], "ptrace") == 0) {
		printf("calling getppid\n");
		getppid();
		printf("after getppid\n");
	}
	return 0;
}
