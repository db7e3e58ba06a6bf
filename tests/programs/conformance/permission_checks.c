/* A user other than root is held to the mode bits of its own files and directories:
 * a 0444 file does not open for writing, a 0000 one not for reading, nothing is made
 * in a 0500 directory, a 0000 directory is neither listed nor passed through,
 * access() and execve() say so, and a 0600 file opens again once chmod allows it.
 * Natively the program is root at first: it makes a directory of uid 1000 and
 * becomes that user (a cage is uid 1000 already, Lind's default), so both runs are
 * the same user's. Prints errno numbers. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "as_user_1000.h"

static void say(const char *what, long r)
{
	printf("%-36s %ld %d\n", what, r < 0 ? -1L : 0L, r < 0 ? errno : 0);
}

int main(void)
{
	become_user_1000();
	int fd = open("ro", O_CREAT | O_WRONLY | O_EXCL, 0444);
	say("create 0444, writing", fd);
	say("write through the new fd", write(fd, "x", 1));
	close(fd);
	fd = open("ro", O_WRONLY);
	say("open 0444 for writing", fd);
	fd = open("ro", O_RDWR | O_TRUNC);
	say("open 0444 O_RDWR|O_TRUNC", fd);
	say("truncate 0444", truncate("ro", 0));
	say("access 0444 W_OK", access("ro", W_OK));
	say("access 0444 R_OK", access("ro", R_OK));
	say("faccessat 0444 W_OK AT_EACCESS", faccessat(AT_FDCWD, "ro", W_OK, AT_EACCESS));
	say("chmod 0000 (owner)", chmod("ro", 0));
	say("open 0000 for reading", open("ro", O_RDONLY));
	say("chmod 0600", chmod("ro", 0600));
	fd = open("ro", O_RDWR);
	say("open 0600 for reading and writing", fd);
	close(fd);
	say("execve a 0600 file", execve("ro", (char *[]){"ro", NULL}, (char *[]){NULL}));

	say("mkdir d 0500", mkdir("d", 0500));
	say("create in 0500 dir", open("d/f", O_CREAT | O_WRONLY, 0644));
	say("mkdir in 0500 dir", mkdir("d/e", 0755));
	say("rename into 0500 dir", rename("ro", "d/ro"));
	say("chmod d 0700", chmod("d", 0700));
	fd = open("d/f", O_CREAT | O_WRONLY, 0644);
	say("create in 0700 dir", fd);
	close(fd);
	say("chmod d 0300", chmod("d", 0300));
	say("opendir 0300", opendir("d") ? 0 : -1);
	say("stat through 0300", stat("d/f", &(struct stat){0}));
	say("chmod d 0600", chmod("d", 0600));
	say("stat through 0600", stat("d/f", &(struct stat){0}));
	say("chdir into 0600", chdir("d"));
	say("unlink in 0600 dir", unlink("d/f"));
	say("chmod d 0000", chmod("d", 0));
	say("opendir 0000", opendir("d") ? 0 : -1);
	say("access 0000 dir X_OK", access("d", X_OK));
	say("chmod d 0700 again", chmod("d", 0700));
	say("unlink d/f", unlink("d/f"));
	say("rmdir d", rmdir("d"));
	say("unlink ro", unlink("ro"));
	return 0;
}
