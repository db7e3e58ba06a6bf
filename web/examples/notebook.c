/* A notebook kept in the tree: each run adds its arguments as a new entry to
 * /home/notebook.txt and shows every entry so far. With "Keep files" on, the page
 * keeps the tree in this browser's IndexedDB, so entries outlive the run and the visit. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	const char *path = "/home/notebook.txt";
	if (mkdir("/home", 0755) != 0 && errno != EEXIST) {
		perror("mkdir /home");
		return 1;
	}
	FILE *f = fopen(path, "a");
	if (!f) {
		perror(path);
		return 1;
	}
	for (int i = 1; i < argc; i++)
		fprintf(f, "%s%s", argv[i], i + 1 < argc ? " " : "");
	fprintf(f, "%s\n", argc > 1 ? "" : "(an empty entry)");
	if (fclose(f) != 0) {
		perror(path);
		return 1;
	}
	f = fopen(path, "r");
	if (!f) {
		perror(path);
		return 1;
	}
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f))
		printf("entry %d: %s", ++n, line);
	fclose(f);
	printf("%d %s in %s\n", n, n == 1 ? "entry" : "entries", path);
	return 0;
}
