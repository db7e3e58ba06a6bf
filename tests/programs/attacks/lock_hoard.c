/* Locks every other byte of files (so no two ranges merge) until a lock is refused,
 * then prints "locked N errno E". Each range is an entry in Lind's lock table and a
 * lock in the host kernel: with argv[1] files (and argv[2] OFD locks instead of POSIX
 * ones), a cage held 1,200,000 ranges, ~440 MB of the host outside its budget. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int files = argc > 1 ? atoi(argv[1]) : 4;
	int cmd = argc > 2 && atoi(argv[2]) ? F_OFD_SETLK : F_SETLK;
	long locked = 0;
	int err = 0;
	for (int i = 0; i < files && !err; i++) {
		char name[32];
		snprintf(name, sizeof name, "locks%d", i);
		int fd = open(name, O_RDWR | O_CREAT, 0600);
		if (fd < 0) {
			err = errno;
			break;
		}
		for (int at = 0; at < 2 * 16000; at += 2) {
			struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = at,
					     .l_len = 1};
			if (fcntl(fd, cmd, &lock) != 0) {
				err = errno;
				break;
			}
			locked++;
		}
	}
	printf("locked %ld errno %d\n", locked, err);
	return 0;
}
