/* RLIMIT_FSIZE as a program sets it for itself: writes cut short at the limit, EFBIG
 * and SIGXFSZ past it (ignored here, then caught, then the default action in a child:
 * the process ends with SIGXFSZ), for write, pwrite, writev, pwritev, O_APPEND,
 * pwritev2 with RWF_APPEND and pwrite on O_APPEND (at the end, wherever they point),
 * ftruncate, truncate, fallocate, sendfile and copy_file_range; pipes have no size.
 * Run in a scratch directory, natively and in Lind; the outputs are compared. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t caught;

static void on_xfsz(int sig)
{
	caught = sig;
}

/* Kept in memory until the limit is lifted: stdout is a file too. */
static char log_text[8192];
static size_t log_len;

static void report(const char *what, long r)
{
	log_len += snprintf(log_text + log_len, sizeof log_text - log_len, "%s %ld %d caught %d\n",
	                    what, r < 0 ? -1 : r, r < 0 ? errno : 0, (int)caught);
	caught = 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char buf[300];
	memset(buf, 'x', sizeof buf);
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	printf("unlimited at start: %d\n", rl.rlim_cur == RLIM_INFINITY);
	int big = open("big", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(big, buf, 300);

	rl.rlim_cur = 100;
	report("setrlimit", setrlimit(RLIMIT_FSIZE, &rl));
	getrlimit(RLIMIT_FSIZE, &rl);
	report("soft now", (long)rl.rlim_cur);

	struct sigaction sa = {0};
	sa.sa_handler = on_xfsz;
	sigaction(SIGXFSZ, &sa, NULL);
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	report("write 60", write(fd, buf, 60));
	report("write 60 more, cut at 100", write(fd, buf, 60));
	report("write at the limit", write(fd, buf, 1));
	report("write nothing at the limit", write(fd, buf, 0));
	report("pwrite at 90", pwrite(fd, buf, 50, 90));
	report("pwrite at 100", pwrite(fd, buf, 1, 100));
	report("pwrite at 0", pwrite(fd, buf, 50, 0));
	report("pwrite 150 at 0, cut at 100", pwrite(fd, buf, 150, 0));
	struct iovec iov[3] = {{buf, 40}, {buf, 40}, {buf, 40}};
	lseek(fd, 30, SEEK_SET);
	report("writev 120 at 30", writev(fd, iov, 3));
	report("pwritev 120 at 50", pwritev(fd, iov, 3, 50));
	report("pwritev at 100", pwritev(fd, iov, 1, 100));
	report("ftruncate 100", ftruncate(fd, 100));
	report("ftruncate 101", ftruncate(fd, 101));
	report("truncate 101", truncate("f", 101));
	report("fallocate to 100", fallocate(fd, 0, 50, 50));
	report("fallocate past 100", fallocate(fd, 0, 50, 51));
	int app = open("f", O_WRONLY | O_APPEND);
	report("append at the limit", write(app, buf, 1));
	ftruncate(fd, 80);
	report("append cut at the limit", write(app, buf, 50));
	ftruncate(fd, 80);
	report("pwrite at 0 of an O_APPEND file, at the end", pwrite(app, buf, 50, 0));
	ftruncate(fd, 80);
	report("pwritev2 RWF_APPEND at 0, at the end", pwritev2(fd, iov, 1, 0, RWF_APPEND));
	ftruncate(fd, 80);
	lseek(fd, 0, SEEK_SET);
	report("pwritev2 RWF_APPEND at the position", pwritev2(fd, iov, 1, -1, RWF_APPEND));
	report("  position after it", lseek(fd, 0, SEEK_CUR));
	close(app);
	int out = open("out", O_RDWR | O_CREAT | O_TRUNC, 0644);
	off_t at = 0;
	report("sendfile 300", sendfile(out, big, &at, 300));
	report("sendfile at the limit", sendfile(out, big, &at, 10));
	loff_t from = 0, to = 60;
	report("copy_file_range 300 at 60", copy_file_range(big, &from, out, &to, 300, 0));
	int p[2];
	pipe(p);
	report("pipe write past the limit", write(p[1], buf, 200));
	report("read big whole", pread(big, buf, 300, 0));
	report("f size", lseek(fd, 0, SEEK_END));
	report("out size", lseek(out, 0, SEEK_END));

	sa.sa_handler = SIG_IGN;
	sigaction(SIGXFSZ, &sa, NULL);
	report("ignored: write past", pwrite(fd, buf, 1, 200));

	rl.rlim_cur = rl.rlim_max;
	report("raise back", setrlimit(RLIMIT_FSIZE, &rl));
	fputs(log_text, stdout);
	report("write past 100 again", pwrite(fd, buf, 10, 200));

	pid_t child = fork();
	if (child == 0) {
		signal(SIGXFSZ, SIG_DFL);
		struct rlimit small = {10, 10};
		setrlimit(RLIMIT_FSIZE, &small);
		int c = open("child", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		write(c, buf, 10);
		write(c, buf, 1);      /* SIGXFSZ's default action ends the child */
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	printf("child signalled %d by %d\n", WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return 0;
}
