/* rename in a sticky /tmp (1777, another user's) and of another user's directory, as
 * an unprivileged cage (portable back end). The root holds, all another user's:
 * tmp/ 1777 with victim (0666) and vdir/ (0777); open/ 0777 with theirs/ (0755).
 * Linux: EPERM to replace or move another user's name out of a sticky directory,
 * EACCES to move a directory one may not write to another parent (its ".." changes).
 * Prints "WHAT RESULT ERRNO". */
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
	close(open("/tmp/mine", O_CREAT | O_WRONLY, 0644));
	say("replace_theirs", rename("/tmp/mine", "/tmp/victim"));
	say("move_theirs_out", rename("/tmp/vdir", "/vdir2"));
	say("rename_theirs", rename("/tmp/victim", "/tmp/stolen"));
	say("rename_own", rename("/tmp/mine", "/tmp/mine2"));
	say("dir_to_other_parent", rename("/open/theirs", "/tmp/theirs"));
	say("dir_same_parent", rename("/open/theirs", "/open/renamed"));
	int fd = open("/tmp/victim", O_RDONLY);
	char buf[16] = {0};
	read(fd, buf, 6);
	printf("victim %s\n", buf);
	return 0;
}
