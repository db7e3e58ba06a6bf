/* posix_spawn, posix_spawnp, system and popen against a native run: file actions,
 * attributes (mask, default dispositions, process group), errors, and the shell.
 * Run as `spawn`; it spawns itself (/proc/self/exe) as `spawn child`.  In a cage the
 * same program is also /bin/sh, where it understands `-c 'exit N'` and `-c 'echo ...'`,
 * which is all that system() and popen() below ask of a real shell. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void on_usr2(int sig) { (void)sig; }

static int child(void)
{
	char buf[32] = {0};
	sigset_t mask;
	struct sigaction sa;

	ssize_t n = read(5, buf, sizeof buf - 1);
	sigprocmask(SIG_BLOCK, 0, &mask);
	sigaction(SIGUSR2, 0, &sa);
	printf("child: fd5 read %zd '%s', usr1 blocked %d, usr2 default %d, own group %d, "
	       "fd 6 open %d\n", n, buf, sigismember(&mask, SIGUSR1),
	       sa.sa_handler == SIG_DFL, getpgrp() == getpid(), fcntl(6, F_GETFD) >= 0);
	return 7;
}

static int shell(const char *cmd)
{
	if (!strncmp(cmd, "exit ", 5))
		return atoi(cmd + 5);
	if (!strncmp(cmd, "echo ", 5)) {
		printf("%s\n", cmd + 5);
		return 0;
	}
	return 127;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "child"))
		return child();
	if (argc == 3 && !strcmp(argv[1], "-c"))
		return shell(argv[2]);
	setvbuf(stdout, NULL, _IONBF, 0);

	int p[2];
	pipe(p);
	int file = open("data", O_CREAT | O_TRUNC | O_RDWR, 0600);
	write(file, "from the file", 13);
	close(file);
	signal(SIGUSR2, on_usr2);
	int six = dup2(1, 6);            /* open in the parent, closed for the child */

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 5, "data", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	posix_spawn_file_actions_addclose(&fa, p[1]);
	posix_spawn_file_actions_addclose(&fa, six);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	posix_spawnattr_setsigmask(&at, &s);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	posix_spawnattr_setsigdefault(&at, &s);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
	                         | POSIX_SPAWN_SETPGROUP);
	char *args[] = {"spawn", "child", 0};
	pid_t pid = -1;
	int r = posix_spawn(&pid, "/proc/self/exe", &fa, &at, args, environ);
	close(p[1]);
	char line[256] = {0};
	ssize_t got = 0, n;
	while ((n = read(p[0], line + got, sizeof line - 1 - got)) > 0)
		got += n;
	int status = -1, waited = waitpid(pid, &status, 0) == pid;
	printf("spawn: r=%d, waited %d, exit %d\n", r, waited, WEXITSTATUS(status));
	printf("%s", line);
	close(p[0]);

	pid = -1;
	r = posix_spawn(&pid, "/no/such/program", 0, 0, args, environ);
	printf("missing: %s, pid %d, no child left %d\n", strerror(r), pid,
	       waitpid(-1, 0, WNOHANG) < 0 && errno == ECHILD);
	posix_spawn_file_actions_t bad;
	posix_spawn_file_actions_init(&bad);
	posix_spawn_file_actions_addopen(&bad, 5, "no-such-file", O_RDONLY, 0);
	r = posix_spawn(&pid, "/proc/self/exe", &bad, 0, args, environ);
	printf("failed file action: %s\n", strerror(r));
	r = posix_spawnp(&pid, "no-such-program-on-the-path", 0, 0, args, environ);
	printf("spawnp missing: %s\n", strerror(r));

	status = system("exit 4");
	printf("system: exited %d status %d\n", WIFEXITED(status), WEXITSTATUS(status));
	FILE *f = popen("echo through popen", "r");
	if (!f) {
		printf("popen: %s\n", strerror(errno));
		return 0;
	}
	printf("popen: %s", fgets(line, sizeof line, f) ? line : "(nothing)\n");
	printf("pclose: %d\n", WEXITSTATUS(pclose(f)));
	return 0;
}
