/* Process and resource calls, printed so that Linux and a cage agree whatever the
 * machine: relations, not raw times, counts or ids.
 *   usage: limits (RLIMIT_NOFILE enforced), getrusage of itself and of reaped children,
 *          wait4's rusage, times, time, sysinfo, affinity, getcpu, nice values, prctl,
 *          personality, waitid (WNOWAIT, WNOHANG, P_PGID, a killed child), vfork, the
 *          parent-death signal.
 *   ids:   (as root) setresuid and its kin, what get* say after them, across fork,
 *          Linux's rules once no id is 0, capabilities, dumpable.
 *   cpus:  the CPUs a program sees (sysconf, sched_getaffinity). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0);
}

static volatile unsigned long sink;

/* CPU time spent without calls: about `ms` of it, checking the clock seldom */
static void spin(int ms)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (unsigned long i = 0; i < 2000000; i++)
			sink += i * i;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static long us(struct timeval t)
{
	return t.tv_sec * 1000000L + t.tv_usec;
}

static void limits(void)
{
	struct rlimit r, old;
	say("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &r));
	printf("soft <= hard %d\n", r.rlim_cur <= r.rlim_max);
	struct rlimit few = {16, r.rlim_max};
	say("setrlimit NOFILE 16", setrlimit(RLIMIT_NOFILE, &few));
	int last = -1;
	for (int i = 0; i < 20; i++) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0) {
			printf("open past the limit: errno %d, highest fd %d\n", errno, last);
			break;
		}
		last = fd;
	}
	for (int fd = 3; fd <= last; fd++)
		close(fd);
	say("prlimit64 reads it", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &old));
	printf("soft now %llu\n", (unsigned long long)old.rlim_cur);
	setrlimit(RLIMIT_NOFILE, &r);
	struct rlimit bad = {10, 5};
	say("soft above hard", setrlimit(RLIMIT_CORE, &bad));
	say("no such resource", getrlimit(99, &r));
	say("getrlimit NULL", syscall(SYS_getrlimit, RLIMIT_CORE, NULL));
	getrlimit(RLIMIT_CORE, &r);
	struct rlimit lower = {0, r.rlim_max};
	say("lower CORE's soft", setrlimit(RLIMIT_CORE, &lower));
	pid_t child = fork();
	if (child == 0) {
		struct rlimit mine;
		getrlimit(RLIMIT_CORE, &mine);
		_exit(mine.rlim_cur == 0 ? 0 : 1);
	}
	int st;
	waitpid(child, &st, 0);
	printf("inherited by fork %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	say("prlimit64 of a reaped child", syscall(SYS_prlimit64, child, RLIMIT_CORE, NULL, &old));
}

static void usage(void)
{
	spin(120);
	struct rusage ru;
	say("getrusage self", getrusage(RUSAGE_SELF, &ru));
	printf("cpu time > 0 %d, maxrss > 0 %d\n", us(ru.ru_utime) + us(ru.ru_stime) > 0,
	       ru.ru_maxrss > 0);
	struct rusage thread;
	say("getrusage thread", getrusage(1, &thread));
	say("getrusage bad", getrusage(5, &ru));
	struct rusage kids;
	getrusage(RUSAGE_CHILDREN, &kids);
	long before = us(kids.ru_utime) + us(kids.ru_stime);
	pid_t child = fork();
	if (child == 0) {
		spin(120);
		_exit(0);
	}
	struct rusage its;
	int st;
	say("wait4 with rusage", wait4(child, &st, 0, &its) == child);
	printf("child's cpu time > 0 %d\n", us(its.ru_utime) + us(its.ru_stime) > 0);
	getrusage(RUSAGE_CHILDREN, &kids);
	printf("children's grew %d\n", us(kids.ru_utime) + us(kids.ru_stime) > before);
	struct tms t;
	clock_t now = times(&t);
	printf("times: not -1 %d, own ticks > 0 %d, children's > 0 %d\n", now != (clock_t)-1,
	       t.tms_utime + t.tms_stime > 0, t.tms_cutime + t.tms_cstime > 0);
	clock_t used = clock();               /* CPU time: a sleep adds (almost) none */
	usleep(200000);
	printf("clock() moves while sleeping < 50 ms %d, has run > 0 %d\n",
	       (clock() - used) * 1000 / CLOCKS_PER_SEC < 50, used > 0);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	time_t stored = 0, got = time(&stored);
	printf("time agrees %d %d\n", got == stored, labs((long)(got - tv.tv_sec)) <= 1);
	struct sysinfo si;
	say("sysinfo", sysinfo(&si));
	printf("uptime > 0 %d, free <= total %d, total > 0 %d, procs >= 1 %d, unit >= 1 %d\n",
	       si.uptime > 0, si.freeram <= si.totalram, si.totalram > 0, si.procs >= 1,
	       si.mem_unit >= 1);
}

static void scheduling(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	long n = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
	printf("getaffinity: bytes > 0 %d, cpu 0 in it %d\n", n > 0, CPU_ISSET(0, &set));
	say("getaffinity of 4 bytes", syscall(SYS_sched_getaffinity, 0, 4, &set));
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	say("setaffinity to cpu 0", sched_setaffinity(0, sizeof set, &set));
	CPU_ZERO(&set);
	say("setaffinity to none", sched_setaffinity(0, sizeof set, &set));
	unsigned cpu = 99, node = 99;
	say("getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
	setpgid(0, 0);
	errno = 0;
	say("nice", getpriority(PRIO_PROCESS, 0));
	say("setpriority 5", setpriority(PRIO_PROCESS, 0, 5));
	say("nice now", getpriority(PRIO_PROCESS, 0));
	say("raw getpriority (20 - nice)", syscall(SYS_getpriority, PRIO_PROCESS, 0));
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	say("child's nice, inherited", getpriority(PRIO_PROCESS, child));
	setpriority(PRIO_PROCESS, child, 7);
	say("group's nice (the highest priority)", getpriority(PRIO_PGRP, 0));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	say("bad which", getpriority(9, 0));
	say("reaped child", getpriority(PRIO_PROCESS, child));
	say("sched_yield", sched_yield());
}

static int pipe_fds[2];

static void on_parent_death(int sig)
{
	(void)sig;
	write(pipe_fds[1], "d", 1);
}

static void process_calls(void)
{
	char name[32] = "";
	say("PR_GET_NAME", prctl(PR_GET_NAME, name));
	printf("default name set %d\n", name[0] != 0);
	say("PR_SET_NAME", prctl(PR_SET_NAME, "a-very-long-worker-name"));
	memset(name, 'x', sizeof name);
	prctl(PR_GET_NAME, name);
	printf("name %s\n", name);
	say("dumpable", prctl(PR_GET_DUMPABLE));
	say("dumpable 2", prctl(PR_SET_DUMPABLE, 2));
	say("pdeathsig 99", prctl(PR_SET_PDEATHSIG, 99));
	say("capbset read", prctl(PR_CAPBSET_READ, 0));
	say("unknown option", prctl(12345, 0, 0, 0, 0));
	say("no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	say("personality query", personality(0xffffffff));

	pipe(pipe_fds);
	pid_t middle = fork();
	if (middle == 0) {
		if (fork() == 0) {
			struct sigaction sa = {.sa_handler = on_parent_death};
			sigemptyset(&sa.sa_mask);
			sigaction(SIGUSR1, &sa, NULL);
			prctl(PR_SET_PDEATHSIG, SIGUSR1);
			int sig = 0;
			prctl(PR_GET_PDEATHSIG, &sig);
			write(pipe_fds[1], sig == SIGUSR1 ? "s" : "?", 1);
			for (int i = 0; i < 200; i++)
				usleep(10000);
			_exit(0);
		}
		char c;
		read(pipe_fds[0], &c, 1);       /* the grandchild asked for its signal */
		_exit(c == 's' ? 0 : 1);
	}
	int st;
	waitpid(middle, &st, 0);
	close(pipe_fds[1]);
	char c = 0;
	read(pipe_fds[0], &c, 1);
	printf("parent-death signal came %d\n", c == 'd');
	close(pipe_fds[0]);
}

static void waits(void)
{
	pid_t child = fork();
	if (child == 0)
		_exit(3);
	siginfo_t si;
	memset(&si, 0xff, sizeof si);
	say("waitid WNOWAIT", waitid(P_PID, child, &si, WEXITED | WNOWAIT));
	printf("signo SIGCHLD %d, pid %d, code %d, status %d\n", si.si_signo == SIGCHLD,
	       si.si_pid == child, si.si_code, si.si_status);
	memset(&si, 0, sizeof si);
	say("waitid again", waitid(P_PID, child, &si, WEXITED));
	printf("same child %d, status %d\n", si.si_pid == child, si.si_status);
	say("waitid after the reap", waitid(P_PID, child, &si, WEXITED));
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	memset(&si, 0xff, sizeof si);
	say("waitid WNOHANG", waitid(P_ALL, 0, &si, WEXITED | WNOHANG));
	printf("nothing yet: pid %d signo %d\n", si.si_pid, si.si_signo);
	say("WSTOPPED alone, WNOHANG", waitid(P_ALL, 0, &si, WSTOPPED | WNOHANG));
	kill(child, SIGTERM);
	say("waitid a killed child", waitid(P_ALL, 0, &si, WEXITED));
	printf("code killed %d, signal %d\n", si.si_code == CLD_KILLED, si.si_status);
	child = fork();
	if (child == 0) {
		setpgid(0, 0);
		usleep(50000);
		_exit(4);
	}
	setpgid(child, child);
	say("waitid P_PGID", waitid(P_PGID, child, &si, WEXITED));
	printf("its status %d\n", si.si_status);
	say("no options", waitid(P_ALL, 0, &si, 0));
	say("bad idtype", waitid(7, 0, &si, WEXITED));
	say("P_PID 0", waitid(P_PID, 0, &si, WEXITED));
	say("wait4 bad option", wait4(-1, NULL, 0x100, NULL));
	child = fork();
	if (child == 0)
		_exit(5);
	int st;
	say("wait4 of my group", wait4(0, &st, 0, NULL) == child);
	child = vfork();
	if (child == 0)
		_exit(7);
	waitpid(child, &st, 0);
	printf("vfork child exit %d\n", WEXITSTATUS(st));
}

static void cap_state(const char *when)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	syscall(SYS_capget, &h, d);
	printf("%s: effective %d permitted %d\n", when, d[0].effective != 0, d[0].permitted != 0);
}

static void ids(void)
{
	uid_t r, e, s;
	getresuid(&r, &e, &s);
	printf("uids %u %u %u\n", r, e, s);
	cap_state("root");
	struct __user_cap_header_struct h = {0x1234, 0};
	say("capget probe", syscall(SYS_capget, &h, NULL));
	printf("version told %#x\n", h.version);
	gid_t groups[4] = {50, 30};
	say("setgroups", setgroups(2, groups));
	memset(groups, 0, sizeof groups);
	int n = getgroups(4, groups);
	printf("groups %d: %u %u\n", n, groups[0], groups[1]);
	say("getgroups too small", getgroups(1, groups));
	say("setresgid", setresgid(10, 11, 12));
	gid_t gr, ge, gs;
	getresgid(&gr, &ge, &gs);
	printf("gids %u %u %u, getgid %u getegid %u\n", gr, ge, gs, getgid(), getegid());
	say("seteuid 1000", seteuid(1000));
	cap_state("euid 1000");
	say("dumpable", prctl(PR_GET_DUMPABLE));
	say("seteuid back to 0", seteuid(0));
	cap_state("euid 0 again");
	pid_t child = fork();
	if (child == 0) {
		getresgid(&gr, &ge, &gs);
		printf("child gids %u %u %u\n", gr, ge, gs);
		say("setresuid", setresuid(1000, 1001, 1002));
		getresuid(&r, &e, &s);
		printf("uids %u %u %u, getuid %u geteuid %u\n", r, e, s, getuid(), geteuid());
		cap_state("no id 0");
		say("setuid 0", setuid(0));
		say("setuid to the saved", setuid(1002));
		getresuid(&r, &e, &s);
		printf("uids %u %u %u\n", r, e, s);
		say("setreuid swap", setreuid(1002, 1000));
		getresuid(&r, &e, &s);
		printf("uids %u %u %u\n", r, e, s);
		say("setresuid to a stranger", setresuid(-1, 4242, -1));
		say("setgroups", setgroups(0, NULL));
		say("lower nice", setpriority(PRIO_PROCESS, 0, -1));
		struct rlimit rl;
		getrlimit(RLIMIT_CORE, &rl);
		rl.rlim_max = RLIM_INFINITY;
		rl.rlim_cur = 0;
		struct rlimit low = {0, 0};
		setrlimit(RLIMIT_CORE, &low);
		say("raise a hard limit", setrlimit(RLIMIT_CORE, &rl));
		say("setgid -1", setgid(-1));
		_exit(0);
	}
	waitpid(child, NULL, 0);
	say("setuid 77", setuid(77));
	getresuid(&r, &e, &s);
	printf("uids %u %u %u\n", r, e, s);
	say("setuid 0 after", setuid(0));
}

static void cpus(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	sched_getaffinity(0, sizeof set, &set);
	printf("%ld %ld %d %d\n", sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_NPROCESSORS_CONF),
	       CPU_COUNT(&set), get_nprocs());
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *mode = argc > 1 ? argv[1] : "usage";
	if (!strcmp(mode, "ids")) {
		ids();
	} else if (!strcmp(mode, "cpus")) {
		cpus();
	} else {
		limits();
		usage();
		scheduling();
		process_calls();
		waits();
	}
	return 0;
}
