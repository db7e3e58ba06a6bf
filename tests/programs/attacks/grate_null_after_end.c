/* A wasm grate whose handler, still running for its caller after the grate ended, has
 * memset touch the grate's page 0 (Wasmtime's memory.fill: host code, no trap). The
 * grate's null-page guard used to go with its memory's release while the page stayed
 * PROT_NONE: the host's fault found no cage to give it to and ended the Lind process.
 *   grate_null_after_end [ATTEMPTS]
 * Each attempt forks a grate that forks a child served by `handler`; the grate ends as
 * soon as the handler runs, which counts for 0 to 20 ms (a sweep over the attempts)
 * before its memset, so that some land after the release and before the worker's next
 * epoch tick stops it. Prints "attempts done N". */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static volatile int started;
static volatile long long spins;
static char *volatile null_page;

static void spin(long long n)
{
	for (volatile long long i = 0; i < n; i++)
		;
}

int handler(uint64_t cageid)
{
	started = 1;
	spin(spins);
	__builtin_memset(null_page, 0, 8192);     /* memory.fill in place, not a call */
	return 5;
}

static long long now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

int main(int argc, char *argv[])
{
	int attempts = argc > 1 ? atoi(argv[1]) : 60;
	long long t0 = now_us();
	spin(10000000);
	long long per_ms = 10000000LL * 1000 / (now_us() - t0 + 1);
	for (int i = 0; i < attempts; i++) {
		spins = per_ms * (i % 40) / 2;
		pid_t grate = fork();
		if (grate == 0) {
			int me = getpid();
			if (fork() == 0) {
				register_handler(getpid(), SYS_geteuid, me,
				                 (uint64_t)(uintptr_t)&handler);
				syscall(SYS_geteuid);
				_exit(0);
			}
			while (!started)
				;
			_exit(0);
		}
		while (wait(NULL) > 0)
			;
	}
	printf("attempts done %d\n", attempts);
	return 0;
}
