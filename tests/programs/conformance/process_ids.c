/* Signals and groups naming another process of the caller's: tkill and tgkill of a
 * child's thread (Lind answered ESRCH: only the caller's own threads), tgkill naming a
 * thread of another process, setpgid into a group that does not exist (Lind made it),
 * rt_sigqueueinfo's codes and prctl's parent-death signal. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void rep(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1L : r, r < 0 ? errno : 0);
	errno = 0;
}

static volatile sig_atomic_t got, gotval;
static void on_usr1(int s, siginfo_t *si, void *c) { (void)s; (void)c; got++; gotval = si->si_value.sival_int; }

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int gate[2];
	pipe(gate);
	pid_t a = fork();
	if (a == 0) {
		struct sigaction sa = {0};
		sa.sa_sigaction = on_usr1;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGUSR1, &sa, 0);
		close(gate[1]);
		char c;
		while (read(gate[0], &c, 1) < 0) ;
		_exit(got * 10 + (gotval == 42));
	}
	close(gate[0]);
	usleep(100000);
	rep("tkill_child", syscall(SYS_tkill, a, 0));
	rep("tgkill_child", syscall(SYS_tgkill, a, a, 0));
	rep("tgkill_mine_child", syscall(SYS_tgkill, getpid(), a, 0));
	rep("tgkill_child_mine", syscall(SYS_tgkill, a, getpid(), 0));
	rep("setpgid_none", setpgid(a, 999999));
	rep("setpgid_neg", setpgid(a, -1));
	rep("setpgid_self_grp", setpgid(a, a) );
	rep("getpgid_is_a", getpgid(a) == a);
	rep("setpgid_join", setpgid(0, a));
	rep("getpgrp_is_a", getpgrp() == a);
	rep("setpgid_back", setpgid(0, 0));
	rep("getsid_same", getsid(a) == getsid(0));
	rep("getpgid_none", getpgid(999999));
	rep("getsid_none", getsid(999999));
	rep("kill_grp0", kill(-a, 0));
	rep("kill_badsig", kill(a, 65));
	rep("kill_negsig", kill(a, -1));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_code = SI_QUEUE;
	si.si_value.sival_int = 42;
	si.si_pid = getpid();
	si.si_uid = getuid();
	rep("sigqueue_child", syscall(SYS_rt_sigqueueinfo, a, SIGUSR1, &si));
	si.si_code = SI_USER;
	rep("sigqueue_si_user", syscall(SYS_rt_sigqueueinfo, a, SIGUSR1, &si));
	si.si_code = SI_TKILL;
	rep("sigqueue_si_tkill", syscall(SYS_rt_sigqueueinfo, a, SIGUSR1, &si));
	si.si_code = SI_QUEUE;
	rep("tgsigqueue_child", syscall(SYS_rt_tgsigqueueinfo, a, a, SIGUSR1, &si));
	rep("tgsigqueue_mismatch", syscall(SYS_rt_tgsigqueueinfo, a, getpid(), SIGUSR1, &si));
	rep("sigqueue_zero", syscall(SYS_rt_sigqueueinfo, a, 0, &si));
	rep("pdeath_bad", prctl(PR_SET_PDEATHSIG, 65));
	rep("pdeath_ok", prctl(PR_SET_PDEATHSIG, SIGUSR2));
	int v = -1;
	rep("pdeath_get", prctl(PR_GET_PDEATHSIG, &v));
	printf("pdeath %d\n", v);
	rep("pdeath_clear", prctl(PR_SET_PDEATHSIG, 0));
	usleep(100000);
	close(gate[1]);
	int st;
	rep("waitid_pgid_other", waitid(P_PGID, 999999, &(siginfo_t){0}, WEXITED | WNOHANG));
	rep("wait", waitpid(a, &st, 0) == a);
	printf("status %d\n", WEXITSTATUS(st));
	rep("kill_reaped", kill(a, 0));
	rep("setpgid_reaped", setpgid(a, a));
	rep("waitid_none", waitid(P_ALL, 0, &(siginfo_t){0}, WEXITED | WNOHANG));
	return 0;
}
