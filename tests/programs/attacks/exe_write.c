/* exe_write PROGRAM: exec PROGRAM (a copy of this one inside a directory a grate guards),
 * which then opens /proc/self/exe for writing and appends to it. The grate saw only
 * /proc/self/exe while the microvisor opened the program's file in its directory (the
 * red team's copy got "PWNED" appended under readonly:/data): Linux, and Lind now,
 * answers ETXTBSY, as it keeps any running program from being written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void show(const char *what, int r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "inside") != 0) {
		execl(argv[1], argv[1], "inside", (char *)0);
		show("exec", -1);
		return 1;
	}
	int fd = open("/proc/self/exe", O_WRONLY | O_APPEND);
	show("open_exe", fd);
	if (fd >= 0)
		show("write_exe", (int)write(fd, "PWNED", 5));
	show("trunc_open_exe", open("/proc/self/exe", O_RDONLY | O_TRUNC));
	show("read_exe", open("/proc/self/exe", O_RDONLY));
	return 0;
}
