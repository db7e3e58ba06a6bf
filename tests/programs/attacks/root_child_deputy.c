/* A cage that was root keeps a root child and gives up root itself (setresuid to
 * 1000): it may not open another user's 0600 file ("secret" in the working
 * directory), nor may it make calls as its root child through make_threei_call, nor
 * read the child's memory (where the child read the secret), as a Linux process may
 * not ptrace a child of more privilege than its own. With arguments R E S, the child
 * first makes its real, effective and saved uids those (setresuid): Linux lets the
 * parent act for it only if all three are the parent's real uid. Prints "WHAT RESULT
 * ERRNO" and whatever of the secret came through ("got: ..."). */
#include <stdlib.h>
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1L : r, r < 0 ? errno : 0);
	errno = 0;
}

static char held[64];    /* the child's copy of the secret, at the same address here */

static long as_child(pid_t child, int nr, uint64_t a1, uint64_t c1, uint64_t a2, uint64_t c2,
		     uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4)
{
	uint64_t me = getpid();
	return make_threei_call(nr, 0, me, child, a1, c1, a2, c2, a3, c3, a4, c4, 0, child, 0,
				child, 1);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int go[2], ready[2];
	char c;
	pipe(go);
	pipe(ready);
	pid_t child = fork();
	if (child == 0) {
		char c;
		int own = open("secret", O_RDONLY);     /* root may: its copy in its memory */
		if (own >= 0)
			read(own, held, sizeof held - 1);
		if (argc > 3 && setresuid(atoi(argv[1]), atoi(argv[2]), atoi(argv[3])) != 0)
			_exit(3);
		close(go[1]);
		write(ready[1], "r", 1);
		read(go[0], &c, 1);     /* stays root, waiting, until its parent is done */
		_exit(0);
	}
	close(go[0]);
	read(ready[0], &c, 1);
	report("setresuid 1000", setresuid(1000, 1000, 1000));
	report("open secret", open("secret", O_RDONLY));
	static const char path[] = "secret";
	static char buf[64];
	uint64_t me = getpid();
	long fd = as_child(child, SYS_openat, (uint64_t)AT_FDCWD, child,
			   (uint64_t)(uintptr_t)path, me, O_RDONLY, child, 0, child);
	report("openat as the root child", fd);
	if (fd >= 0) {
		long n = as_child(child, SYS_read, (uint64_t)fd, child, (uint64_t)(uintptr_t)buf, me,
				  sizeof buf - 1, child, 0, child);
		report("read as the root child", n);
		if (n > 0)
			printf("got: %s", buf);
	}
	report("copy the child's memory",
	       copy_data_between_cages(me, me, (uint64_t)(uintptr_t)held, child,
				       (uint64_t)(uintptr_t)buf, me, sizeof held, COPY_RAW));
	if (buf[0])
		printf("got: %s", buf);
	report("write the child's memory to stdout",
	       make_threei_call(SYS_write, 0, me, me, 1, me, (uint64_t)(uintptr_t)held, child,
				sizeof held - 1, me, 0, me, 0, me, 0, me, 1));
	close(go[1]);
	waitpid(child, NULL, 0);
	return 0;
}
