/* Permission bits on the portable back end, as an unprivileged user (uid 1000) sees
 * them. The test's root holds files the host user Lind runs as owns (the cage's own)
 * and files another host user owns (nobody's to the cage):
 *   mine.txt 0000 (own), theirs.txt 0644 and secret.txt 0600 (nobody's),
 *   locked/ 0700 (nobody's) holding inside.txt, shared/ 0755 (nobody's) holding f.txt,
 *   tmp/ 1777 (nobody's) holding other.txt (nobody's). Prints "WHAT RESULT ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(const char *what, int r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

int main(void)
{
	say("read_own_0000", open("/mine.txt", O_RDONLY));
	say("chmod_own", chmod("/mine.txt", 0600));
	say("read_own_0600", open("/mine.txt", O_RDONLY));
	say("read_theirs_0644", open("/theirs.txt", O_RDONLY));
	say("write_theirs_0644", open("/theirs.txt", O_WRONLY));
	say("read_secret_0600", open("/secret.txt", O_RDONLY));
	say("chmod_theirs", chmod("/theirs.txt", 0666));
	say("access_secret", access("/secret.txt", R_OK));
	say("search_locked", open("/locked/inside.txt", O_RDONLY));
	say("create_in_shared", open("/shared/new.txt", O_CREAT | O_WRONLY, 0644));
	say("unlink_in_shared", unlink("/shared/f.txt"));
	say("unlink_sticky_theirs", unlink("/tmp/other.txt"));
	say("create_in_tmp", open("/tmp/mine.txt", O_CREAT | O_WRONLY, 0644));
	say("unlink_sticky_own", unlink("/tmp/mine.txt"));
	say("exec_0644", execl("/theirs.txt", "theirs.txt", (char *)0));
	return 0;
}
