/* Cages that answer each other back and forth, which the cooperative runtime can run
 * only when it can set a waiting cage aside (`lind cc --suspendable`).
 *   talk N    parent and child trade a number over two pipes N times; the child polls
 *             before it reads and sleeps once; three children chatter at once
 *   stuck     a child reads a pipe whose only writer is its parent, which waits for it:
 *             on Linux that hangs forever; a run of Lind tells the child EDEADLK
 *   nap       a child sleeps ten minutes while its parent waits for it
 *   flock     a child waits for its parent's flock, then for its record lock
 *   masks     sigsuspend woken by a child's signal, a ppoll under a mask timing out:
 *             each mask in place while the cage waits, the caller's back after
 *   forever sleep|timer|poll
 *             wait 2**62 seconds: nanosleep, a timer then pause, a ppoll */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int read_number(int fd, long *value)
{
	ssize_t got = read(fd, value, sizeof *value);
	if (got != (ssize_t)sizeof *value) {
		printf("read gave %zd: %s\n", got, got < 0 ? strerror(errno) : "short");
		return -1;
	}
	return 0;
}

static int answerer(int in, int out, long add, int rounds)
{
	struct pollfd p = { .fd = in, .events = POLLIN };
	for (int i = 0; i < rounds; i++) {
		if (poll(&p, 1, 5000) != 1 || !(p.revents & POLLIN)) {
			printf("poll: %s\n", strerror(errno));
			return 1;
		}
		long value;
		if (read_number(in, &value) < 0)
			return 2;
		if (i == rounds / 2) {
			struct timespec pause = { 0, 10 * 1000 * 1000 };
			nanosleep(&pause, NULL);
		}
		value += add;
		if (write(out, &value, sizeof value) != (ssize_t)sizeof value)
			return 3;
	}
	return 0;
}

static int talk(int rounds)
{
	enum { KIDS = 3 };
	int to[KIDS][2], from[KIDS][2];
	pid_t kids[KIDS];
	for (int k = 0; k < KIDS; k++) {
		if (pipe(to[k]) < 0 || pipe(from[k]) < 0)
			return 10;
		kids[k] = fork();
		if (kids[k] < 0)
			return 11;
		if (kids[k] == 0) {
			close(to[k][1]);
			close(from[k][0]);
			_exit(answerer(to[k][0], from[k][1], k + 1, rounds));
		}
		close(to[k][0]);
		close(from[k][1]);
	}
	long values[KIDS] = { 0 };
	for (int i = 0; i < rounds; i++) {
		for (int k = 0; k < KIDS; k++)
			if (write(to[k][1], &values[k], sizeof values[k]) != (ssize_t)sizeof values[k])
				return 12;
		for (int k = KIDS - 1; k >= 0; k--)
			if (read_number(from[k][0], &values[k]) < 0)
				return 13;
	}
	for (int k = 0; k < KIDS; k++) {
		int status;
		close(to[k][1]);
		if (waitpid(kids[k], &status, 0) != kids[k])
			return 14;
		printf("child %d: %ld after %d rounds, exit %d\n", k + 1, values[k], rounds,
		       WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status));
	}
	return 0;
}

static int stuck(void)
{
	int fds[2];
	if (pipe(fds) < 0)
		return 10;
	pid_t kid = fork();
	if (kid == 0) {
		char c;
		ssize_t got = read(fds[0], &c, 1);
		printf("child: read gave %zd (%s)\n", got, got < 0 ? strerror(errno) : "data");
		fflush(stdout);
		_exit(got < 0 ? 3 : 0);
	}
	int status;
	if (waitpid(kid, &status, 0) != kid)
		return 11;
	printf("parent: child exit %d\n", WEXITSTATUS(status));
	return 0;
}

static int nap(void)
{
	pid_t kid = fork();
	if (kid == 0) {
		sleep(600);
		_exit(0);
	}
	printf("parent: waiting\n");
	return waitpid(kid, NULL, 0) == kid ? 0 : 1;
}

static int flocks(void)
{
	int fd = open("flock.dat", O_CREAT | O_RDWR | O_TRUNC, 0644), ready[2];
	if (fd < 0 || pipe(ready) < 0 || flock(fd, LOCK_EX) < 0)
		return 10;
	pid_t kid = fork();
	if (kid == 0) {
		int mine = open("flock.dat", O_RDWR);
		int r = flock(mine, LOCK_EX | LOCK_NB);
		printf("child LOCK_NB: %d %s\n", r, r < 0 ? strerror(errno) : "");
		write(ready[1], "w", 1);
		printf("child LOCK_EX waited: %d\n", flock(mine, LOCK_EX));
		struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 10 };
		if (fcntl(mine, F_GETLK, &l) == 0)
			printf("child F_GETLK: type %d start %ld len %ld parent's %d\n", l.l_type,
			       (long)l.l_start, (long)l.l_len, l.l_pid == getppid());
		struct flock o = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 1 };
		if (fcntl(mine, F_OFD_GETLK, &o) == 0)
			printf("child F_OFD_GETLK: type %d start %ld pid %d\n", o.l_type,
			       (long)o.l_start, o.l_pid);
		o.l_type = F_RDLCK;
		o.l_pid = 0;
		int r2 = fcntl(mine, F_OFD_SETLK, &o);
		printf("child F_OFD_SETLK: %d %s\n", r2, r2 < 0 ? strerror(errno) : "");
		l.l_type = F_WRLCK;
		l.l_start = 0;
		l.l_len = 10;
		printf("child F_SETLKW waited: %d\n", fcntl(mine, F_SETLKW, &l));
		_exit(0);
	}
	char c;
	read(ready[0], &c, 1);
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 3 };
	printf("parent F_SETLK: %d\n", fcntl(fd, F_SETLK, &l));
	struct flock o = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 10 };
	printf("parent F_OFD_SETLK: %d\n", fcntl(fd, F_OFD_SETLK, &o));
	flock(fd, LOCK_UN);
	usleep(100000);
	printf("parent closes\n");
	close(fd);
	return waitpid(kid, NULL, 0) == kid ? 0 : 11;
}

static volatile sig_atomic_t caught;

static void on_usr1(int sig)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	caught = sig + 100 * sigismember(&now, SIGUSR2);
}

static int masks(void)
{
	signal(SIGUSR1, on_usr1);
	sigset_t usr1, during, now;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	pid_t parent = getpid(), kid = fork();
	if (kid == 0) {
		usleep(50000);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	sigemptyset(&during);
	sigaddset(&during, SIGUSR2);
	int r = sigsuspend(&during);
	sigprocmask(SIG_BLOCK, NULL, &now);
	printf("sigsuspend: %d %s, handler saw %d, after: USR1 blocked %d USR2 %d\n", r,
	       strerror(errno), (int)caught, sigismember(&now, SIGUSR1),
	       sigismember(&now, SIGUSR2));
	waitpid(kid, NULL, 0);
	struct timespec brief = { 0, 30 * 1000 * 1000 };
	r = ppoll(NULL, 0, &brief, &during);
	sigprocmask(SIG_BLOCK, NULL, &now);
	printf("ppoll timed out: %d, after: USR1 blocked %d USR2 %d\n", r,
	       sigismember(&now, SIGUSR1), sigismember(&now, SIGUSR2));
	return 0;
}

static int forever(const char *how)
{
	struct timespec ages = { (time_t)1 << 62, 0 };
	if (strcmp(how, "sleep") == 0)
		return nanosleep(&ages, NULL);
	if (strcmp(how, "timer") == 0) {
		struct itimerval later = { { 0, 0 }, { (time_t)1 << 62, 0 } };
		setitimer(ITIMER_REAL, &later, NULL);
		return pause();
	}
	return ppoll(NULL, 0, &ages, NULL);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "stuck") == 0)
		return stuck();
	if (argc > 1 && strcmp(argv[1], "nap") == 0)
		return nap();
	if (argc > 1 && strcmp(argv[1], "flock") == 0)
		return flocks();
	if (argc > 1 && strcmp(argv[1], "masks") == 0)
		return masks();
	if (argc > 2 && strcmp(argv[1], "forever") == 0)
		return forever(argv[2]);
	return talk(argc > 2 ? atoi(argv[2]) : 1000);
}
