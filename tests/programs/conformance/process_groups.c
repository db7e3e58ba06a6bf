/* Process groups and sessions across a fork: setpgid of a child that has exec'd (EACCES;
 * Lind made it), of a child in a session of its own (EPERM), into a group of another
 * session; setsid twice; waitpid(INT_MIN) (ESRCH; Lind answered ECHILD). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void rep(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1L : r, r < 0 ? errno : 0);
	errno = 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1) { /* exec'd child: wait for the parent to close the pipe */
		char c;
		read(3, &c, 1);
		return 0;
	}
	int gate[2];
	pipe(gate);
	pid_t a = fork();
	if (a == 0) {
		close(gate[1]);
		if (gate[0] != 3) { dup2(gate[0], 3); close(gate[0]); }
		char *args[] = {argv[0], "x", NULL};
		execv("/proc/self/exe", args);
		_exit(9);
	}
	usleep(300000);
	rep("setpgid_execed", setpgid(a, a));
	pid_t b = fork();
	if (b == 0) {
		close(gate[1]);
		rep("child_setsid_is_self", setsid() == getpid());
		rep("child_setsid_again", setsid());
		rep("child_getpgrp_is_self", getpgrp() == getpid());
		rep("child_setpgid_to_parent_group", setpgid(0, getpgid(getppid())));
		char c;
		read(gate[0], &c, 1);
		_exit(0);
	}
	usleep(300000);
	rep("setpgid_other_session", setpgid(b, b));
	rep("setpgid_other_session_join", setpgid(b, getpgrp()));
	rep("getsid_b_is_b", getsid(b) == b);
	rep("join_b_group", setpgid(0, b));
	close(gate[1]);
	int st;
	waitpid(a, &st, 0);
	rep("a_status", WEXITSTATUS(st));
	waitpid(b, &st, 0);
	rep("b_status", WEXITSTATUS(st));
	rep("wait4_intmin", waitpid(-2147483647 - 1, &st, WNOHANG));
	return 0;
}
