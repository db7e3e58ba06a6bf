/* Copies the file argv[1] to argv[2], making the directories above it: a cage whose
 * root (or a writable mount) holds Lind's cache of compiled code puts a .cwasm there
 * under the name of another program's module (the test made it from this program's
 * own code). Lind loads such a file as that program's native code, run in the host
 * process outside every cage. Prints "planted" or "FAILED STEP ERRNO"; run with fewer
 * arguments (as the program whose name it took) it prints "cache_plant ran". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char data[16 << 20];

int main(int argc, char **argv)
{
	if (argc < 3) {
		printf("cache_plant ran\n");
		return 0;
	}
	int in = open(argv[1], O_RDONLY);
	if (in < 0) {
		printf("FAILED open-source %d\n", errno);
		return 1;
	}
	ssize_t n = read(in, data, sizeof data);
	close(in);
	char path[4096];
	snprintf(path, sizeof path, "%s", argv[2]);
	for (char *slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			printf("FAILED mkdir %d\n", errno);
			return 1;
		}
		*slash = '/';
	}
	int out = open(argv[2], O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (out < 0 || n <= 0 || write(out, data, (size_t)n) != n) {
		printf("FAILED write %d\n", errno);
		return 1;
	}
	close(out);
	printf("planted\n");
	return 0;
}
