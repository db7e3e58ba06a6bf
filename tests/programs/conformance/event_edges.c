/* epoll, eventfd, timerfd and signalfd at their edges: edge-triggered wakeups (a partial
 * read brings none, new bytes or a new connection do), an item that outlives its fd
 * through a dup and leaves with the description, an epoll inside an epoll and the loop
 * that is refused, EPOLLEXCLUSIVE's rules, level-triggered items taking turns, EFAULT,
 * EBADF and EINVAL; an eventfd writer waiting past overflow; absolute, past and
 * periodic timers on the real-time clock, a timerfd waited for with no timeout; a
 * signalfd in an epoll, sigqueue's value, a new mask; epoll_pwait's mask put back after
 * a handler ran, epoll_pwait2's timeout; poll and select of all of them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0);
}

static int waited(int ep, int timeout_ms)
{
	struct epoll_event out[8];
	return epoll_wait(ep, out, 8, timeout_ms);
}

static void edges(void)
{
	int ep = epoll_create1(0), pp[2];
	pipe(pp);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 1};
	epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &ev);
	write(pp[1], "ab", 2);
	say("edge: bytes came", waited(ep, 0));
	say("edge: nothing new", waited(ep, 0));
	char c;
	read(pp[0], &c, 1);
	say("edge: after a partial read", waited(ep, 0));
	write(pp[1], "c", 1);
	say("edge: more bytes", waited(ep, 0));
	close(pp[1]);
	struct epoll_event out;
	int n = epoll_wait(ep, &out, 1, 0);
	printf("edge: writer gone %d events %#x\n", n, n > 0 ? out.events : 0);
	close(pp[0]);
	close(ep);

	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "edges-%d", (int)getpid());
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1);
	bind(l, (struct sockaddr *)&a, len);
	listen(l, 8);
	ep = epoll_create1(0);
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u64 = 2};
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	int c1 = socket(AF_UNIX, SOCK_STREAM, 0), c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(c1, (struct sockaddr *)&a, len);
	connect(c2, (struct sockaddr *)&a, len);
	say("listener: two connections", waited(ep, 1000));
	int s1 = accept(l, NULL, NULL);
	say("listener: one accepted, no new one", waited(ep, 0));
	int c3 = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(c3, (struct sockaddr *)&a, len);
	say("listener: a third", waited(ep, 1000));
	close(s1);
	close(c1);
	close(c2);
	close(c3);
	close(l);
	close(ep);
}

static void lifetimes(void)
{
	int ep = epoll_create(1);
	int e = eventfd(1, 0);
	int twin = dup(e);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
	epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
	close(e);
	struct epoll_event out;
	int n = epoll_wait(ep, &out, 1, 0);
	printf("fd closed, description open: %d data %llu\n", n, (unsigned long long)out.data.u64);
	say("del of the closed fd", epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL));
	int again = eventfd(1, 0);     /* the same number, another description */
	printf("same number %d\n", again == e);
	ev.data.u64 = 8;
	say("add the new one", epoll_ctl(ep, EPOLL_CTL_ADD, again, &ev));
	close(twin);
	n = epoll_wait(ep, &out, 1, 0);
	printf("last reference gone: %d data %llu\n", n, (unsigned long long)out.data.u64);
	close(again);
	say("both gone", waited(ep, 0));
	close(ep);
}

static void nesting(void)
{
	int inner = epoll_create1(0), outer = epoll_create1(0), e = eventfd(0, 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 11};
	epoll_ctl(inner, EPOLL_CTL_ADD, e, &ev);
	ev.data.u64 = 22;
	say("epoll in an epoll", epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev));
	ev.data.u64 = 33;
	say("the loop back", epoll_ctl(inner, EPOLL_CTL_ADD, outer, &ev));
	struct pollfd p = {inner, POLLIN, 0};
	say("poll of the inner, idle", poll(&p, 1, 0));
	uint64_t one = 1;
	write(e, &one, sizeof one);
	say("poll of the inner", poll(&p, 1, 0));
	struct epoll_event out;
	int n = epoll_wait(outer, &out, 1, 0);
	printf("outer: %d data %llu events %#x\n", n, (unsigned long long)out.data.u64, out.events);
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLEXCLUSIVE};
	int f = eventfd(0, 0);
	say("exclusive", epoll_ctl(outer, EPOLL_CTL_ADD, f, &ev));
	say("exclusive mod", epoll_ctl(outer, EPOLL_CTL_MOD, f, &ev));
	ev.events = EPOLLIN;
	say("mod of an exclusive one", epoll_ctl(outer, EPOLL_CTL_MOD, f, &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	say("exclusive oneshot", epoll_ctl(outer, EPOLL_CTL_DEL, f, NULL) |
	    epoll_ctl(outer, EPOLL_CTL_ADD, f, &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	int third = epoll_create1(0);
	say("exclusive epoll", epoll_ctl(outer, EPOLL_CTL_ADD, third, &ev));
	close(third);
	close(f);
	close(e);
	close(inner);
	close(outer);
}

static void turns(void)
{
	int ep = epoll_create1(0), a = eventfd(1, 0), b = eventfd(1, 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
	epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev);
	ev.data.u64 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev);
	struct epoll_event out;
	unsigned long long order = 0;
	for (int i = 0; i < 4; i++) {
		epoll_wait(ep, &out, 1, 0);
		order = order * 10 + out.data.u64;
	}
	printf("level-triggered turns %llu\n", order);
	say("events NULL", syscall(SYS_epoll_wait, ep, NULL, 1, 0));
	say("not an epoll", epoll_wait(a, &out, 1, 0));
	say("no such fd", epoll_wait(99, &out, 1, 0));
	say("epoll_create 0", epoll_create(0));
	say("epoll_create1 bad flags", epoll_create1(1));
	say("read of an epoll", read(ep, &out, sizeof out));
	close(a);
	close(b);
	close(ep);
}

static void overflow(void)
{
	int e = eventfd(0, 0);
	uint64_t v = UINT64_MAX - 1;
	say("fill to the top", write(e, &v, sizeof v));
	struct pollfd p = {e, POLLIN | POLLOUT, 0};
	poll(&p, 1, 0);
	printf("full: poll %#x\n", p.revents);
	int fl = fcntl(e, F_GETFL);
	fcntl(e, F_SETFL, fl | O_NONBLOCK);
	v = 1;
	say("one more, nonblocking", write(e, &v, sizeof v));
	fcntl(e, F_SETFL, fl);
	if (fork() == 0) {
		usleep(50000);
		uint64_t got;
		read(e, &got, sizeof got);
		_exit(got == UINT64_MAX - 1 ? 0 : 1);
	}
	say("one more waits for a reader", write(e, &v, sizeof v));
	int st;
	wait(&st);
	read(e, &v, sizeof v);
	printf("child read the top %d, then %llu\n", WEXITSTATUS(st) == 0, (unsigned long long)v);
	fd_set w;
	FD_ZERO(&w);
	FD_SET(e, &w);
	struct timeval zero = {0, 0};
	say("select writable", select(e + 1, NULL, &w, NULL, &zero));
	say("eventfd2 cloexec", fcntl(eventfd(0, EFD_CLOEXEC), F_GETFD));
	close(e);
}

static long long ns(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void timers(void)
{
	int t = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	printf("cloexec %d\n", fcntl(t, F_GETFD));
	uint64_t n = 0;
	say("unarmed read", read(t, &n, sizeof n));
	long long at = ns(CLOCK_REALTIME) + 60000000;
	struct itimerspec it = {.it_value = {at / 1000000000, at % 1000000000}};
	say("absolute", timerfd_settime(t, TFD_TIMER_ABSTIME, &it, NULL));
	struct itimerspec now;
	timerfd_gettime(t, &now);
	printf("left is relative %d\n", now.it_value.tv_sec == 0 && now.it_value.tv_nsec > 0);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 5};
	epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
	say("epoll_wait with no timeout", waited(ep, -1));
	say("read", read(t, &n, sizeof n));
	printf("expirations %llu\n", (unsigned long long)n);
	at = ns(CLOCK_REALTIME) - 1000000000;
	it = (struct itimerspec){.it_value = {at / 1000000000, at % 1000000000},
				 .it_interval = {0, 100000000}};
	timerfd_settime(t, TFD_TIMER_ABSTIME, &it, NULL);
	read(t, &n, sizeof n);
	printf("past start, 100 ms interval: %d expirations\n", n >= 10 && n <= 12);
	it = (struct itimerspec){.it_value = {0, 1000000000}};
	say("bad nanoseconds", timerfd_settime(t, 0, &it, NULL));
	it.it_value.tv_nsec = 0;
	say("bad flags", timerfd_settime(t, 4, &it, NULL));
	say("NULL value", syscall(SYS_timerfd_settime, t, 0, NULL, NULL));
	close(t);
	close(ep);
	t = timerfd_create(CLOCK_BOOTTIME, 0);
	it = (struct itimerspec){.it_value = {0, 30000000}};
	timerfd_settime(t, 0, &it, NULL);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(t, &r);
	say("select waits for it", select(t + 1, &r, NULL, NULL, NULL));
	struct pollfd p = {t, POLLIN, 0};
	say("poll", poll(&p, 1, 0));
	close(t);
	say("bad flags at create", timerfd_create(CLOCK_MONOTONIC, 1));
}

static volatile sig_atomic_t handled;

static void on_usr2(int sig)
{
	(void)sig;
	handled++;
}

static void signal_files(void)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &m, NULL);
	int s = signalfd(-1, &m, 0);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 9};
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	say("signalfd idle", waited(ep, 0));
	union sigval value = {.sival_int = 4242};
	sigqueue(getpid(), SIGRTMIN, value);
	say("signalfd after sigqueue", waited(ep, 1000));
	struct signalfd_siginfo si;
	read(s, &si, sizeof si);
	printf("queued: signo is SIGRTMIN %d code %d int %d\n", si.ssi_signo == (uint32_t)SIGRTMIN,
	       si.ssi_code, si.ssi_int);
	sigset_t only;
	sigemptyset(&only);
	sigaddset(&only, SIGRTMIN);
	say("new mask", signalfd(s, &only, 0) == s);
	kill(getpid(), SIGUSR1);
	say("SIGUSR1 not in it", waited(ep, 0));
	sigset_t pending;
	sigpending(&pending);
	printf("SIGUSR1 pending %d\n", sigismember(&pending, SIGUSR1));
	int e = eventfd(0, 0);
	say("not a signalfd", signalfd(e, &m, 0));
	say("bad size", syscall(SYS_signalfd4, -1, &m, 4, 0));
	close(e);
	close(s);
	int took;
	sigwait(&m, &took);
	printf("took %d\n", took == SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &m, NULL);

	struct sigaction sa = {.sa_handler = on_usr2};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t usr2, none;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	pid_t parent = getpid();
	if (fork() == 0) {
		usleep(50000);
		kill(parent, SIGUSR2);
		_exit(0);
	}
	struct epoll_event out;
	say("pwait opened to SIGUSR2", epoll_pwait(ep, &out, 1, 5000, &none));
	sigset_t after;
	sigprocmask(SIG_BLOCK, NULL, &after);
	printf("handled %d, blocked again %d\n", (int)handled, sigismember(&after, SIGUSR2));
	wait(NULL);
	struct timespec brief = {0, 30000000};
	say("pwait2 times out", syscall(SYS_epoll_pwait2, ep, &out, 1, &brief, NULL, 8));
	brief.tv_nsec = -1;
	say("pwait2 bad timeout", syscall(SYS_epoll_pwait2, ep, &out, 1, &brief, NULL, 8));
	say("pwait bad sigset size", syscall(SYS_epoll_pwait, ep, &out, 1, 0, &none, 4));
	sigprocmask(SIG_UNBLOCK, &usr2, NULL);
	close(ep);
}

/* A pipe's writer after its reader went: POLLERR, and POLLOUT while the data fits
 * (a write then fails with EPIPE rather than waiting), to poll and to epoll alike. */
static void widowed_writer(void)
{
	int p[2];
	if (pipe(p) != 0)
		return;
	close(p[0]);
	struct pollfd f = {p[1], POLLOUT, 0};
	int r = poll(&f, 1, 0);
	printf("poll of a writer without readers: %d revents %#x\n", r, f.revents);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLOUT}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev);
	r = epoll_wait(ep, &out, 1, 0);
	printf("epoll of it: %d events %#x\n", r, r == 1 ? out.events : 0);
	close(ep);
	close(p[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	widowed_writer();
	edges();
	lifetimes();
	nesting();
	turns();
	overflow();
	timers();
	signal_files();
	return 0;
}
