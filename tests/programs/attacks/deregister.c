/* Tries to switch off its grates: deregisters every call number in its own table
 * and copies its parent's table over its own, then (with argv[1] "write") tries to
 * change /ro/canary.txt. Ends with a marker call a tracer must still see. */
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int me = getpid(), ok = 0, eperm = 0, other = 0;
	static const int watched[] = {2, 76, 87, 257, 263};
	for (int nr = 0; nr < 1024; nr++) {
		errno = 0;
		int r = register_handler(me, nr, THREEI_DEREGISTER, 0);
		if (r == 0)
			ok++;
		else if (errno == EPERM)
			eperm++;
		else
			other++;
		for (unsigned i = 0; i < sizeof watched / sizeof *watched; i++)
			if (watched[i] == nr)
				printf("deregister_nr %d %d %d\n", nr, r, r < 0 ? errno : 0);
	}
	printf("deregister ok=%d eperm=%d other=%d\n", ok, eperm, other);
	errno = 0;
	int r = copy_handler_table_to_cage(getppid(), me);
	printf("copy_table %d %d\n", r, r < 0 ? errno : 0);
	if (argc > 1 && strcmp(argv[1], "write") == 0) {
		int fd = open("/ro/canary.txt", O_WRONLY | O_TRUNC);
		printf("open_write %d %d\n", fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
		if (fd >= 0)
			write(fd, "PWNED", 5);
		r = truncate("/ro/canary.txt", 0);
		printf("truncate %d %d\n", r, r < 0 ? errno : 0);
		r = unlink("/ro/canary.txt");
		printf("unlink %d %d\n", r, r < 0 ? errno : 0);
	}
	access("/after-deregister-marker", F_OK);
	printf("marker pid=%d\n", getpid());
	return 0;
}
