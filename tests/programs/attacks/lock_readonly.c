/* Takes a read lock on argv[1], which it may only read (a read-only mount), says
 * "locked", and holds it until its stdin ends. Lind mirrored the lock on a host
 * description it opened read-write (it runs as root): while the lock was held the host
 * could not exec the file (ETXTBSY), and its inotify watchers saw it "written". */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd = open(argv[1], O_RDONLY);
	struct flock lock = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	if (fd < 0 || fcntl(fd, F_SETLK, &lock) != 0)
		return 1;
	printf("locked\n");
	fflush(stdout);
	char c;
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
