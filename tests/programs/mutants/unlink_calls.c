/* unlinkat's AT_REMOVEDIR and its other flags, in the directory argv[1]: run natively
 * and in Lind under a file-system grate, and the outputs compared
 * (tests/test_mutants_grates.py). One line per step: "what result errno". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *what, int r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	if (argc < 2 || chdir(argv[1]) < 0)
		return 2;
	report("mkdir", mkdir("d", 0700));
	int fd = open("f", O_WRONLY | O_CREAT, 0600);
	report("create", fd);
	close(fd);
	report("file-as-directory", unlinkat(AT_FDCWD, "f", AT_REMOVEDIR));
	report("directory-as-file", unlinkat(AT_FDCWD, "d", 0));
	report("unknown-flag", unlinkat(AT_FDCWD, "f", 0x1000));
	report("unknown-flag-with-removedir", unlinkat(AT_FDCWD, "d", AT_REMOVEDIR | 0x1000));
	report("rmdir-file", rmdir("f"));
	report("remove-directory", unlinkat(AT_FDCWD, "d", AT_REMOVEDIR));
	report("remove-file", unlinkat(AT_FDCWD, "f", 0));
	report("remove-missing", unlinkat(AT_FDCWD, "f", 0));
	return 0;
}
