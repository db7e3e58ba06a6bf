/* /proc/self/oom_score_adj is read and written as on Linux: Redis writes it for its
 * oom-score-adj setting (CONFIG SET oom-score-adj yes failed in a cage: there was no
 * such file). A value from -1000 to 1000, in the bases the kernel reads, spaces around
 * it; EINVAL for anything else; a fork's child starts with its parent's and keeps its
 * own; what one writes is read back as "%d\n". (No value below the start: a cage is
 * unprivileged, the native run may be root.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int start;

static int current(void)
{
	char buf[32] = {0};
	int fd = open("/proc/self/oom_score_adj", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	int value;
	if (n <= 0 || buf[n - 1] != '\n' || sscanf(buf, "%d", &value) != 1)
		return -99999;
	return value - start;
}

static void put(const char *text)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	printf("write \"");
	for (const char *p = text; *p; p++)
		printf(*p == '\n' ? "\\n" : "%c", *p);
	printf("\": %zd%s%d, now start+%d\n", n, n < 0 ? " errno " : " ", n < 0 ? saved : 0,
	       current());
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	start = 0;
	start = current();
	printf("start read back: %s\n", start == -99999 ? "no" : "yes");
	if (start == -99999)
		return 1;
	char text[32];
	snprintf(text, sizeof text, "%d\n", start + 100);
	put(text);
	snprintf(text, sizeof text, "  %d  ", start + 50);
	put(text);
	snprintf(text, sizeof text, "%#x", start + 64);
	put(text);
	snprintf(text, sizeof text, "+%d", start + 7);
	put(text);
	put("1001");
	put("-1001");
	put("abc");
	put("12 3");
	put("");
	put("99999999999");
	put("0x");
	snprintf(text, sizeof text, "%d", start + 300);
	put(text);
	pid_t child = fork();
	if (child == 0) {
		printf("child starts at start+%d\n", current());
		snprintf(text, sizeof text, "%d", start + 400);
		put(text);
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	printf("parent after the child: start+%d\n", current());
	snprintf(text, sizeof text, "%d", start);
	put(text);

	int fd = open("/proc/self/oom_score_adj", O_RDONLY);
	char one[4] = {0};
	printf("pread at 1: %zd\n", pread(fd, one, 3, 1));
	close(fd);
	printf("O_RDWR open: %s\n", (fd = open("/proc/self/oom_score_adj", O_RDWR)) >= 0 ? "ok" : "failed");
	close(fd);
	return 0;
}
