/* open() on a read-only mount: ENOENT for what is not there, EROFS for a write. */
#include <stdio.h>
#include <fcntl.h>
#include <errno.h>
#include <unistd.h>
int main(void) {
	int fd;
	fd = open("/ro/missing", O_WRONLY); printf("wronly missing: %d\n", fd < 0 ? errno : 0);
	fd = open("/ro/missing", O_WRONLY | O_CREAT, 0644); printf("creat missing: %d\n", fd < 0 ? errno : 0);
	fd = open("/ro/f", O_RDONLY | O_CREAT, 0644); printf("rdonly creat existing: %d\n", fd < 0 ? errno : 0);
	fd = open("/ro/f", O_WRONLY); printf("wronly existing: %d\n", fd < 0 ? errno : 0);
	fd = open("/ro/nodir/x", O_WRONLY); printf("wronly in missing dir: %d\n", fd < 0 ? errno : 0);
	return 0;
}
