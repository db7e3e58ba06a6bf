/* A cage that can see the directory of Lind's start-up servers (through a mount of
 * XDG_RUNTIME_DIR, say) tries to use them to leave its confinement: it connects to each
 * server's socket (abstract, named after the identity it reads from the log files) to ask
 * for a run of its own choosing, and plants symlinks named as the files a server creates
 * (its log, a failure note) pointing at a host file outside its root, for the next server
 * to write through. Prints "connect KEY RESULT ERRNO" and "plant NAME RESULT ERRNO".
 * argv[1]: the directory as the cage sees it; argv[2]: the host path to aim at;
 * argv[3]: what the socket names start with, before the identity. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void report(const char *what, const char *name, int result)
{
	printf("%s %s %d %d\n", what, name, result, result < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	DIR *dir = opendir(argv[1]);
	if (!dir) {
		printf("opendir failed %d\n", errno);
		return 1;
	}
	char keys[16][64];
	int n = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) && n < 16) {
		size_t len = strlen(entry->d_name);
		if (len > 4 && len < 60 && strcmp(entry->d_name + len - 4, ".log") == 0) {
			memcpy(keys[n], entry->d_name, len - 4);
			keys[n++][len - 4] = 0;
		}
	}
	closedir(dir);
	printf("keys %d\n", n);
	for (int i = 0; i < n; i++) {
		struct sockaddr_un addr = {.sun_family = AF_UNIX};
		/* abstract: a NUL, then the name */
		int len = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "%s%s", argv[3],
				   keys[i]);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		int r = connect(fd, (struct sockaddr *)&addr,
				offsetof(struct sockaddr_un, sun_path) + 1 + len);
		report("connect", keys[i], r);
		if (r == 0) {
			const char ask[] = "lind-server-1?";
			write(fd, ask, sizeof ask - 1);
		}
		close(fd);
		static const char *suffixes[] = {".log", ".failed"};
		for (int s = 0; s < 2; s++) {
			char path[512];
			snprintf(path, sizeof path, "%s/%s%s", argv[1], keys[i], suffixes[s]);
			unlink(path);
			report("plant", suffixes[s] + 1, symlink(argv[2], path));
		}
	}
	return 0;
}
