/* A tree saved deep, then replaced: "make N TARGET" nests /a N deep and leaves at the
 * bottom a file and a link to TARGET (a host path, saved as such); "file" makes /a a
 * file. Saving the second over the first removed the saved directory with
 * shutil.rmtree, which recursed past Python's limit (RecursionError, the save half
 * done). Prints "made N" or "file". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 3 && !strcmp(argv[1], "make")) {
		int n = atoi(argv[2]), made = 0;
		for (; made < n; made++)
			if (mkdir("a", 0755) || chdir("a"))
				break;
		close(open("bottom", O_CREAT | O_WRONLY, 0644));
		symlink(argv[3], "link");
		printf("made %d\n", made);
		return 0;
	}
	int fd = open("/a", O_CREAT | O_WRONLY, 0644);
	printf("file %d\n", fd >= 0);
	return fd < 0;
}
