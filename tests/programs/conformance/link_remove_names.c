/* linkat with flags it does not know is EINVAL (a cage linked anyway), and rmdir of a
 * path ending in ".." is ENOTEMPTY once the directory it leaves exists (a cage folded
 * the name to the parent, "/" here, and said EBUSY). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define CK(x) do { errno = 0; int r_ = (x); printf("%-52s -> %d errno=%d\n", #x, r_, r_ ? errno : 0); } while (0)

int main(void)
{
	close(open("file", O_CREAT | O_WRONLY, 0644));
	symlink("file", "link");
	mkdir("d", 0755);
	mkdir("d/e", 0755);
	CK(linkat(AT_FDCWD, "file", AT_FDCWD, "bad_flag", 0x8000));
	CK(linkat(AT_FDCWD, "file", AT_FDCWD, "bad_flag", AT_SYMLINK_NOFOLLOW));
	CK(access("bad_flag", F_OK));
	CK(linkat(AT_FDCWD, "link", AT_FDCWD, "followed", AT_SYMLINK_FOLLOW));
	CK(linkat(AT_FDCWD, "link", AT_FDCWD, "not_followed", 0));
	struct stat st;
	lstat("followed", &st);
	printf("followed is a file: %d\n", S_ISREG(st.st_mode));
	lstat("not_followed", &st);
	printf("not_followed is a link: %d\n", S_ISLNK(st.st_mode));
	CK(rmdir("d/.."));
	CK(rmdir("d/e/.."));
	CK(rmdir(".."));
	CK(rmdir("missing/.."));
	CK(rmdir("file/.."));
	CK(unlinkat(AT_FDCWD, "d/e/..", AT_REMOVEDIR));
	CK(rmdir("d/."));
	CK(rmdir("d/e"));
	CK(rmdir("d"));
	return 0;
}
