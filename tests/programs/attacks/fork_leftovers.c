/* A forked child may run in the instance of a sibling that ended: Lind keeps it for
 * the next fork of the tree (src/lind/cage/instance_pool.py). Nothing of the sibling
 * may be left there. Usage: fork_leftovers SALT
 *
 * A writer child fills a deep stack, its heap and an anonymous mapping with a mark
 * made from SALT at run time (nowhere in the program's data), and exits. Then two
 * reader children scan all their linear memory for it and exit with the count
 * (prints "reader N", N must be 0). Then children of reused instances are killed while
 * they spin ("killed 9") and take a signal in a loop ("signalled 7"): the kill and
 * the signal reach the child, not the cage that ended in that instance. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "marks.h"

#define FRAME 16384
#define DEPTH 32

/* Marks DEPTH frames of stack below the caller's: where the parent's unused stack is. */
static int deep(int depth)
{
	volatile uint8_t frame[FRAME];
	fill(frame, FRAME);
	return depth ? deep(depth - 1) + frame[depth] : frame[0];
}

static int writer(void)
{
	deep(DEPTH);
	mark_heap_and_mapping();     /* the heap in what the parent freed: no growth */
	return 0;
}

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
	got = sig;
}

static int wait_status(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? 1000 + WTERMSIG(status) : WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	salt = (unsigned)atoi(argv[1]);
	/* the parent's memory grows enough for the writer's heap and mapping, so that
	 * the writer's memory is no larger than its parent's: an instance to reuse (and
	 * the writer keeps under the 4 MiB resident past which Lind zeroes it at once) */
	void *volatile room = malloc(3 << 19);
	memset(room, 0, 3 << 19);
	free(room);
	pid_t pid = fork();
	if (pid == 0)
		_exit(writer());
	if (wait_status(pid) != 0)
		return 3;
	for (int reader = 0; reader < 2; reader++) {
		pid = fork();
		if (pid == 0)
			_exit(scan());
		printf("reader %d\n", wait_status(pid));
	}
	pid = fork();
	if (pid == 0) {
		for (volatile unsigned long spin = 0;; spin++)
			;
	}
	usleep(50000);
	kill(pid, SIGKILL);
	printf("killed %d\n", wait_status(pid) - 1000);
	signal(SIGUSR1, on_usr1);
	pid = fork();
	if (pid == 0) {
		while (!got)
			;
		_exit(7);
	}
	usleep(50000);
	kill(pid, SIGUSR1);
	printf("signalled %d\n", wait_status(pid));
	return 0;
}
