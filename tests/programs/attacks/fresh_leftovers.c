/* A program started afresh (posix_spawn, exec) may run in the instance a process of
 * its tree left when it ended (src/lind/cage/instance_pool.py): all its memory must be
 * as a new instance has it, nothing of the process before. Usage: fresh_leftovers SALT
 *
 * A writer (spawned) marks its deep stack, heap, an anonymous mapping and its bss
 * with a pattern made from SALT at run time, changes an initialised variable and a
 * thread-local one, and exits from the bottom of its stack. A reader started afresh, once by
 * posix_spawn and once by fork + execve, then scans all its linear memory for the
 * mark and checks its variables hold their initial values and its stack starts at
 * the top: it prints "reader marks 0 data 42 tls 5 bss 0 stack 1" when nothing was
 * left. */
#include <spawn.h>
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

extern char **environ;

static int initialised = 42;
static __thread int thread_local = 5;
static uint8_t bss[1 << 14];

static void mark_the_rest(void)
{
	mark_heap_and_mapping();
	fill(bss, sizeof bss);
	initialised = 7;
	thread_local = 9;
}

static void (*volatile leave)(int) = exit;   /* (the compiler sees no end to deep) */

/* The writer: marks DEPTH frames of stack, then the rest, and exits from the deepest
 * frame (its stack pointer is left there: a new start must not begin there). */
static int deep(int depth)
{
	volatile uint8_t frame[FRAME];
	fill(frame, FRAME);
	if (!depth) {
		mark_the_rest();
		leave(0);
		return 1;
	}
	return deep(depth - 1) + frame[depth];
}

/* The reader: what it finds, and whether its stack starts where a new program's does
 * (just below the static data, as lind cc lays memory out), not where the writer's
 * stack pointer was left. */
static int reader(void)
{
	int dirty = 0;
	for (size_t i = 0; i < sizeof bss; i++)
		dirty += bss[i] != 0;
	int fresh_stack = 1;
#ifdef __wasm__
	volatile int here = 0;
	fresh_stack = (uintptr_t)&initialised - (uintptr_t)&here < (1 << 17);
#endif
	printf("reader marks %d data %d tls %d bss %d stack %d\n", scan(), initialised, thread_local,
	       dirty, fresh_stack);
	return 0;
}

static int run(const char *role, const char *arg, int by_exec)
{
	char *self = "/proc/self/exe";
	char *args[] = {self, (char *)role, (char *)arg, NULL};
	pid_t pid;
	if (by_exec) {
		pid = fork();
		if (pid == 0) {
			execve(self, args, environ);
			_exit(126);
		}
	} else if (posix_spawn(&pid, self, NULL, NULL, args, environ) != 0) {
		return -1;
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	if (argc == 3) {
		salt = (unsigned)atoi(argv[2]);
		return strcmp(argv[1], "write") ? reader() : deep(DEPTH);
	}
	if (argc != 2)
		return 2;
	fflush(stdout);
	for (int by_exec = 0; by_exec < 2; by_exec++) {
		if (run("write", argv[1], 0) != 0 || run("read", argv[1], by_exec) != 0)
			return 3;
	}
	return 0;
}
