/* One file mapped twice (MAP_SHARED) at different addresses and offsets: the two
 * mappings show each other's writes, and a futex word is one word whichever mapping
 * names it (the kernel keys it by file and offset), across fork too. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static long futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int fd = open("shared.bin", O_CREAT | O_RDWR | O_TRUNC, 0600);
	ftruncate(fd, 3 * PAGE);
	char *whole = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *tail = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
	char *last = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * PAGE);
	whole[PAGE + 100] = 'x';
	tail[PAGE + 200] = 'y';
	printf("tail sees whole: %c, whole sees tail: %c, last sees both: %c %c\n",
	       tail[100], whole[2 * PAGE + 200], last[200], tail[PAGE + 200]);
	uint32_t *in_whole = (uint32_t *)(whole + PAGE + 8), *in_tail = (uint32_t *)(tail + 8);
	uint32_t *far_whole = (uint32_t *)(whole + 2 * PAGE + 64), *far_last = (uint32_t *)(last + 64);
	*in_whole = 0;
	*far_last = 0;
	pid_t child = fork();
	if (child == 0) {
		/* wait on the words through one mapping; the parent wakes through the other */
		while (__atomic_load_n(in_tail, __ATOMIC_SEQ_CST) == 0)
			futex(in_tail, FUTEX_WAIT, 0, NULL);
		while (__atomic_load_n(far_whole, __ATOMIC_SEQ_CST) == 0)
			futex(far_whole, FUTEX_WAIT, 0, NULL);
		_exit(0);
	}
	int woken = 0;
	struct timespec pause = {0, 20 * 1000 * 1000};
	for (int round = 0; round < 200 && woken == 0; round++) {
		nanosleep(&pause, NULL);
		if (round == 2)
			__atomic_store_n(in_whole, 1, __ATOMIC_SEQ_CST);
		if (round >= 2)
			woken += (int)futex(in_whole, FUTEX_WAKE, 1, NULL);
	}
	printf("woken through the other mapping: %d\n", woken);
	woken = 0;
	for (int round = 0; round < 200 && woken == 0; round++) {
		nanosleep(&pause, NULL);
		if (round == 2)
			__atomic_store_n(far_last, 1, __ATOMIC_SEQ_CST);
		if (round >= 2)
			woken += (int)futex(far_last, FUTEX_WAKE, 1, NULL);
	}
	printf("and at the far end: %d\n", woken);
	int st;
	waitpid(child, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	struct timespec short_wait = {0, 1000000};
	long r = futex(in_tail, FUTEX_WAIT, 5, &short_wait);
	printf("wait on a changed word: %ld\n", r);
	munmap(tail, 2 * PAGE);
	printf("the others stay: %c %c\n", whole[PAGE + 100], last[200]);
	munmap(whole, 3 * PAGE);
	munmap(last, PAGE);
	char buf[3];
	pread(fd, buf, 1, PAGE + 100);
	pread(fd, buf + 1, 1, 2 * PAGE + 200);
	printf("in the file: %c %c\n", buf[0], buf[1]);
	return 0;
}
