/* File calls a tee sends through two stacks (an in-memory copy of a directory and the
 * directory itself): reads, stats, a listing, a new file written and read back. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	char buf[128] = {0};
	int fd = open("/data/f", O_RDONLY);
	say("open /data/f", fd >= 0 ? 0 : -1);
	say("read", read(fd, buf, sizeof buf - 1));
	printf("  %s", buf);
	struct stat st;
	say("fstat", fstat(fd, &st));
	printf("  size %lld\n", (long long)st.st_size);
	close(fd);
	say("stat /data/f", stat("/data/f", &st));
	printf("  size %lld\n", (long long)st.st_size);
	say("stat /data/none", stat("/data/none", &st));
	fd = open("/data/new", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	say("write /data/new", write(fd, "abc\n", 4));
	close(fd);
	fd = open("/data/new", O_RDONLY);
	memset(buf, 0, sizeof buf);
	say("read /data/new", read(fd, buf, sizeof buf - 1));
	printf("  %s", buf);
	close(fd);
	static char big[150000];
	fd = open("/data/big", O_RDONLY);
	long got = read(fd, big, sizeof big);
	long sum = 0;
	for (long i = 0; i < got; i++)
		sum += (unsigned char)big[i] * (i % 7 + 1);
	say("read /data/big", got);
	printf("  sum %ld\n", sum);
	close(fd);
	DIR *d = opendir("/data");
	char *names[16];
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d)) && n < 16;)
		names[n++] = strdup(e->d_name);
	qsort(names, n, sizeof *names, by_name);
	for (int i = 0; i < n; i++)
		printf("  entry %s\n", names[i]);
	return 0;
}
