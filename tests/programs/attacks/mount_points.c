/* Tries to remove, move away and replace each mount point named in argv, and "/":
 * by absolute name, by *at calls, and by a name relative to the directory holding it.
 * Linux answers EBUSY for each. Prints "NAME OP RESULT ERRNO". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *name, const char *op, int r)
{
	printf("%s %s %d %d\n", name, op, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	mkdir("/spare", 0755);
	report("/", "rmdir", rmdir("/"));
	report("/", "rename", rename("/", "/moved"));
	for (int i = 1; i < argc; i++) {
		const char *p = argv[i];
		report(p, "rmdir", rmdir(p));
		report(p, "unlinkat", unlinkat(AT_FDCWD, p, AT_REMOVEDIR));
		report(p, "rename", rename(p, "/moved"));
		report(p, "renameat", renameat(AT_FDCWD, p, AT_FDCWD, "/moved"));
		report(p, "replace", rename("/spare", p));
		char dir[256];
		snprintf(dir, sizeof dir, "%s", p);
		char *last = strrchr(dir, '/');
		*last = '\0';
		chdir(*dir ? dir : "/");
		report(p, "rmdir_here", rmdir(last + 1));
		report(p, "rename_here", rename(last + 1, "moved"));
		chdir("/");
	}
	return 0;
}
