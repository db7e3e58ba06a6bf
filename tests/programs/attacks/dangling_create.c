/* O_CREAT through dangling symlinks the cage plants, aimed out of its root: at the
 * canary by a relative and by its absolute host path (argv[1]), at a tenant's tree
 * beside (argv[2]), through a chain, and a chain longer than Linux follows. Each open
 * that succeeds writes PWNED where the link leads. Prints "NAME RESULT ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void try_create(const char *name)
{
	int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0666);
	printf("%s %d %d\n", name, fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
	if (fd >= 0) {
		write(fd, "PWNED\n", 6);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	char target[600], name[32];
	symlink("../../../canary.txt", "up");
	symlink(argv[1], "absolute");
	snprintf(target, sizeof target, "../../%s/victim.txt", argv[2]);
	symlink(target, "tenant");
	symlink("hop2", "hop1");
	symlink("../../hop3", "hop2");
	symlink("/../../canary.txt", "hop3");
	for (int i = 0; i < 45; i++) {      /* long0 -> long1 -> ... -> long45 (dangling) */
		snprintf(name, sizeof name, "long%d", i);
		snprintf(target, sizeof target, "long%d", i + 1);
		symlink(target, name);
	}
	try_create("up");
	try_create("absolute");
	try_create("tenant");
	try_create("hop1");
	try_create("long0");
	try_create("long10");
	return 0;
}
