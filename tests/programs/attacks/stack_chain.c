/* Calls nested through a chain of grates, each handler deep in its own wasm first.
 *
 * Usage: stack_chain DEPTH LEVELS PROGRAM [ARGS]. The grate forks a chain of LEVELS
 * helpers, each a child of the one before, and routes call CHAIN_NR of its own table,
 * and of each helper's, to the next helper: so the getppid of PROGRAM (which it runs
 * under itself) reaches its handler, which recurses DEPTH frames in its worker's Store,
 * then makes CHAIN_NR for itself, which enters the first helper's worker (another
 * Store), which recurses as deep and goes on to the next. Wasmtime bounds each Store's
 * recursion from where the thread entered it, so each Store took as much host stack
 * again: the host thread ran off its stack (SIGSEGV, the Lind process gone). */
#include <lind_syscall.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHAIN_NR 900    /* no Linux call: a grate's own number */

static int me;          /* this grate's id: in memory, where its workers see it */
static long depth;
static int last;        /* the bottom of the chain answers */

static long dive(long n, long a, long b);
static long (*volatile dive_next)(long, long, long) = dive;   /* no tail call, no loop */

__attribute__((noinline)) static long dive(long n, long a, long b)
{
	if (n == 0) {
		if (last)
			return 1;
		return make_threei_call(CHAIN_NR, 0, me, me, 0, me, 0, me, 0, me, 0, me, 0, me,
		                        0, me, 0);
	}
	long r = dive_next(n - 1, a * 3 + 1, b ^ n);
	return r < 0 ? r : r * 3 + (a & 1);
}

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	long r = dive(depth, (long)cageid, (long)fn_ptr);
	return r < 0 ? r : 4242;
}

int main(int argc, char *argv[])
{
	if (argc < 4)
		return 2;
	depth = atol(argv[1]);
	int levels = atoi(argv[2]);
	int top = me = getpid();
	pid_t first_helper = 0;
	int ready[2];           /* each helper's byte once its route is in place */
	if (pipe(ready) != 0)
		return 1;
	for (int i = 0; i < levels; i++) {
		pid_t child = fork();
		if (child < 0)
			return 1;
		if (child == 0) {       /* the next helper, which forks the one after it */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			me = getpid();
			last = i == levels - 1;
			continue;
		}
		if (register_handler(me, CHAIN_NR, child, 1) != 0)
			perror("register_handler");
		if (me == top) {
			first_helper = child;
			break;
		}
		if (write(ready[1], "r", 1) != 1)
			return 1;
		for (;;)
			pause();        /* a helper only serves */
	}
	if (me != top)
		for (;;)
			pause();
	/* The program's first call must find the whole chain routed, not a helper whose
	 * route is not registered yet (the microvisor's ENOSYS for CHAIN_NR). */
	for (int i = 1; i < levels; i++) {
		char byte;
		if (read(ready[0], &byte, 1) != 1)
			return 1;
	}
	pid_t prog = fork();
	if (prog == 0) {
		register_handler(getpid(), SYS_getppid, top, 1);
		execv(argv[3], &argv[3]);
		_exit(127);
	}
	int status;
	waitpid(prog, &status, 0);
	printf("program status %d\n", status);
	fflush(stdout);
	if (first_helper) {     /* the others follow it (PR_SET_PDEATHSIG) */
		kill(first_helper, SIGKILL);
		waitpid(first_helper, &status, 0);
	}
	return 0;
}
