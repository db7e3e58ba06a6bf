/* Process and memory calls where a cage once differed from Linux: waitpid while a
 * SIGCHLD handler runs for the very child, setsid in the first process, mmap with
 * MAP_SHARED_VALIDATE, and brk/sbrk beside malloc. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

static volatile sig_atomic_t chld;

static void on_chld(int sig) { (void)sig; chld++; }

/* errno by number: glibc's and musl's strerror texts differ */
static const char *res(int ok)
{
	static char text[16];
	if (ok) return "ok";
	snprintf(text, sizeof text, "errno %d", errno);
	return text;
}

static void wait_with_handler(int flags)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_chld;
	sa.sa_flags = flags;
	sigaction(SIGCHLD, &sa, 0);
	chld = 0;
	int gate[2];
	if (pipe(gate)) return;
	pid_t p = fork();
	if (p == 0) {
		char c;
		read(gate[0], &c, 1);    /* ends after the parent is waiting */
		_exit(7);
	}
	close(gate[0]);
	write(gate[1], "g", 1);
	int st = 0;
	pid_t r = waitpid(p, &st, 0);
	printf("waitpid (SA_RESTART %d): %s, status %d, handler ran %d\n", !!flags,
	       r == p ? "the child" : res(0), WIFEXITED(st) ? WEXITSTATUS(st) : -1, chld);
	close(gate[1]);
	signal(SIGCHLD, SIG_DFL);
}

static void maps(void)
{
	void *m = mmap(0, 4096, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap anonymous validate: %s\n", res(m != MAP_FAILED));
	int fd = open("mapped", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ftruncate(fd, 4096);
	m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE, fd, 0);
	printf("mmap file validate: %s\n", res(m != MAP_FAILED));
	if (m != MAP_FAILED) {
		strcpy(m, "through the map");
		munmap(m, 4096);
		char buf[32] = {0};
		pread(fd, buf, sizeof buf - 1, 0);
		printf("file reads: %s\n", buf);
	}
	m = mmap(0, 4096, PROT_READ, MAP_SHARED_VALIDATE | 0x200000, fd, 0);
	printf("mmap file validate, unknown flag: %s\n", res(m != MAP_FAILED));
	m = mmap(0, 4096, PROT_READ, MAP_SHARED | 0x200000, fd, 0);
	printf("mmap file shared, unknown flag ignored: %s\n", res(m != MAP_FAILED));
	m = mmap(0, 4096, PROT_READ, MAP_SHARED_VALIDATE, 99, 0);
	printf("mmap validate, bad fd: %s\n", res(m != MAP_FAILED));
	close(fd);
	unlink("mapped");
}

static void breaks(void)
{
	char *b0 = sbrk(0);
	char *b1 = sbrk(8192);
	if (b1 == (void *)-1) {
		printf("sbrk: %s\n", res(0));
		return;
	}
	memset(b1, 7, 8192);
	printf("sbrk returns the old break: %d, moved it: %d\n", b1 == b0, sbrk(0) == b1 + 8192);
	printf("sbrk down: %d\n", sbrk(-4096) == b1 + 8192 && sbrk(0) == b1 + 4096);
	printf("brk: %d\n", brk(b1 + 8192) == 0 && sbrk(0) == b1 + 8192);
	char *m[40];
	for (int i = 0; i < 40; i++) {
		m[i] = malloc(60000);
		memset(m[i], i, 60000);
	}
	int ok = 1;
	for (int i = 0; i < 4096; i++)
		ok &= b1[i] == 7;
	for (int i = 0; i < 40; i++)
		ok &= m[i][59999] == i && (m[i] + 60000 <= b1 || m[i] >= b1 + 8192);
	printf("malloc leaves the sbrk block alone: %d\n", ok);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	breaks();      /* first: in a cage, mmap places mappings right above the break */
	wait_with_handler(0);
	wait_with_handler(SA_RESTART);
	printf("setsid: %s\n", res(setsid() == getpid()));
	printf("getsid is me: %d\n", getsid(0) == getpid());
	printf("setsid again: %s\n", res(setsid() >= 0));
	maps();
	return 0;
}
