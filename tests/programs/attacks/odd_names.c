/* Names that are bytes, not UTF-8: "write" makes /caf\xe9 (Latin-1) and /na\xc3\xafve
 * (UTF-8); "check" reads both back. A tree holding the first could not be saved as a
 * zip (zipfile refused the name: nothing of the run was saved). Prints each name's
 * contents, or "missing N" for one not there. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *names[] = {"/caf\xe9", "/na\xc3\xafve"};

int main(int argc, char **argv)
{
	for (int i = 0; i < 2; i++) {
		char buf[32] = {0};
		if (argc > 1 && !strcmp(argv[1], "write")) {
			int fd = open(names[i], O_CREAT | O_WRONLY | O_TRUNC, 0644);
			if (fd < 0 || write(fd, i ? "utf-8" : "latin-1", i ? 5 : 7) < 0)
				return 1;
			close(fd);
			continue;
		}
		int fd = open(names[i], O_RDONLY);
		if (fd < 0) {
			printf("missing %d\n", i);
			continue;
		}
		read(fd, buf, sizeof buf - 1);
		close(fd);
		printf("%s\n", buf);
	}
	return 0;
}
