/* Odd setjmp/longjmp on the cooperative runtime, each in a child of its own: a jmp_buf
 * at the address argv[1] (outside memory), a longjmp from one, and a setjmp argv[2]
 * calls deep, each frame with 32 live longs (more frames than the unwind buffer holds).
 * The parent prints each child's wait status, then "parent lives". With argv[3] (0, 1
 * or 2) the first cage does that one itself, and nothing else. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static jmp_buf point;
static volatile long seed;
static long deep(int d);

static void odd(int what, jmp_buf *bad, int depth)
{
	if (what == 0)
		printf("setjmp returned %d\n", setjmp(*bad));
	else if (what == 1)
		longjmp(*bad, 1);
	else
		printf("deep returned %ld\n", deep(depth) & 1);
	fflush(stdout);
}

static long deep(int d)
{
	long a0 = d * 3 + seed; long a1 = d * 4 + seed; long a2 = d * 5 + seed; long a3 = d * 6 + seed; long a4 = d * 7 + seed; long a5 = d * 8 + seed; long a6 = d * 9 + seed; long a7 = d * 10 + seed; long a8 = d * 11 + seed; long a9 = d * 12 + seed; long a10 = d * 13 + seed; long a11 = d * 14 + seed; long a12 = d * 15 + seed; long a13 = d * 16 + seed; long a14 = d * 17 + seed; long a15 = d * 18 + seed; long a16 = d * 19 + seed; long a17 = d * 20 + seed; long a18 = d * 21 + seed; long a19 = d * 22 + seed; long a20 = d * 23 + seed; long a21 = d * 24 + seed; long a22 = d * 25 + seed; long a23 = d * 26 + seed; long a24 = d * 27 + seed; long a25 = d * 28 + seed; long a26 = d * 29 + seed; long a27 = d * 30 + seed; long a28 = d * 31 + seed; long a29 = d * 32 + seed; long a30 = d * 33 + seed; long a31 = d * 34 + seed;
	long r = d > 0 ? deep(d - 1) : setjmp(point);
	return r + a0+a1+a2+a3+a4+a5+a6+a7+a8+a9+a10+a11+a12+a13+a14+a15+a16+a17+a18+a19+a20+a21+a22+a23+a24+a25+a26+a27+a28+a29+a30+a31;
}

int main(int argc, char **argv)
{
	jmp_buf *bad = (jmp_buf *)(uintptr_t)strtoul(argc > 1 ? argv[1] : "0xfffffff0", NULL, 0);
	int depth = argc > 2 ? atoi(argv[2]) : 4000;
	if (argc > 3) {
		odd(atoi(argv[3]), bad, depth);
		return 0;
	}
	for (int what = 0; what < 3; what++) {
		pid_t child = fork();
		if (child == 0) {
			odd(what, bad, depth);
			_exit(0);
		}
		int status = -1;
		waitpid(child, &status, 0);
		printf("child %d status %d\n", what, status);
		fflush(stdout);
	}
	printf("parent lives\n");
	return 0;
}
