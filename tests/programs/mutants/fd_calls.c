/* The fd table: lowest free numbers, dup/dup2/dup3/F_DUPFD, close-on-exec flags, shared
 * descriptions across dup and fork, access modes, RLIMIT_NOFILE. Relative paths only:
 * run in a directory holding "data" (10 bytes), "dir/" (with files a, b, c) and "fifo" (a
 * named pipe), natively and in Lind, and the outputs compared (tests/test_mutants_fs.py).
 * argv[1]: this program, to exec. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1 : r, r < 0 ? errno : 0);
}

static int cloexec(int fd)
{
	int r = fcntl(fd, F_GETFD);
	return r < 0 ? -errno : r & FD_CLOEXEC;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 2) {   /* after exec: which of 3..9 are still open, and their flags */
		for (int fd = 3; fd < 10; fd++)
			printf("after exec fd %d: %d\n", fd, cloexec(fd));
		return 0;
	}
	int a = open("data", O_RDONLY);
	int b = open("data", O_RDONLY);
	int c = open("data", O_RDONLY);
	report("open a", a);
	report("open b", b);
	report("open c", c);
	report("close b", close(b));
	report("close b again", close(b));
	report("lowest free", b = open("data", O_RDONLY));
	report("close -1", close(-1));
	report("close 1<<20", close(1 << 20));
	report("close 1000", close(1000));
	report("read closed", read(1000, &a, 1));
	report("dup", dup(a));
	report("dup2 to 40", dup2(a, 40));
	report("dup2 same", dup2(a, a));
	report("dup2 onto c", dup2(b, c));
	report("dup2 from closed", dup2(1000, 41));
	report("dup2 to -1", dup2(a, -1));
	report("dup3 cloexec to 42", dup3(a, 42, O_CLOEXEC));
	report("dup3 same", dup3(a, a, 0));
	report("close 43", close(43));
	report("cloexec -1", cloexec(-1));
	report("cloexec 42", cloexec(42));
	report("cloexec 40", cloexec(40));
	report("F_DUPFD 20", fcntl(a, F_DUPFD, 20));
	report("F_DUPFD 20 again", fcntl(a, F_DUPFD, 20));
	report("F_DUPFD_CLOEXEC 20", fcntl(a, F_DUPFD_CLOEXEC, 20));
	report("cloexec 22", cloexec(22));
	report("set cloexec 20", fcntl(20, F_SETFD, FD_CLOEXEC));
	report("cloexec 20", cloexec(20));
	report("clear cloexec 20", fcntl(20, F_SETFD, 0));
	report("cloexec 20 cleared", cloexec(20));
	report("cloexec closed", cloexec(30));
	report("set cloexec closed", fcntl(30, F_SETFD, FD_CLOEXEC));

	char buf[4];
	int r = open("data", O_RDONLY), w = open("data", O_WRONLY), d = open("dir", O_RDONLY);
	report("write on read-only", write(r, "x", 1));
	report("read on write-only", read(w, buf, 1));
	report("read on directory", read(d, buf, 1));
	report("write on directory", write(d, "x", 1));
	int p = open("data", O_PATH);
	report("read on O_PATH", read(p, buf, 1));
	report("write on O_PATH", write(p, "x", 1));
	int rw = open("data", O_RDWR);
	report("pread on read-write", pread(rw, buf, 2, 0));
	report("pwrite on read-write", pwrite(rw, "01", 2, 0));

	/* Every entry of a directory, once; and poll on a host FIFO. */
	DIR *listing = opendir("dir");
	char names[256] = "";
	int entries = 0;
	struct dirent *e;
	while (listing && (e = readdir(listing)) != NULL) {
		entries++;
		if (e->d_name[0] != '.')
			names[e->d_name[0] - 'a'] = e->d_name[0];
	}
	closedir(listing);
	for (int i = 0; i < 26; i++)
		if (names[i])
			putchar(names[i]);
	printf(" listed, %d entries with . and ..\n", entries);
	struct pollfd pf = {open("fifo", O_RDWR | O_NONBLOCK), POLLOUT | POLLIN, 0};
	report("poll fifo", poll(&pf, 1, 0));
	printf("fifo events %d\n", pf.revents);
	pf.events = POLLIN;   /* nothing written: not ready */
	report("poll empty fifo for input", poll(&pf, 1, 0));
	printf("fifo events %d\n", pf.revents);
	close(pf.fd);
	int fifo = open("fifo", O_RDWR);
	report("set O_NONBLOCK", fcntl(fifo, F_SETFL, O_NONBLOCK));
	report("O_NONBLOCK set", fcntl(fifo, F_GETFL) & O_NONBLOCK ? 1 : 0);
	report("read empty fifo", read(fifo, buf, 1));
	close(fifo);
	struct pollfd pd = {open("data", O_RDONLY), POLLIN | POLLOUT, 0};
	report("poll file", poll(&pd, 1, 0));
	printf("file events %d\n", pd.revents);
	pd.events = POLLIN;
	report("poll file for input", poll(&pd, 1, 0));
	printf("file events %d\n", pd.revents);
	close(pd.fd);

	/* A shared mapping is as writable as its fd (wasm pages cannot be read-only). */
	void *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, r, 0);
	report("shared writable map of read-only", m == MAP_FAILED ? -1 : 0);
	m = mmap(0, 4096, PROT_READ, MAP_SHARED, w, 0);
	report("map of write-only", m == MAP_FAILED ? -1 : 0);
	m = mmap(0, 4096, PROT_READ, MAP_SHARED, r, 0);
	report("shared read-only map of read-only", m == MAP_FAILED ? -1 : munmap(m, 4096));
	m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
	if (m != MAP_FAILED) {
		((char *)m)[2] = 'M';
		munmap(m, 4096);
	}
	report("shared writable map of read-write", m == MAP_FAILED ? -1 : pread(r, buf, 3, 0));
	printf("mapped write reached the file: %.3s\n", buf);
	report("fallocate on read-only", fallocate(r, 0, 0, 20));
	report("fallocate on read-write", fallocate(rw, 0, 0, 10));

	/* One description: dup and fork share its offset; closing one fd keeps it open. */
	int s = open("data", O_RDONLY), t = dup(s);
	read(s, buf, 2);
	report("offset via dup", lseek(t, 0, SEEK_CUR));
	report("close original", close(s));
	report("read via dup", read(t, buf, 2));
	pid_t child = fork();
	if (child == 0) {
		read(t, buf, 2);
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	report("offset after child read", lseek(t, 0, SEEK_CUR));
	close(t);

	/* RLIMIT_NOFILE. */
	struct rlimit lim = {24, 30};
	report("setrlimit 24 30", setrlimit(RLIMIT_NOFILE, &lim));
	int last = -1;
	for (;;) {
		int fd = open("data", O_RDONLY);
		if (fd < 0)
			break;
		last = fd;
	}
	printf("last fd %d errno %d\n", last, errno);
	report("F_DUPFD at limit", fcntl(a, F_DUPFD, 24));
	report("F_DUPFD above limit", fcntl(a, F_DUPFD, 25));
	report("dup2 at limit", dup2(a, 24));
	report("dup2 below limit", dup2(a, 23));
	report("dup2 to 40 kept", fcntl(40, F_GETFD));
	report("dup at limit", dup(a));
	lim.rlim_cur = 31;
	report("setrlimit above hard", setrlimit(RLIMIT_NOFILE, &lim));
	lim.rlim_cur = 30;
	report("setrlimit 30 30", setrlimit(RLIMIT_NOFILE, &lim));
	report("dup after raise", dup(a));
	for (int fd = 3; fd < 10; fd++)
		close(fd);
	report("reopen 3", open("data", O_RDONLY));
	report("reopen 4 cloexec", open("data", O_RDONLY | O_CLOEXEC));
	report("reopen 5", open("data", O_RDONLY));
	report("dup3 to 6 cloexec", dup3(3, 6, O_CLOEXEC));
	report("F_DUPFD_CLOEXEC 7", fcntl(3, F_DUPFD_CLOEXEC, 7));
	report("dup2 to 0", dup2(3, 0));
	fflush(stdout);
	execl(argv[1], argv[1], argv[1], "after", (char *)0);
	report("exec", -1);
	return 1;
}
