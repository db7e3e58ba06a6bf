/* Runs itself again through argv[0], as programs that re-exec themselves do. */
#include <stdio.h>
#include <unistd.h>
#include <string.h>
int main(int argc, char **argv) {
	printf("argv0=%s argc=%d\n", argv[0], argc);
	fflush(stdout);
	if (argc == 1) { execl(argv[0], argv[0], "again", (char *)0); perror("execl"); return 1; }
	return 0;
}
