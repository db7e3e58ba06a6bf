/* Runs the fd operations named on its command line and prints one line each: the new
 * fd or 0, or -errno. Files f0..f3 in the working directory hold one letter each.
 *   open I          open fI read-only
 *   dup FD | close FD | read FD (pread one byte: which file it is) | getfd FD
 *   dup2 FD TO | dupfd FD MIN (F_DUPFD) | cloexec FD (F_SETFD FD_CLOEXEC) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void result(long r)
{
	printf("%ld\n", r < 0 ? -(long)errno : r);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *op = argv[i];
		int a = i + 1 < argc ? atoi(argv[i + 1]) : 0;
		int b = i + 2 < argc ? atoi(argv[i + 2]) : 0;
		int two = !strcmp(op, "dup2") || !strcmp(op, "dupfd");
		printf("%s %d%s", op, a, two ? "" : " ");
		if (two)
			printf(" %d ", b);
		i += two ? 2 : 1;
		errno = 0;
		if (!strcmp(op, "open")) {
			char name[8];
			snprintf(name, sizeof name, "f%d", a);
			result(open(name, O_RDONLY));
		} else if (!strcmp(op, "dup")) {
			result(dup(a));
		} else if (!strcmp(op, "close")) {
			result(close(a));
		} else if (!strcmp(op, "read")) {
			char c;
			long n = pread(a, &c, 1, 0);
			result(n == 1 ? c : n);
		} else if (!strcmp(op, "getfd")) {
			result(fcntl(a, F_GETFD));
		} else if (!strcmp(op, "dup2")) {
			result(dup2(a, b));
		} else if (!strcmp(op, "dupfd")) {
			result(fcntl(a, F_DUPFD, b));
		} else if (!strcmp(op, "cloexec")) {
			result(fcntl(a, F_SETFD, FD_CLOEXEC));
		} else {
			printf("unknown\n");
			return 2;
		}
	}
	return 0;
}
