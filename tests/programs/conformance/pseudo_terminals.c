#define _GNU_SOURCE
/* Pseudo-terminals: openpty, the line discipline between its sides (echo off, canonical
 * lines, raw mode), window size, ptsname/ttyname, forkpty's child on the slave, EIO on
 * the master once the slave side is closed everywhere, /dev/pts of the program's own. */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <utmp.h>

static void show(const char *what, const char *buf, ssize_t n)
{
	printf("%s: %zd \"", what, n);
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n') printf("\\n");
		else if (buf[i] == '\r') printf("\\r");
		else putchar(buf[i]);
	printf("\"\n");
}

int main(void)
{
	int m, s;
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	if (openpty(&m, &s, NULL, NULL, &ws) != 0) {
		printf("openpty: %s\n", strerror(errno));
		return 1;
	}
	printf("isatty: %d %d\n", isatty(m), isatty(s));
	char *name = ptsname(m);
	char *tty = ttyname(s);
	printf("names: %s, same %d\n", name && !strncmp(name, "/dev/pts/", 9) ? "/dev/pts/N" : "?",
	       name && tty && !strcmp(name, tty));
	struct stat st;
	int r = stat(name, &st);
	printf("stat of its name: %d, char device %d\n", r, S_ISCHR(st.st_mode));
	struct winsize got;
	ioctl(s, TIOCGWINSZ, &got);
	printf("window: %d x %d\n", got.ws_col, got.ws_row);

	struct termios t;
	tcgetattr(s, &t);
	t.c_lflag &= ~ECHO;
	tcsetattr(s, TCSANOW, &t);
	char buf[256];
	write(m, "hello\nworld", 11);
	ssize_t n = read(s, buf, sizeof buf);
	show("canonical line", buf, n);
	write(s, "out\n", 4);
	n = read(m, buf, sizeof buf);
	show("master reads (onlcr)", buf, n);
	cfmakeraw(&t);
	tcsetattr(s, TCSANOW, &t);
	n = read(s, buf, sizeof buf);
	show("raw, the rest", buf, n);
	fcntl(m, F_SETFL, O_NONBLOCK);
	n = read(m, buf, sizeof buf);
	printf("non-blocking empty master: %zd %s\n", n, n < 0 && errno == EAGAIN ? "EAGAIN" : strerror(errno));
	fcntl(m, F_SETFL, 0);
	close(s);
	close(m);

	int master;
	fflush(stdout);
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	if (pid == 0) {
		printf("child on a terminal: %d\n", isatty(1));
		return 0;
	}
	char all[512];
	size_t got_n = 0;
	for (;;) {
		n = read(master, all + got_n, sizeof all - got_n);
		if (n <= 0)
			break;
		got_n += n;
	}
	show("from the child", all, got_n);
	printf("then: %s\n", n < 0 && errno == EIO ? "EIO" : n == 0 ? "EOF" : strerror(errno));
	int status;
	waitpid(pid, &status, 0);
	printf("child exit: %d\n", WEXITSTATUS(status));
	close(master);
	printf("a terminal of nobody's: %s\n",
	       open("/dev/pts/999999", O_RDWR | O_NOCTTY) < 0 ? strerror(errno) : "opened");
	return 0;
}
