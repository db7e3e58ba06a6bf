/* Signals at the edges of their tables: which default actions ignore and which kill,
 * si_code as each sender leaves it, the raw calls' size and `how` checks, and
 * sigaltstack's limits. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

static volatile sig_atomic_t got_code = -99, got_status = -99, got_pid_ok = -99;
static volatile sig_atomic_t got_errno = -99, blocked_inside = -99, hup_inside = -99;
static volatile sig_atomic_t got_uid = -99, got_pid = -99;

static void show(const char *what, long r)
{
	printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0);
}

static void record(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)context;
	got_code = info->si_code;
	got_status = info->si_status;
	got_pid_ok = info->si_pid > 0;
	got_errno = info->si_errno;
	got_uid = (sig_atomic_t)info->si_uid;
	got_pid = info->si_pid;
}

/* Whether the handled signal is blocked while its handler runs. */
static void note_mask(int sig)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	blocked_inside = sigismember(&now, sig);
	hup_inside = sigismember(&now, SIGHUP);
}

static void handle_with(int sig, int flags)
{
	struct sigaction sa = {0};
	sa.sa_handler = note_mask;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
	blocked_inside = -99;
	raise(sig);
	printf("handler flags %#x: signal blocked inside %d, SIGHUP %d\n", flags,
	       (int)blocked_inside, (int)hup_inside);
}

static void catch_with_info(int sig)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = record;
	sa.sa_flags = SA_SIGINFO;
	sigaction(sig, &sa, NULL);
	got_code = got_status = got_pid_ok = -99;
}

/* The default action of `sig`, seen from a child that raises it. */
static void default_action(int sig)
{
	pid_t pid = fork();
	if (pid == 0) {
		raise(sig);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("default %2d: %s %d\n", sig, WIFSIGNALED(status) ? "killed by" : "exit",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static volatile sig_atomic_t nocldstop_runs;
static char alt_mem[65536];
static volatile int on_alt = -1;

static void count_run(int sig)
{
	volatile char here;
	(void)sig;
	nocldstop_runs++;
	on_alt = &here >= alt_mem && &here < alt_mem + sizeof alt_mem;
}

static void quiet(int sig)
{
	(void)sig;
}

/* SA_NOCLDSTOP (bit 0) with a handler: nothing else about the handler changes. */
static void nocldstop_flags(void)
{
	fflush(stdout);          /* the child prints: nothing of ours twice */
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa = {0};
		sa.sa_handler = count_run;
		sa.sa_flags = SA_NOCLDSTOP;
		stack_t ss = {alt_mem, 0, sizeof alt_mem};
		sigaltstack(&ss, NULL);
		sigaction(SIGUSR1, &sa, NULL);
		raise(SIGUSR1);
		raise(SIGUSR1);          /* still handled: not reset to the default */
		int fds[2];
		pipe(fds);
		sa.sa_handler = quiet;
		sigaction(SIGALRM, &sa, NULL);
		alarm(1);
		char c;
		long r = read(fds[0], &c, 1);   /* interrupted, not restarted */
		printf("SA_NOCLDSTOP: ran %d, on the alternate stack %d, read %ld errno %d\n",
		       (int)nocldstop_runs, on_alt, r, errno);
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("  child ended: %s %d\n", WIFSIGNALED(status) ? "by signal" : "exit",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* A process-shared semaphore wait (a futex in shared memory) ends with EINTR when a
 * handler without SA_RESTART runs. */
static void semaphore_interrupted(void)
{
	sem_t *sem = mmap(NULL, sizeof *sem, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	                  -1, 0);
	sem_init(sem, 1, 0);
	struct sigaction sa = {0};
	sa.sa_handler = quiet;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	int r = sem_wait(sem);
	printf("sem_wait interrupted: %d errno %d\n", r, r ? errno : 0);
	signal(SIGALRM, SIG_DFL);
	munmap(sem, sizeof *sem);
}

int main(void)
{
	/* what a signal never touched reports as its action */
	struct sigaction first;
	sigaction(SIGURG, NULL, &first);
	printf("never set: default %d flags %#x mask has SIGHUP %d\n", first.sa_handler == SIG_DFL,
	       (unsigned)first.sa_flags & (SA_NOCLDSTOP | SA_SIGINFO | SA_RESTART | SA_NODEFER |
	                                   SA_RESETHAND | SA_ONSTACK),
	       sigismember(&first.sa_mask, SIGHUP));
	/* start from the defaults, whatever was inherited (nohup ignores SIGHUP) */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < 65; sig++)
		signal(sig, SIG_DFL);
	int ignored[] = {SIGCHLD, SIGCONT, SIGURG, SIGWINCH};
	for (unsigned i = 0; i < sizeof ignored / sizeof *ignored; i++) {
		raise(ignored[i]);
		printf("raise %d: still here\n", ignored[i]);
	}
	int fatal[] = {SIGHUP, SIGINT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT,
	               SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSYS, 35, 40, 64};
	for (unsigned i = 0; i < sizeof fatal / sizeof *fatal; i++)
		default_action(fatal[i]);

	/* si_code by sender */
	catch_with_info(SIGUSR1);
	kill(getpid(), SIGUSR1);
	printf("kill: code %d pid ok %d errno %d\n", got_code, got_pid_ok, got_errno);
	catch_with_info(SIGUSR1);
	raise(SIGUSR1);
	printf("raise: code %d pid ok %d\n", got_code, got_pid_ok);
	catch_with_info(SIGUSR1);
	sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 7});
	printf("sigqueue: code %d pid ok %d\n", got_code, got_pid_ok);
	catch_with_info(SIGALRM);
	alarm(1);
	pause();
	printf("alarm: code %d pid %d uid %d status %d\n", got_code, (int)got_pid, (int)got_uid,
	       (int)got_status);
	catch_with_info(SIGCHLD);
	pid_t pid = fork();
	if (pid == 0)
		_exit(5);
	while (got_code == -99)
		pause();
	waitpid(pid, NULL, 0);
	printf("child exit: code %d status %d pid ok %d\n", got_code, got_status, got_pid_ok);
	catch_with_info(SIGCHLD);
	pid = fork();
	if (pid == 0) {
		raise(SIGTERM);
		_exit(0);
	}
	while (got_code == -99)
		pause();
	waitpid(pid, NULL, 0);
	printf("child killed: code %d status %d\n", got_code, got_status);
	catch_with_info(SIGCHLD);
	pid = fork();
	if (pid == 0) {
		signal(SIGHUP, SIG_DFL);
		raise(SIGHUP);
		_exit(0);
	}
	while (got_code == -99)
		pause();
	waitpid(pid, NULL, 0);
	printf("child killed by SIGHUP: code %d status %d\n", got_code, got_status);
	signal(SIGCHLD, SIG_DFL);

	/* sa_flags: only SA_NODEFER leaves the signal unblocked in its handler */
	handle_with(SIGUSR1, 0);
	handle_with(SIGUSR1, SA_NOCLDSTOP);
	handle_with(SIGUSR1, SA_RESTART | SA_ONSTACK);
	handle_with(SIGUSR1, SA_NODEFER);
	signal(SIGUSR1, SIG_DFL);

	/* the raw calls' checks */
	unsigned char set[16];
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR2);
	memset(set, 0xAA, sizeof set);
	show("rt_sigpending size 4", syscall(SYS_rt_sigpending, set, 4));
	printf("  bytes %02x %02x %02x %02x | %02x\n", set[0], set[1], set[2], set[3], set[4]);
	memset(set, 0xAA, sizeof set);
	show("rt_sigpending size 8", syscall(SYS_rt_sigpending, set, 8));
	printf("  bytes %02x %02x %02x %02x | %02x %02x\n", set[0], set[1], set[2], set[3], set[7], set[8]);
	show("rt_sigpending size 9", syscall(SYS_rt_sigpending, set, 9));
	show("rt_sigpending size 16", syscall(SYS_rt_sigpending, set, 16));
	sigset_t highest, now;
	sigemptyset(&highest);
	sigaddset(&highest, 64);
	sigprocmask(SIG_BLOCK, &highest, NULL);
	kill(getpid(), 64);
	sigpending(&now);
	printf("64 pending while blocked: %d\n", sigismember(&now, 64));
	signal(64, SIG_IGN);      /* ignoring it drops it */
	sigprocmask(SIG_UNBLOCK, &highest, NULL);
	kill(getpid(), 64);       /* ignored and not blocked: discarded as it is sent */
	sigpending(&now);
	printf("64 pending after a kill while ignored: %d\n", sigismember(&now, 64));
	signal(SIGUSR2, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	unsigned char old[8];
	show("rt_sigprocmask bad how, no set", syscall(SYS_rt_sigprocmask, 99, NULL, old, 8));
	show("rt_sigprocmask bad how, a set", syscall(SYS_rt_sigprocmask, 99, old, NULL, 8));
	show("rt_sigprocmask size 4", syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, old, 4));

	/* a ppoll or pselect with a mask that times out gives the caller's mask back */
	sigset_t during, after;
	sigemptyset(&during);
	sigaddset(&during, SIGUSR1);
	struct timespec brief = {0, 5000000};
	show("ppoll with a mask", ppoll(NULL, 0, &brief, &during));
	sigprocmask(SIG_BLOCK, NULL, &after);
	printf("  USR1 blocked after: %d\n", sigismember(&after, SIGUSR1));
	show("pselect with a mask", pselect(0, NULL, NULL, NULL, &brief, &during));
	sigprocmask(SIG_BLOCK, NULL, &after);
	printf("  USR1 blocked after: %d\n", sigismember(&after, SIGUSR1));

	/* sigtimedwait with no siginfo to fill */
	sigset_t wanted;
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGUSR2);
	signal(SIGUSR2, SIG_DFL);
	sigprocmask(SIG_BLOCK, &wanted, NULL);
	raise(SIGUSR2);
	show("sigtimedwait without info", sigtimedwait(&wanted, NULL, &brief));
	show("sigtimedwait without info, nothing pending", sigtimedwait(&wanted, NULL, &brief));
	/* the siginfo written is the whole 128 bytes, and nothing past them */
	struct { siginfo_t info; unsigned char after[8]; } filled;
	memset(&filled, 0xAA, sizeof filled);
	raise(SIGUSR2);
	show("sigtimedwait into a siginfo with bytes after it", sigtimedwait(&wanted, &filled.info, &brief));
	printf("  sizeof %zu, its last byte %#x, the byte after %#x\n", sizeof filled.info,
	       ((unsigned char *)&filled.info)[sizeof filled.info - 1], filled.after[0]);
	sigprocmask(SIG_UNBLOCK, &wanted, NULL);

	/* the highest signal, 64, runs its handler too */
	got_code = -99;
	catch_with_info(64);
	show("raise 64", raise(64));
	printf("  handled, code %d\n", got_code);

	/* tgkill: the thread group and thread of the caller, both checked */
	catch_with_info(SIGUSR1);
	show("tgkill self", syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1));
	printf("  code %d\n", got_code);
	show("tgkill wrong group", syscall(SYS_tgkill, 999999, getpid(), SIGUSR1));
	show("tgkill wrong thread", syscall(SYS_tgkill, getpid(), 999999, SIGUSR1));
	show("tkill wrong thread", syscall(SYS_tkill, 999999, SIGUSR1));

	/* kill(-pgid): every member of the group, not the caller's own group */
	pid_t leader = fork();
	if (leader == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	setpgid(leader, leader);
	show("kill the group", kill(-leader, SIGTERM));
	int status;
	waitpid(leader, &status, 0);
	printf("  leader killed by %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	show("kill a group that is gone", kill(-leader, SIGTERM));

	/* kill(0): every process of the caller's group, the caller too (a group of its own
	 * first, so that natively it reaches nothing else) */
	show("setpgid", setpgid(0, 0));
	catch_with_info(SIGUSR2);
	int ready[2];
	pipe(ready);
	pid_t member = fork();
	if (member == 0) {
		close(ready[0]);
		write(ready[1], "r", 1);
		while (got_code == -99)
			pause();
		_exit(got_code == SI_USER ? 11 : 12);
	}
	close(ready[1]);
	char token;
	read(ready[0], &token, 1);
	close(ready[0]);
	show("kill(0, SIGUSR2)", kill(0, SIGUSR2));
	waitpid(member, &status, 0);
	printf("  the caller got it %d, the group member exited %d\n", got_code == SI_USER,
	       WEXITSTATUS(status));
	signal(SIGUSR2, SIG_DFL);

	nocldstop_flags();
	semaphore_interrupted();

	/* kill and sigqueue targets */
	show("kill 0 with signal 0", kill(0, 0));
	show("kill nobody", kill(999999, 0));
	show("kill bad signal", kill(getpid(), 65));
	show("kill signal -1", kill(getpid(), -1));
	struct sigaction untouched;
	sigaction(SIGURG, NULL, &untouched);
	printf("SIGURG: default %d mask empty %d\n", untouched.sa_handler == SIG_DFL,
	       !sigismember(&untouched.sa_mask, SIGHUP) && !sigismember(&untouched.sa_mask, SIGINT));
	show("sigaction signal 0", sigaction(0, NULL, &untouched));
	show("sigaction signal 65", sigaction(65, NULL, &untouched));
	show("kill signal 64", kill(getpid(), 0) == 0 ? 0 : -1);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_code = SI_QUEUE;
	show("rt_sigqueueinfo pid 0", syscall(SYS_rt_sigqueueinfo, 0, SIGUSR2, &si));
	show("rt_sigqueueinfo pid -1", syscall(SYS_rt_sigqueueinfo, -1, SIGUSR2, &si));
	show("rt_sigqueueinfo signal 65", syscall(SYS_rt_sigqueueinfo, getpid(), 65, &si));
	show("rt_sigqueueinfo signal -1", syscall(SYS_rt_sigqueueinfo, getpid(), -1, &si));

	/* sigaltstack */
	static char stack_mem[65536];
	stack_t ss = {0}, got;
	show("sigaltstack query", sigaltstack(NULL, &got));
	printf("  flags %d size %zu sp null %d\n", got.ss_flags, got.ss_size, got.ss_sp == NULL);
	ss.ss_sp = stack_mem;
	ss.ss_size = 2047;      /* Linux's MINSIGSTKSZ is 2048 */
	show("sigaltstack 2047", sigaltstack(&ss, NULL));
	ss.ss_size = 2048;
	show("sigaltstack 2048", sigaltstack(&ss, NULL));
	ss.ss_size = 1024;
	show("sigaltstack too small", sigaltstack(&ss, NULL));
	ss.ss_flags = SS_DISABLE;
	show("sigaltstack too small but disabling", sigaltstack(&ss, NULL));
	ss.ss_flags = 0;
	ss.ss_size = sizeof stack_mem;
	ss.ss_flags = SS_ONSTACK;
	show("sigaltstack SS_ONSTACK", sigaltstack(&ss, NULL));
	ss.ss_flags = 12345;
	show("sigaltstack bad flags", sigaltstack(&ss, NULL));
	sigaltstack(NULL, &got);
	printf("  flags %d size %zu same %d\n", got.ss_flags, got.ss_size, got.ss_sp == stack_mem);
	ss.ss_flags = SS_AUTODISARM;
	show("sigaltstack SS_AUTODISARM", sigaltstack(&ss, NULL));
	sigaltstack(NULL, &got);
	printf("  flags %#x\n", (unsigned)got.ss_flags);
	ss.ss_flags = SS_DISABLE;
	show("sigaltstack disable", sigaltstack(&ss, NULL));
	sigaltstack(NULL, &got);
	printf("  flags %d\n", got.ss_flags);
	return 0;
}
