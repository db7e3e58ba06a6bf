/* A program that recurses DEPTH_PROGRAM (argv[2]) frames deep, then posix_spawns
 * argv[1] and waits for it. Built with -DSTART_DEPTH=N, and given a wasm start function
 * afterwards that first calls deep_start (tests/test_attacks.py adds it): every
 * instance of the program made recurses N frames before anything else, the one a
 * posix_spawn makes too, on the thread of the call. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) static long start_dive(long n, long a)
{
	if (n == 0)
		return 1;
	return start_dive(n - 1, a * 3 + 1) * 3 + (a & 1);   /* no loop: every frame stays */
}

/* Runs before the memory holds its data: nothing here reads it. */
__attribute__((export_name("deep_start"))) void deep_start(void)
{
	sink = start_dive(START_DEPTH, 1);
}

static char **spawn_argv;
static int spawned = -1;
static pid_t child;
static long (*volatile down_next)(long, long);

__attribute__((noinline)) static long down(long n, long a)
{
	if (n == 0) {
		char *args[] = {spawn_argv[1], NULL};
		spawned = posix_spawn(&child, spawn_argv[1], NULL, NULL, args, NULL);
		return 1;
	}
	return down_next(n - 1, a * 3 + 1) * 3 + (a & 1);
}

int main(int argc, char *argv[])
{
	if (argc < 3)
		return 2;
	spawn_argv = argv;
	down_next = down;
	sink = down(atol(argv[2]), 1);
	printf("spawn %d\n", spawned);
	if (spawned == 0) {
		int status;
		waitpid(child, &status, 0);
		printf("child status %d\n", status);
	}
	return 0;
}
