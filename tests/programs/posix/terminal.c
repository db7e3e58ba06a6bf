/* A program that puts its terminal in raw mode (as editors and pagers do) and leaves it so. */
#include <stdio.h>
#include <termios.h>
#include <unistd.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
int main(void) {
	struct termios t, u;
	printf("isatty %d\n", isatty(0));
	char *n = ttyname(0);
	printf("ttyname %s\n", n ? (strncmp(n, "/dev/", 5) == 0 ? "under /dev" : n) : strerror(errno));
	if (tcgetattr(0, &t)) { perror("tcgetattr"); return 1; }
	u = t; cfmakeraw(&u);
	printf("raw %d\n", tcsetattr(0, TCSANOW, &u));
	struct termios v; tcgetattr(0, &v);
	printf("now raw %d\n", !(v.c_lflag & ICANON));
	printf("flush %d\n", tcflush(0, TCIFLUSH));
	struct winsize w; printf("winsz %d\n", ioctl(0, TIOCGWINSZ, &w));
	return 0; /* leaves the terminal raw: lind run must restore it */
}
