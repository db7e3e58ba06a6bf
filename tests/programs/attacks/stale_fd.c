/* Tries to read a file outside its root through a host fd number it no longer holds:
 * a thread waits on a FIFO, in readv (argv[1] "readv": the microvisor's wait, in
 * Python) or read ("read": the trampoline's, in C), and another closes that fd. The FIFO keeps a second reader, so the close wakes nobody, and the
 * host fd number is free for whatever the Lind process opens next (the test opens the
 * canary then). A write to the FIFO then wakes the waiting read. It must not return
 * what the host opened at that number: the FIFO's byte, or an error.
 * Markers in its root: it makes "closed" after its close, waits for "opened".
 * Prints "CALL RESULT ERRNO" and then what the read returned. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int waited_fd, use_readv;
static char got[256];
static ssize_t got_n;
static int got_errno;

static void *reader(void *unused)
{
	(void)unused;
	struct iovec iov = {got, sizeof got - 1};
	got_n = use_readv ? readv(waited_fd, &iov, 1) : read(waited_fd, got, sizeof got - 1);
	got_errno = got_n < 0 ? errno : 0;
	return NULL;
}

int main(int argc, char **argv)
{
	use_readv = argc > 1 && strcmp(argv[1], "readv") == 0;
	signal(SIGPIPE, SIG_IGN);
	if (mkfifo("/fifo", 0600) < 0) {
		perror("mkfifo");
		return 1;
	}
	waited_fd = open("/fifo", O_RDONLY | O_NONBLOCK);
	int other_reader = open("/fifo", O_RDONLY | O_NONBLOCK);
	int writer = open("/fifo", O_WRONLY | O_NONBLOCK);
	if (waited_fd < 0 || other_reader < 0 || writer < 0 || fcntl(waited_fd, F_SETFL, 0) < 0) {
		perror("fifo");
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	usleep(300 * 1000);             /* the reader waits in the microvisor's poll */
	close(waited_fd);
	int marker = open("/closed", O_CREAT | O_WRONLY, 0600);
	close(marker);
	for (int i = 0; i < 3000 && access("/opened", F_OK) != 0; i++)
		usleep(10 * 1000);
	if (write(writer, "x", 1) != 1)  /* wakes the waiting read */
		perror("write");
	pthread_join(t, NULL);
	printf("%s %zd %d\n", use_readv ? "readv" : "read", got_n < 0 ? -1 : got_n, got_errno);
	if (got_n > 0)
		fwrite(got, 1, (size_t)got_n, stdout);
	return 0;
}
