/* make_threei_call names another cage's memory as an argument: a cage may name its
 * own and its descendants' memory only. The parent forks a sibling, then this cage;
 * this cage writes to its stdout through make_threei_call(write) the buffer at the
 * same address in its sibling (refused: EPERM, nothing written), in its own child
 * and in itself (both allowed). Prints "WHAT RESULT ERRNO" after each. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEN 16
static char buf[LEN];

/* A cage that puts `text` in its buf and keeps it there until *release is closed. */
static pid_t holder(const char *text, int *release)
{
	int ready[2], go[2];
	pipe(ready);
	pipe(go);
	pid_t pid = fork();
	char c;
	if (pid == 0) {
		close(go[1]);
		memcpy(buf, text, LEN);
		write(ready[1], "r", 1);
		read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	read(ready[0], &c, 1);
	close(ready[0]);
	close(ready[1]);
	*release = go[1];
	return pid;
}

static void report(const char *what, int r)
{
	printf("%s %d %d\n", what, r, r < 0 ? errno : 0);
	errno = 0;
}

static int write_from(uint64_t owner)
{
	uint64_t me = getpid();
	return make_threei_call(SYS_write, 0, me, me, 1, me, (uint64_t)(uintptr_t)buf, owner,
	                        LEN, me, 0, me, 0, me, 0, me, 1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int release_sibling, release_child;
	pid_t sibling = holder("SIBLING-SECRET!\n", &release_sibling);
	pid_t me = fork();
	if (me == 0) {
		memcpy(buf, "own-buffer.....\n", LEN);
		report("sibling", write_from(sibling));
		close(release_sibling);
		pid_t child = holder("from-own-child.\n", &release_child);
		report("child", write_from(child));
		report("self", write_from(getpid()));
		close(release_child);
		waitpid(child, NULL, 0);
		_exit(0);
	}
	int status;
	waitpid(me, &status, 0);
	close(release_sibling);
	waitpid(sibling, NULL, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
