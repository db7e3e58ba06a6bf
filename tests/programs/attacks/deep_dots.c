/* A working directory argv[1] deep in a tree (each level made in O(1): mkdir /n, rename
 * /t to /n/x, rename /n to /t), then one stat of "y/../" argv[2] times: the portable
 * back end resolved from the root every directory a `..` steps out of, through the
 * whole working directory (depth 50,000 and 800 `..`: ~68 s for the one call, and it
 * went on after the run's timeout). Prints "built N", "descended N", "stat R ERRNO". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[4096];

int main(int argc, char **argv)
{
	long depth = atol(argv[1]);
	int dots = atoi(argv[2]);
	mkdir("/t", 0755);
	for (long i = 0; i < depth; i++)
		if (mkdir("/n", 0755) || rename("/t", "/n/x") || rename("/n", "/t")) {
			printf("build_failed %ld %d\n", i, errno);
			return 1;
		}
	printf("built %ld\n", depth);
	if (chdir("/t"))
		return 1;
	long left = depth;
	while (left > 0) {
		int k = left > 1000 ? 1000 : (int)left;
		for (int j = 0; j < k; j++)
			memcpy(path + 2 * j, "x/", 2);
		path[2 * k] = 0;
		if (chdir(path)) {
			printf("chdir_failed %d\n", errno);
			return 1;
		}
		left -= k;
	}
	printf("descended %ld\n", depth);
	fflush(stdout);
	mkdir("y", 0755);
	char *q = path;
	for (int j = 0; j < dots; j++, q += 5)
		memcpy(q, "y/../", 5);
	strcpy(q, "y");
	struct stat st;
	int r = stat(path, &st);
	printf("stat %d %d\n", r, r ? errno : 0);
	strcpy(q, "missing/../y");      /* what a `..` steps out of must be there */
	r = stat(path, &st);
	printf("missing %d %d\n", r, r ? errno : 0);
	return 0;
}
