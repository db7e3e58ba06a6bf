/* Prints the ids a program sees, who owns a file, and whether chown works. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/";
	struct stat st;
	printf("uid %d euid %d gid %d egid %d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
	       (int)getegid());
	if (stat(path, &st) == 0)
		printf("stat %s: owner %d group %d\n", path, (int)st.st_uid, (int)st.st_gid);
	else
		printf("stat %s: errno %d\n", path, errno);
	int r = chown(path, 0, 0);
	printf("chown: %d %d\n", r, r ? errno : 0);
	return 0;
}
