/* setjmp and longjmp through Asyncify (a program that forks) run in the trampoline
 * (_accel.c, "setjmp and longjmp"): it copies the unwound frames between the cage's
 * Asyncify buffer and host memory, trusting nothing the cage can write. Here the cage
 * forges what it can: a longjmp to a jmp_buf no setjmp filled, jmp_bufs outside its
 * memory, and then a thread that keeps rewriting the buffer's header (where the frames
 * end) and the jmp_buf's token while another thread jumps. A header believed would
 * have the host copy gigabytes out of (or into) memory beside the cage's.
 * Prints "WHAT RESULT ERRNO" lines, "jumped back 5", "buffers found N" and "race over"
 * (if the cage lives through the race: it may end with a fault instead). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SETJMP 1020
#define LONGJMP 1021
#define BUFFER (256 * 1024)                       /* the host's Asyncify buffer */
#define OUTSIDE ((void *)(uintptr_t)0xfffffff0u)  /* past any cage memory */
#define ROUNDS 20000

static jmp_buf env;
static uint32_t *headers[8];
static int found;
static volatile int stop;

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r, r < 0 ? errno : 0);
}

/* every Asyncify buffer header in memory: (where its frames end, its end) */
static void find_buffers(void)
{
	uint32_t size = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
	for (uint32_t at = 4096; at + 8 <= size && found < 8; at += 4) {
		uint32_t *h = (uint32_t *)(uintptr_t)at;
		if (h[1] == at + BUFFER && h[0] >= at + 8 && h[0] <= at + BUFFER)
			headers[found++] = h;
	}
}

static void *scribbler(void *arg)
{
	static const uint32_t lies[] = {0, 4, 0xfffffff0u, 0x7fffffffu};
	unsigned n = 0;
	while (!stop) {
		for (int i = 0; i < found; i++) {
			uint32_t at = (uint32_t)(uintptr_t)headers[i];
			uint32_t lie = lies[n % 4];
			headers[i][0] = n & 4 ? lie : at + BUFFER + 64 * (n & 3);
			headers[i][1] = lie;
		}
		memset(env, (int)n, sizeof env);          /* forged tokens */
		if (++n % 64 == 0)
			sched_yield();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 99)
		fork();                                   /* linked: Asyncify carries setjmp */
	volatile int rounds = 0;
	int v = setjmp(env);
	if (v == 0)
		longjmp(env, 5);
	printf("jumped back %d\n", v);

	jmp_buf forged;
	memset(forged, 0x5a, sizeof forged);
	report("forged_longjmp", syscall(LONGJMP, forged, 3));
	report("longjmp_outside", syscall(LONGJMP, OUTSIDE, 3));
	report("setjmp_outside", syscall(SETJMP, OUTSIDE));

	find_buffers();
	printf("buffers found %d\n", found);
	pthread_t t;
	pthread_create(&t, NULL, scribbler, NULL);
	while (rounds < ROUNDS) {
		rounds++;
		if (setjmp(env) == 0)
			longjmp(env, 1);
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("race over\n");
	return 0;
}
