/* open() and access() on a read-only mount: ENOENT for what is not there, EROFS for a
 * write (access's W_OK), the file's own bits for the rest. */
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
	fd = access("/ro/f", W_OK); printf("access W_OK: %d\n", fd < 0 ? errno : 0);
	fd = access("/ro/f", R_OK | W_OK); printf("access R_OK|W_OK: %d\n", fd < 0 ? errno : 0);
	fd = access("/ro/f", R_OK); printf("access R_OK: %d\n", fd < 0 ? errno : 0);
	fd = access("/ro/f", X_OK); printf("access X_OK: %d\n", fd < 0 ? errno : 0);
	fd = access("/ro/missing", W_OK); printf("access W_OK missing: %d\n", fd < 0 ? errno : 0);
	return 0;
}
