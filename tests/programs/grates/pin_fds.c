/* pin_fds: what a pinned fd means to the calls made for the cage on the pinning
 * thread (fchmod here, which the microvisor's Python handler serves), and the errors.
 * Prints one line per check. */
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *what, int r)
{
	printf("%s: %s\n", what, r == 0 ? "ok" : strerror(errno));
}

static int mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static int self, c;

/* Pins c and ends without letting go (a grate's thread that ended between the two). */
static void *pin_and_end(void *arg)
{
	(void)arg;
	report("thread pins c and ends", pin_fds(self, 1, c, -1, -1));
	return NULL;
}

/* A thread that came after it, on the host thread it may have left: c is the table's
 * file, and its pins are as deep as anyone's. */
static void *after(void *arg)
{
	(void)arg;
	report("next thread: fchmod c", fchmod(c, 0601));
	int depth = 0;
	while (depth < 1000 && pin_fds(self, 1, c, -1, -1) == 0)
		depth++;
	printf("next thread pinned %d deep\n", depth);
	while (depth > 0 && unpin_fds(self) == 0)
		depth--;
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	self = getpid();
	int a = open("/a", O_CREAT | O_RDONLY, 0644), b = open("/b", O_CREAT | O_RDONLY, 0644);
	report("unpin with no pin", unpin_fds(self));
	report("pin no fd", pin_fds(self, 0, a, -1, -1));
	report("pin four", pin_fds(self, 4, a, b, 9));
	report("pin a and closed 9", pin_fds(self, 2, a, 9, -1));
	int keep = dup(a);              /* /a stays open */
	dup2(b, a);                     /* a and 9 now name /b, but stay pinned */
	dup2(b, 9);
	report("fchmod pinned a", fchmod(a, 0600));
	report("fchmod pinned closed 9", fchmod(9, 0600));
	printf("modes /a %o /b %o\n", mode_of("/a"), mode_of("/b"));
	report("pin b again (nested)", pin_fds(self, 1, b, -1, -1));
	report("unpin nested", unpin_fds(self));
	report("fchmod a, still pinned", fchmod(a, 0640));
	report("unpin", unpin_fds(self));
	report("fchmod a, unpinned", fchmod(a, 0604));
	report("fchmod 9, unpinned", fchmod(9, 0604));
	printf("modes /a %o /b %o\n", mode_of("/a"), mode_of("/b"));
	report("unpin again", unpin_fds(self));
	int depth = 0;
	while (depth < 1000 && pin_fds(self, 1, a, -1, -1) == 0)
		depth++;
	printf("pinned %d deep, then: %s\n", depth, strerror(errno));
	while (depth > 0 && unpin_fds(self) == 0)
		depth--;
	printf("all let go: %d\n", depth == 0 && unpin_fds(self) != 0);

	/* Of 64, one let go makes room for one more, not two. */
	while (depth < 1000 && pin_fds(self, 1, a, -1, -1) == 0)
		depth++;
	report("unpin one of 64", unpin_fds(self));
	report("pin one more", pin_fds(self, 1, a, -1, -1));
	report("and another", pin_fds(self, 1, a, -1, -1));
	while (depth > 0 && unpin_fds(self) == 0)
		depth--;

	/* fd 0 pins as any other. */
	c = open("/c", O_CREAT | O_RDONLY, 0644);
	int stdin_was = dup(0);
	dup2(c, 0);
	report("pin 0", pin_fds(self, 1, 0, -1, -1));
	dup2(a, 0);
	report("fchmod pinned 0", fchmod(0, 0610));
	report("unpin", unpin_fds(self));
	dup2(stdin_was, 0);
	close(stdin_was);
	printf("modes /b %o /c %o\n", mode_of("/b"), mode_of("/c"));

	/* A pinned fd whose file's last fd was closed meanwhile (dup2 over it): closed, as
	 * on Linux once the close ran, not the file numbers are parked on. */
	int d = open("/d", O_CREAT | O_RDONLY, 0644);
	report("pin d", pin_fds(self, 1, d, -1, -1));
	dup2(b, d);
	report("fchmod pinned d, its file closed meanwhile", fchmod(d, 0600));
	report("unpin", unpin_fds(self));
	close(d);
	printf("modes /b %o /d %o\n", mode_of("/b"), mode_of("/d"));

	/* A thread's pins end with it. */
	for (int round = 0; round < 3; round++) {
		pthread_t t;
		pthread_create(&t, NULL, pin_and_end, NULL);
		pthread_join(t, NULL);
		dup2(b, c);                 /* c names /b now */
		pthread_create(&t, NULL, after, NULL);
		pthread_join(t, NULL);
		printf("modes /b %o /c %o\n", mode_of("/b"), mode_of("/c"));
		chmod("/b", 0644);
		close(c);
		c = open("/c", O_RDONLY);
	}
	close(keep);
	return 0;
}
