/* A root cage makes a message queue of group 50 (mode 0640, owner root) with a message
 * in it and a child that keeps group 50 when it gives up root (setresgid 50, then
 * setresuid 1000); then the cage gives up root for uid and gid 1000 itself. The queue
 * is closed to it (msgrcv: EACCES), and on Linux it could not ptrace the child (whose gids are
 * not its own), so it may not make calls as that child through make_threei_call (a
 * msgget and msgrcv with the child's group), nor read the child's memory. Prints
 * "WHAT RESULT ERRNO" and whatever came through ("got: ..."). */
#define _GNU_SOURCE
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEY 0x6c1d

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1L : r, r < 0 ? errno : 0);
	errno = 0;
}

static struct {
	long type;
	char text[32];
} message = {1, "GROUP-SECRET\n"}, got;

static char held[32];    /* the child's copy of the message, at the same address here */

static long as_child(pid_t child, int nr, uint64_t a1, uint64_t c1, uint64_t a2, uint64_t c2,
		     uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4, uint64_t a5, uint64_t c5)
{
	uint64_t me = getpid();
	return make_threei_call(nr, 0, me, child, a1, c1, a2, c2, a3, c3, a4, c4, a5, c5, 0,
				child, 1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	report("setresgid for the queue", setresgid(-1, 50, -1));
	int q = msgget(KEY, IPC_CREAT | IPC_EXCL | 0640);
	report("msgget group 50", q < 0 ? -1 : 0);
	report("msgsnd", msgsnd(q, &message, sizeof message.text, 0));
	int go[2], ready[2];
	char c;
	pipe(go);
	pipe(ready);
	pid_t child = fork();
	if (child == 0) {
		char c;
		setresgid(50, 50, 50);
		setresuid(1000, 1000, 1000);
		memcpy(held, "CHILD-MEMORY\n", 14);
		close(go[1]);
		write(ready[1], "r", 1);
		read(go[0], &c, 1);     /* waits until its parent is done */
		_exit(0);
	}
	close(go[0]);
	read(ready[0], &c, 1);
	report("setresgid 1000", setresgid(1000, 1000, 1000));
	report("setresuid 1000", setresuid(1000, 1000, 1000));
	report("msgrcv", msgrcv(q, &got, sizeof got.text, 0, IPC_NOWAIT));
	uint64_t me = getpid();
	long id = as_child(child, SYS_msgget, KEY, child, 0, child, 0, child, 0, child, 0, child);
	report("msgget as the child", id < 0 ? id : 0);
	if (id >= 0) {
		long n = as_child(child, SYS_msgrcv, (uint64_t)id, child,
				  (uint64_t)(uintptr_t)&got, me, sizeof got.text, child, 0, child,
				  IPC_NOWAIT, child);
		report("msgrcv as the child", n);
		if (n > 0)
			printf("got: %s", got.text);
	}
	report("copy the child's memory",
	       copy_data_between_cages(me, me, (uint64_t)(uintptr_t)held, child,
				       (uint64_t)(uintptr_t)got.text, me, sizeof held, COPY_RAW));
	if (got.text[0])
		printf("got: %s", got.text);
	close(go[1]);
	waitpid(child, NULL, 0);
	return 0;
}
