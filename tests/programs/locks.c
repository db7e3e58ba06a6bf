/* File locks between a process and its children: fcntl record locks (ranges,
 * splitting and merging, F_GETLK's pid, close releasing all, not inherited by
 * fork, kept across exec, F_SETLKW blocking, EINTR and SA_RESTART, EDEADLK),
 * OFD locks (shared through dup and fork, released with the description),
 * flock (LOCK_NB, shared through fork), lockf, and the errors.  Children are
 * sequenced with pipes, never with sleeps.  Output must match a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILE_NAME "locks.dat"

static int up[2], down[2];	/* child -> parent, parent -> child */
static pid_t parent, child;

static void leave(void)
{
	fflush(stdout);
	_exit(0);
}

static void say(int fd) { if (write(fd, "x", 1) != 1) _exit(90); }
static void hear(int fd) { char c; if (read(fd, &c, 1) != 1) _exit(91); }

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len };
	return fcntl(fd, cmd, &fl) < 0 ? -errno : 0;
}

static const char *err(int r) { return r ? strerror(-r) : "ok"; }

static const char *who(pid_t pid)
{
	if (pid == -1) return "-1";
	if (pid == parent) return "parent";
	if (pid == child) return "child";
	if (pid == getpid()) return "me";
	return "other";
}

/* F_GETLK (or F_OFD_GETLK) for `type` on start+len: what blocks it. */
static void probe(const char *what, int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	if (fcntl(fd, cmd, &fl) < 0) {
		printf("%s: %s\n", what, strerror(errno));
	} else if (fl.l_type == F_UNLCK) {
		printf("%s: unlocked\n", what);
	} else {
		printf("%s: %s %lld+%lld pid=%s\n", what, fl.l_type == F_RDLCK ? "read" : "write",
		       (long long)fl.l_start, (long long)fl.l_len, who(fl.l_pid));
	}
	fflush(stdout);
}

static void report(const char *what, int r)
{
	printf("%s: %s\n", what, err(r));
	fflush(stdout);
}

static int fresh(void)
{
	char block[1000];
	int fd = open(FILE_NAME, O_RDWR | O_CREAT | O_TRUNC, 0644);
	memset(block, '.', sizeof block);
	if (fd < 0 || write(fd, block, sizeof block) != sizeof block) {
		perror("fresh");
		exit(1);
	}
	return fd;
}

static void start_child(void)
{
	fflush(stdout);
	child = fork();
	if (child < 0) {
		perror("fork");
		exit(1);
	}
}

static void end_child(void)
{
	int status;
	waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		printf("child status %d\n", status);
	child = 0;
}

static void ranges(void)
{
	int fd = fresh();
	puts("-- ranges");
	report("write 0+100", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 100));
	report("unlock 40+20", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 40, 20));
	report("write 100+100 (merges)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 100, 100));
	report("read 200+0 (to EOF)", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 200, 0));
	report("write 300+10 (splits)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 300, 10));
	lseek(fd, 420, SEEK_SET);
	report("write cur-10 (negative len)", lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, -5, -10));
	report("read end-1 (whence end)", lk(fd, F_SETLK, F_RDLCK, SEEK_END, -1, 1));
	probe("own lock, own view", fd, F_GETLK, F_WRLCK, 0, 1);
	start_child();
	if (child == 0) {
		child = getpid();
		probe("child 0+1", fd, F_GETLK, F_WRLCK, 0, 1);
		probe("child 45+1", fd, F_GETLK, F_WRLCK, 45, 1);
		probe("child 50+20", fd, F_GETLK, F_WRLCK, 50, 20);
		probe("child 410+1", fd, F_GETLK, F_WRLCK, 410, 1);
		probe("child 420+1", fd, F_GETLK, F_WRLCK, 420, 1);
		probe("child 150+1", fd, F_GETLK, F_WRLCK, 150, 1);
		probe("child read 250+1", fd, F_GETLK, F_RDLCK, 250, 1);
		probe("child write 250+1", fd, F_GETLK, F_WRLCK, 250, 1);
		probe("child read 305+1", fd, F_GETLK, F_RDLCK, 305, 1);
		probe("child write 5000+1", fd, F_GETLK, F_WRLCK, 5000, 1);
		report("child write 45+10", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 45, 10));
		report("child read 0+1", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
		report("child read 250+1", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 250, 1));
		report("child unlock all (not its locks)", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
		report("child write 45+10 again", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 45, 10));
		probe("child 0+1 still parent's", fd, F_GETLK, F_WRLCK, 0, 1);
		say(up[1]);
		hear(down[0]);
		/* the parent closed another fd of the file: all its locks are gone */
		probe("child 0+1 after parent's close", fd, F_GETLK, F_WRLCK, 0, 1);
		probe("child 5000+1 after parent's close", fd, F_GETLK, F_WRLCK, 5000, 1);
		leave();
	}
	hear(up[0]);
	probe("parent 45+1", fd, F_GETLK, F_WRLCK, 45, 1);
	probe("parent 250+1", fd, F_GETLK, F_WRLCK, 250, 1);
	int other = open(FILE_NAME, O_RDONLY);
	close(other);
	probe("parent 45+1 after close", fd, F_GETLK, F_WRLCK, 45, 1);
	say(down[1]);
	end_child();
	probe("parent after child exit", fd, F_GETLK, F_WRLCK, 0, 0);
	close(fd);
}

static void blocking(void)
{
	int fd = fresh();
	char c = 0;
	puts("-- F_SETLKW");
	report("parent write 0+1", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	start_child();
	if (child == 0) {
		say(up[1]);
		int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
		pread(fd, &c, 1, 900);
		printf("child waited: %s, then saw '%c'\n", err(r), c);
		leave();
	}
	hear(up[0]);
	pwrite(fd, "P", 1, 900);
	int r = lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1);
	end_child();
	report("parent unlock", r);
	close(fd);
}

static void deadlock(void)
{
	int fd = fresh();
	puts("-- EDEADLK");
	report("parent write 0+1", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	start_child();
	if (child == 0) {
		int r = lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1);
		say(up[1]);
		r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
		if (r == -EDEADLK)
			lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 1, 1);
		if (write(up[1], &r, sizeof r) != sizeof r)
			_exit(1);
		leave();
	}
	hear(up[0]);
	int mine = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1), theirs;
	if (mine == -EDEADLK)
		lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1);
	if (read(up[0], &theirs, sizeof theirs) != sizeof theirs)
		exit(1);
	printf("EDEADLK for one: %d, granted to the other: %d\n",
	       (mine == -EDEADLK) + (theirs == -EDEADLK), (mine == 0) + (theirs == 0));
	end_child();
	close(fd);
}

static volatile sig_atomic_t ticks, restarting;

static void tick(int sig)
{
	(void)sig;
	if (++ticks == 3 && restarting)
		say(up[1]);
}

static void interrupted(void)
{
	int fd = fresh();
	puts("-- EINTR");
	report("parent write 0+1", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	start_child();
	if (child == 0) {
		struct sigaction sa = { .sa_handler = tick };
		struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, off = { { 0, 0 }, { 0, 0 } };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, 0);
		setitimer(ITIMER_REAL, &it, 0);
		int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
		setitimer(ITIMER_REAL, &off, 0);
		printf("without SA_RESTART: %s after a tick: %d\n", err(r), ticks > 0);
		fflush(stdout);
		ticks = 0;
		restarting = 1;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGALRM, &sa, 0);
		setitimer(ITIMER_REAL, &it, 0);
		r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
		setitimer(ITIMER_REAL, &off, 0);
		printf("with SA_RESTART: %s after 3 ticks: %d\n", err(r), ticks >= 3);
		leave();
	}
	hear(up[0]);   /* the third tick of the restarted wait */
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1);
	end_child();
	close(fd);
}

static void ofd(void)
{
	int fd1 = fresh(), fd2 = open(FILE_NAME, O_RDWR), fd3;
	puts("-- OFD locks");
	report("fd1 ofd write 0+10", lk(fd1, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	report("fd2 ofd write 5+1", lk(fd2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1));
	probe("fd2 ofd getlk", fd2, F_OFD_GETLK, F_WRLCK, 0, 1);
	probe("fd2 posix getlk", fd2, F_GETLK, F_WRLCK, 0, 1);
	report("fd2 posix write 0+1", lk(fd2, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	struct flock bad = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 1,
			     .l_pid = 1 };
	report("ofd with l_pid", fcntl(fd1, F_OFD_SETLK, &bad) < 0 ? -errno : 0);
	fd3 = dup(fd1);
	report("dup ofd read 0+1", lk(fd3, F_OFD_SETLK, F_RDLCK, SEEK_SET, 0, 1));
	probe("fd2 read 0+1", fd2, F_OFD_GETLK, F_RDLCK, 0, 1);
	probe("fd2 write 0+1", fd2, F_OFD_GETLK, F_WRLCK, 0, 1);
	close(open(FILE_NAME, O_RDONLY));
	probe("after closing another fd", fd2, F_OFD_GETLK, F_WRLCK, 5, 1);
	start_child();
	if (child == 0) {
		report("child fd1 ofd write 20+1", lk(fd1, F_OFD_SETLK, F_WRLCK, SEEK_SET, 20, 1));
		report("child fd2 ofd write 0+1", lk(fd2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
		close(fd1);
		close(fd3);
		report("child fd2 after closing its copies", lk(fd2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
		leave();
	}
	end_child();
	probe("parent fd2 20+1", fd2, F_OFD_GETLK, F_WRLCK, 20, 1);
	close(fd1);
	probe("after close(fd1)", fd2, F_OFD_GETLK, F_WRLCK, 5, 1);
	close(fd3);
	probe("after close(fd3)", fd2, F_OFD_GETLK, F_WRLCK, 0, 100);
	report("fd2 ofd write 0+1 now", lk(fd2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	start_child();
	if (child == 0) {
		report("child ofd setlkw on the shared description", lk(fd2, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 0, 1));
		int own = open(FILE_NAME, O_RDWR);
		say(up[1]);
		int r = lk(own, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
		char c = 0;
		pread(own, &c, 1, 901);
		printf("child ofd waited: %s, then saw '%c'\n", err(r), c);
		leave();
	}
	hear(up[0]);
	pwrite(fd2, "O", 1, 901);
	int r = lk(fd2, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	end_child();
	report("parent ofd unlock", r);
	close(fd2);
}

static void flocks(void)
{
	int fd1 = fresh(), fd2 = open(FILE_NAME, O_RDWR), p[2];
	puts("-- flock");
	report("fd1 LOCK_EX", flock(fd1, LOCK_EX) ? -errno : 0);
	report("fd1 LOCK_EX again", flock(fd1, LOCK_EX) ? -errno : 0);
	report("fd2 LOCK_EX|LOCK_NB", flock(fd2, LOCK_EX | LOCK_NB) ? -errno : 0);
	report("fd2 LOCK_SH|LOCK_NB", flock(fd2, LOCK_SH | LOCK_NB) ? -errno : 0);
	report("fd2 fcntl write (independent)", lk(fd2, F_SETLK, F_WRLCK, SEEK_SET, 0, 0));
	start_child();
	if (child == 0) {
		report("child fd1 LOCK_SH|LOCK_NB (shared description)", flock(fd1, LOCK_SH | LOCK_NB) ? -errno : 0);
		report("child fd2 LOCK_SH|LOCK_NB", flock(fd2, LOCK_SH | LOCK_NB) ? -errno : 0);
		leave();
	}
	end_child();
	report("fd1 LOCK_EX|LOCK_NB while fd2 shares", flock(fd1, LOCK_EX | LOCK_NB) ? -errno : 0);
	report("fd2 LOCK_UN", flock(fd2, LOCK_UN) ? -errno : 0);
	report("fd1 LOCK_EX|LOCK_NB", flock(fd1, LOCK_EX | LOCK_NB) ? -errno : 0);
	start_child();
	if (child == 0) {
		int own = open(FILE_NAME, O_RDWR);
		char c = 0;
		close(fd1);   /* else the description outlives the parent's close */
		say(up[1]);
		int r = flock(own, LOCK_EX) ? -errno : 0;
		pread(own, &c, 1, 902);
		printf("child flock waited: %s, then saw '%c'\n", err(r), c);
		leave();
	}
	hear(up[0]);
	pwrite(fd1, "F", 1, 902);
	close(fd1);   /* the last reference: the flock goes */
	end_child();
	report("flock bad operation", flock(fd2, 0) ? -errno : 0);
	pipe(p);
	report("flock on a pipe", flock(p[0], LOCK_EX) ? -errno : 0);
	close(p[0]);
	close(p[1]);
	close(fd2);
}

static void lockfs(void)
{
	int fd = fresh();
	puts("-- lockf");
	report("F_LOCK 10", lockf(fd, F_LOCK, 10) ? -errno : 0);
	report("F_TEST own", lockf(fd, F_TEST, 10) ? -errno : 0);
	start_child();
	if (child == 0) {
		report("child F_TEST", lockf(fd, F_TEST, 10) ? -errno : 0);
		report("child F_TLOCK", lockf(fd, F_TLOCK, 10) ? -errno : 0);
		lseek(fd, 10, SEEK_SET);
		report("child F_TLOCK past it", lockf(fd, F_TLOCK, 10) ? -errno : 0);
		report("child F_ULOCK", lockf(fd, F_ULOCK, 10) ? -errno : 0);
		leave();
	}
	end_child();
	report("F_ULOCK", lockf(fd, F_ULOCK, 10) ? -errno : 0);
	start_child();
	if (child == 0) {
		report("child F_TEST after unlock", lockf(fd, F_TEST, 10) ? -errno : 0);
		leave();
	}
	end_child();
	close(fd);
}

static void errors(void)
{
	int fd = fresh(), ro = open(FILE_NAME, O_RDONLY), wo = open(FILE_NAME, O_WRONLY), p[2];
	puts("-- errors");
	report("write lock, read-only fd", lk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	report("read lock, write-only fd", lk(wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
	report("ofd write lock, read-only fd", lk(ro, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	report("getlk write, read-only fd", lk(ro, F_GETLK, F_WRLCK, SEEK_SET, 0, 1));
	report("getlk F_UNLCK", lk(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1));
	report("bad type", lk(fd, F_SETLK, 7, SEEK_SET, 0, 1));
	report("bad whence", lk(fd, F_SETLK, F_WRLCK, 7, 0, 1));
	report("negative start", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1));
	report("negative len before 0", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 2, -3));
	report("bad fd", lk(99, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	report("unlock nothing", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
	pipe(p);
	report("pipe read end, read lock", lk(p[0], F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
	report("pipe read end, write lock", lk(p[0], F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	report("pipe write end, write lock", lk(p[1], F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	close(p[0]);
	close(p[1]);
	close(ro);
	close(wo);
	close(fd);
}

/* exec keeps the process's locks, except that close-on-exec fds closing drop them. */
static void execs(const char *self)
{
	puts("-- exec");
	for (int cloexec = 0; cloexec < 2; cloexec++) {
		int fd = fresh();
		start_child();
		if (child == 0) {
			char num[16];
			if (cloexec)
				open(FILE_NAME, O_RDONLY | O_CLOEXEC);
			lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
			snprintf(num, sizeof num, "%d", up[1]);
			char dnum[16];
			snprintf(dnum, sizeof dnum, "%d", down[0]);
			execl(self, self, "exec-holder", num, dnum, (char *)NULL);
			_exit(2);
		}
		hear(up[0]);
		probe(cloexec ? "after exec (a cloexec fd closed)" : "after exec", fd, F_GETLK,
		      F_WRLCK, 0, 1);
		say(down[1]);
		end_child();
		close(fd);
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "exec-holder")) {
		say(atoi(argv[2]));
		hear(atoi(argv[3]));
		return 0;
	}
	parent = getpid();
	if (pipe(up) || pipe(down))
		return 1;
	ranges();
	blocking();
	deadlock();
	interrupted();
	ofd();
	flocks();
	lockfs();
	errors();
	execs(argv[0]);
	unlink(FILE_NAME);
	return 0;
}
