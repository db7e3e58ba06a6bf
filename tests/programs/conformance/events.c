/* epoll over sockets, pipes, eventfd, timerfd and signalfd (level and edge triggered,
 * EPOLLONESHOT, EPOLLRDHUP, errors, an epoll server with several clients); eventfd
 * counters and semaphores; timerfd expirations; signalfd reads. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0);
}

static void eventfds(void)
{
	int e = eventfd(3, EFD_NONBLOCK);
	uint64_t v = 0;
	say("eventfd read", read(e, &v, sizeof v));
	printf("value %llu\n", (unsigned long long)v);
	say("eventfd read empty", read(e, &v, sizeof v));
	v = 5;
	say("eventfd write", write(e, &v, sizeof v));
	say("eventfd short read", read(e, &v, 4));
	v = UINT64_MAX;
	say("eventfd write max", write(e, &v, sizeof v));
	struct pollfd p = {e, POLLIN | POLLOUT, 0};
	poll(&p, 1, 0);
	printf("poll %#x\n", p.revents);
	close(e);
	int s = eventfd(2, EFD_SEMAPHORE);
	read(s, &v, sizeof v);
	printf("semaphore gives %llu\n", (unsigned long long)v);
	read(s, &v, sizeof v);
	if (fork() == 0) {
		usleep(100000);
		v = 1;
		write(s, &v, sizeof v);
		_exit(0);
	}
	say("blocking read waits for the child", read(s, &v, sizeof v));
	wait(NULL);
	close(s);
	say("eventfd bad flags", eventfd(0, 0x1234));
}

static void timerfds(void)
{
	int t = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec it = {.it_value = {0, 50000000}};
	say("settime", timerfd_settime(t, 0, &it, NULL));
	uint64_t n = 0;
	say("read waits for expiry", read(t, &n, sizeof n));
	printf("expirations %llu\n", (unsigned long long)n);
	it = (struct itimerspec){.it_value = {0, 20000000}, .it_interval = {0, 20000000}};
	timerfd_settime(t, 0, &it, NULL);
	usleep(110000);
	read(t, &n, sizeof n);
	printf("interval expirations >= 4: %d\n", n >= 4);
	struct itimerspec old, now;
	it = (struct itimerspec){0};
	timerfd_settime(t, 0, &it, &old);
	printf("old interval %ld ns\n", old.it_interval.tv_nsec);
	timerfd_gettime(t, &now);
	printf("disarmed %d\n", now.it_value.tv_sec == 0 && now.it_value.tv_nsec == 0);
	int fl = fcntl(t, F_GETFL);
	fcntl(t, F_SETFL, fl | O_NONBLOCK);
	say("read disarmed nonblocking", read(t, &n, sizeof n));
	close(t);
	say("timerfd bad clock", timerfd_create(12345, 0));
	say("settime bad fd kind", timerfd_settime(0, 0, &it, NULL));
}

static void signalfds(void)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGUSR2);
	sigprocmask(SIG_BLOCK, &m, NULL);
	int s = signalfd(-1, &m, SFD_NONBLOCK);
	struct signalfd_siginfo si;
	say("signalfd read nothing", read(s, &si, sizeof si));
	kill(getpid(), SIGUSR2);
	kill(getpid(), SIGUSR1);
	struct pollfd p = {s, POLLIN, 0};
	say("poll signalfd", poll(&p, 1, 1000));
	struct signalfd_siginfo two[2];
	ssize_t r = read(s, two, sizeof two);
	printf("read %zd: %u %u, code %d, pid is mine %d\n", r, two[0].ssi_signo, two[1].ssi_signo,
	       two[0].ssi_code, two[0].ssi_pid == (uint32_t)getpid());
	say("short read", read(s, &si, 10));
	sigset_t pending;
	sigpending(&pending);
	printf("still pending %d\n", sigismember(&pending, SIGUSR1));
	int fl = fcntl(s, F_GETFL);
	fcntl(s, F_SETFL, fl & ~O_NONBLOCK);
	pid_t parent = getpid();
	if (fork() == 0) {
		usleep(100000);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	r = read(s, &si, sizeof si);
	printf("blocking read %zd signo %u\n", r, si.ssi_signo);
	wait(NULL);
	close(s);
	sigprocmask(SIG_UNBLOCK, &m, NULL);
}

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static void epolls(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int sv[2], pp[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pipe(pp);
	int e = eventfd(0, 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
	say("add socket", epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev));
	ev.data.u64 = 2;
	say("add pipe", epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &ev));
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u64 = 3};
	say("add eventfd edge-triggered", epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
	say("add again", epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
	say("mod unknown", epoll_ctl(ep, EPOLL_CTL_MOD, sv[1], &ev));
	say("add itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	int file = open("plain", O_CREAT | O_RDWR, 0644);
	say("add regular file", epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev));
	say("bad op", epoll_ctl(ep, 99, sv[0], &ev));
	say("not epoll", epoll_ctl(file, EPOLL_CTL_ADD, sv[0], &ev));
	struct epoll_event out[8];
	say("wait nothing", epoll_wait(ep, out, 8, 0));
	say("wait bad max", epoll_wait(ep, out, 0, 0));
	write(sv[1], "ab", 2);
	write(pp[1], "p", 1);
	uint64_t one = 1;
	write(e, &one, sizeof one);
	int n = epoll_wait(ep, out, 8, 1000);
	unsigned long long sum = 0;
	for (int i = 0; i < n; i++)
		sum += out[i].data.u64;
	printf("ready %d, data sum %#llx, events %#x\n", n, sum, out[0].events);
	n = epoll_wait(ep, out, 8, 0);
	printf("level-triggered still ready %d (edge-triggered not)\n", n);
	char buf[8];
	read(sv[0], buf, 2);
	read(pp[0], buf, 1);
	say("all read", epoll_wait(ep, out, 8, 0));
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT | EPOLLRDHUP, .data.u64 = 9};
	epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev);
	write(sv[1], "x", 1);
	say("oneshot once", epoll_wait(ep, out, 8, 100));
	say("oneshot disarmed", epoll_wait(ep, out, 8, 0));
	epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev);
	shutdown(sv[1], SHUT_WR);
	n = epoll_wait(ep, out, 8, 100);
	printf("rearmed %d rdhup %d\n", n, n > 0 && (out[0].events & EPOLLRDHUP) != 0);
	say("del", epoll_ctl(ep, EPOLL_CTL_DEL, sv[0], NULL));
	say("del twice", epoll_ctl(ep, EPOLL_CTL_DEL, sv[0], NULL));
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {0, 50000}};
	setitimer(ITIMER_REAL, &it, NULL);
	say("wait interrupted (never restarted)", epoll_wait(ep, out, 8, 5000));
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	alarmed = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	say("pwait with the signal blocked times out", epoll_pwait(ep, out, 8, 200, &block));
	printf("handler ran after the wait %d\n", (int)alarmed);
	close(ep);
	close(sv[0]);
	close(sv[1]);
	close(pp[0]);
	close(pp[1]);
	close(e);
	close(file);
}

static void epoll_server(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(s, (struct sockaddr *)&a, sizeof a);
	socklen_t len = sizeof a;
	getsockname(s, (struct sockaddr *)&a, &len);
	listen(s, 16);
	enum { N = 5 };
	for (int i = 0; i < N; i++) {
		if (fork() == 0) {
			int c = socket(AF_INET, SOCK_STREAM, 0);
			connect(c, (struct sockaddr *)&a, sizeof a);
			char msg[8], buf[8];
			int l = snprintf(msg, sizeof msg, "c%d", i);
			write(c, msg, l);
			ssize_t n = read(c, buf, sizeof buf);
			_exit(n == l && !memcmp(msg, buf, l) ? 0 : 1);
		}
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	int served = 0, accepted = 0;
	while (served < N) {
		struct epoll_event out[8];
		int n = epoll_wait(ep, out, 8, 10000);
		if (n <= 0) {
			say("epoll_wait", n);
			break;
		}
		for (int i = 0; i < n; i++) {
			if (out[i].data.fd == s) {
				int c;
				while ((c = accept4(s, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					ev = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.fd = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
					accepted++;
				}
			} else {
				char buf[16];
				ssize_t r = read(out[i].data.fd, buf, sizeof buf);
				if (r > 0) {
					write(out[i].data.fd, buf, r);
					served++;
				}
				close(out[i].data.fd);
			}
		}
	}
	int ok = 0, st;
	while (wait(&st) > 0)
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("epoll server: accepted %d served %d clients ok %d\n", accepted, served, ok);
	close(ep);
	close(s);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	eventfds();
	timerfds();
	signalfds();
	epolls();
	epoll_server();
	return 0;
}
