/* A grate whose getppid handler blocks in a host call made for it by the microvisor
 * (argv[1] picks which: a pipe read, nanosleep, pause, a futex wait, accept, poll, wait)
 * on the calling cage's thread, where nothing will ever wake it: the run's timeout
 * must still end the cages and give the thread back. */
#define _GNU_SOURCE
#include <lind_syscall.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr;
	return fn(cageid);
}

static int how, p[2], listener;
static int word;

int getppid_handler(uint64_t cageid)
{
	char c;
	struct timespec t = {1000, 0};
	switch (how) {
	case 0: return read(p[0], &c, 1);
	case 1: return nanosleep(&t, 0);
	case 2: return pause();
	case 3: return syscall(SYS_futex, &word, 0 /* FUTEX_WAIT */, 0, 0, 0, 0);
	case 4: return accept(listener, 0, 0);
	case 5: return poll(0, 0, -1);
	case 6: { int st; return wait(&st); }   /* for a child that pauses */
	}
	return 0;
}

int main(int argc, char **argv)
{
	how = atoi(argv[1]);
	pipe(p);
	listener = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un { unsigned short f; char path[108]; } a = {AF_UNIX, "sock"};
	unlink("sock");
	bind(listener, (void *)&a, sizeof a);
	listen(listener, 1);
	int grate = getpid();
	if (how == 6 && fork() == 0) { pause(); return 0; }
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SYS_getppid, grate, (uint64_t)(uintptr_t)&getppid_handler);
		return getppid();
	}
	int status;
	waitpid(pid, &status, 0);
	return 0;
}
