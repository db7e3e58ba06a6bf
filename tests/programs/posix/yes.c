/* yes(1) in short: 4 KiB writes to stdout for ever; with an argument SIGPIPE is ignored. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <signal.h>
int main(int argc, char **argv) {
	if (argc > 1) signal(SIGPIPE, SIG_IGN);
	static char buf[4096];
	memset(buf, 'y', sizeof buf);
	for (long i = 0;; i++) {
		if (write(1, buf, sizeof buf) < 0) {
			fprintf(stderr, "write: errno %d after %ld\n", errno, i);
			return 3;
		}
	}
}
