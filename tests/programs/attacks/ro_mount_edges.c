/* The edges of read-only mounts /data (holding x.txt) and /empty (an empty directory)
 * on the back ends whose files are a lind.portable tree: the mount point renamed away,
 * removed, replaced by a rename over it or swapped with RENAME_EXCHANGE, a hard link to
 * a file of it made elsewhere, a Unix socket bound inside it; /up, which holds the
 * read-only mount /up/in, renamed away. Prints "WHAT RESULT ERRNO"
 * for each, then what /data/x.txt holds and how many names /empty has. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); \
	printf("%s %ld %d\n", what, r_, r_ < 0 ? errno : 0); } while (0)

int main(void)
{
	mkdir("/mine", 0755);
	int fd = open("/mine/x.txt", O_CREAT | O_WRONLY, 0644);
	write(fd, "forged\n", 7);
	close(fd);
	TRY("rename_away", rename("/data", "/stolen"));
	TRY("rmdir_empty", rmdir("/empty"));
	TRY("rename_over_empty", rename("/mine", "/empty"));
	TRY("exchange", syscall(SYS_renameat2, AT_FDCWD, "/mine", AT_FDCWD, "/data", 2));
	TRY("rename_ancestor", rename("/up", "/elsewhere"));
	TRY("link_out", link("/data/x.txt", "/linked"));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, "/data/sock");
	TRY("bind_in", bind(s, (struct sockaddr *)&addr, sizeof addr));
	char buf[64] = {0};
	fd = open("/data/x.txt", O_RDONLY);
	read(fd, buf, sizeof buf - 1);
	printf("data [%s]\n", strtok(buf, "\n") ? buf : "");
	int names = 0;
	DIR *d = opendir("/empty");
	for (struct dirent *e; d && (e = readdir(d));)
		names += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	printf("empty %d %d\n", d ? names : -1, 0);
	return 0;
}
