/* Paths whose last character or a `..` says more than the name: a trailing slash
 * asks for a directory, and `x/..` needs x to be a directory that exists. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, int r)
{
	printf("%s: %s\n", what, r < 0 ? (errno == ENOTDIR ? "ENOTDIR" : errno == ENOENT ? "ENOENT"
	       : errno == EISDIR ? "EISDIR" : errno == EEXIST ? "EEXIST" : "other") : "ok");
}

int main(void)
{
	struct stat st;
	int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(fd);
	mkdir("d", 0755);
	show("open f/", fd = open("f/", O_RDONLY));
	if (fd >= 0) close(fd);
	show("open f/ O_CREAT", fd = open("f/", O_WRONLY | O_CREAT, 0644));
	if (fd >= 0) close(fd);
	show("open new/ O_CREAT", fd = open("new/", O_WRONLY | O_CREAT, 0644));
	if (fd >= 0) close(fd);
	show("open d/", fd = open("d/", O_RDONLY));
	if (fd >= 0) close(fd);
	show("stat f/", stat("f/", &st));
	show("stat d/", stat("d/", &st));
	show("stat f/.", stat("f/.", &st));
	show("stat f/..", stat("f/..", &st));
	show("stat nodir/..", stat("nodir/..", &st));
	show("stat d/../f", stat("d/../f", &st));
	show("stat nodir/../f", stat("nodir/../f", &st));
	show("stat f/../f", stat("f/../f", &st));
	show("access f/", access("f/", F_OK));
	show("unlink f/", unlink("f/"));
	show("rmdir f/", rmdir("f/"));
	show("mkdir f/", mkdir("f/", 0755));
	show("mkdir e/", mkdir("e/", 0755));
	show("rmdir e/", rmdir("e/"));
	show("rename f g/", rename("f", "g/"));
	show("rename f/ g", rename("f/", "g"));
	show("rename d d2/", rename("d", "d2/"));
	show("link f g/", link("f", "g/"));
	show("symlink f g/", symlink("f", "g/"));
	show("chdir f/..", chdir("f/.."));
	show("truncate f/", truncate("f/", 0));
	show("unlink f", unlink("f"));
	show("rmdir d2", rmdir("d2"));
	return 0;
}
