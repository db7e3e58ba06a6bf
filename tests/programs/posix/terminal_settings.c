/* Terminal settings read back as they were set (the termios and winsize the host's
 * ioctls move, found untested by the mutation run of sys_files.py): every field and
 * control character through the TCSETS, TCSETSW and TCSETSF ioctls themselves (the
 * kernel's 36-byte termios is the head of both libcs' struct); window sizes through
 * TIOCSWINSZ and TIOCGWINSZ; FIONREAD. Everything is set before anything is printed:
 * TCSETSW waits for the output to drain, which nobody reads until the end. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static char report[4096];
static size_t used;

static void show(const char *how, int r)
{
	struct termios t;
	memset(&t, 0xAA, sizeof t);    /* TCGETS writes the kernel's 36 bytes, no more */
	ioctl(0, TCGETS, &t);
	used += snprintf(report + used, sizeof report - used,
	                 "%s: %d; iflag %o oflag %o cflag %o lflag %o speed %d cc", how, r,
	                 (unsigned)t.c_iflag, (unsigned)t.c_oflag,
	                 (unsigned)(t.c_cflag & (CSIZE | CREAD | CSTOPB | PARENB)),
	                 (unsigned)t.c_lflag, cfgetospeed(&t) == B9600);
	for (int i = 0; i < 19; i++)
		used += snprintf(report + used, sizeof report - used, " %d", t.c_cc[i]);
	used += snprintf(report + used, sizeof report - used, "; byte 36 %#x\n",
	                 ((unsigned char *)&t)[36]);
}

int main(void)
{
	struct termios saved, t;
	if (tcgetattr(0, &saved)) {
		perror("tcgetattr");
		return 1;
	}
	t = saved;
	t.c_iflag = ICRNL | IXON;
	t.c_oflag = OPOST | ONLCR;
	t.c_cflag = (t.c_cflag & ~(CSIZE | CSTOPB | PARENB)) | CS7 | CREAD | CSTOPB;
	t.c_lflag = ISIG | ICANON | IEXTEN;
	for (int i = 0; i < 19; i++)
		t.c_cc[i] = (unsigned char)(20 + i);
	cfsetispeed(&t, B9600);
	cfsetospeed(&t, B9600);
	show("TCSETS", ioctl(0, TCSETS, &t));
	t.c_cc[VMIN] = 5;
	t.c_cc[18] = 99;
	show("TCSETSW", ioctl(0, TCSETSW, &t));
	t.c_cc[VTIME] = 9;
	t.c_lflag |= ECHO;
	show("TCSETSF", ioctl(0, TCSETSF, &t));

	struct winsize w = {.ws_row = 33, .ws_col = 77, .ws_xpixel = 640, .ws_ypixel = 480};
	int set = ioctl(0, TIOCSWINSZ, &w);
	struct { struct winsize w; unsigned char after; } back;
	memset(&back, 0, sizeof back);
	back.after = 0xAA;             /* TIOCGWINSZ writes its 8 bytes, not one more */
	int got = ioctl(0, TIOCGWINSZ, &back.w);
	w = back.w;
	int queued = -1;
	int counted = ioctl(0, FIONREAD, &queued);
	int flushed = tcflush(0, TCIFLUSH);
	tcsetattr(0, TCSANOW, &saved);
	fputs(report, stdout);
	printf("TIOCSWINSZ: %d\nTIOCGWINSZ: %d; %d x %d, %d x %d pixels\n", set, got, w.ws_row,
	       w.ws_col, w.ws_xpixel, w.ws_ypixel);
	printf("byte after the winsize %#x\n", back.after);
	printf("FIONREAD: %d; %d bytes\n", counted, queued);
	printf("TCFLSH: %d\n", flushed);
	return 0;
}
