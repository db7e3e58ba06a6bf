/* fchmodat with AT_SYMLINK_NOFOLLOW, which musl makes as fchmodat2 (Linux 6.6's
 * call, number 452): a grate that only knows fchmodat must still see it. Changes
 * argv[1] to mode 0777 and prints "fchmodat2 RESULT ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 100;
	int r = fchmodat(AT_FDCWD, argv[1], 0777, AT_SYMLINK_NOFOLLOW);
	printf("fchmodat2 %d %d\n", r, r < 0 ? errno : 0);
	return 0;
}
