/* Makes argv[1] setjmps into one jmp_buf, each argv[2] calls deep, every frame with 32
 * live longs that Asyncify keeps (~270 bytes a frame); prints "made N". It forks once
 * first (the child exits), as a program's setjmp goes through Asyncify (and so through
 * the host) when the program forks. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static jmp_buf point;
static volatile long seed;

static long deep(int d)
{
	long a0 = d * 3 + seed; long a1 = d * 4 + seed; long a2 = d * 5 + seed; long a3 = d * 6 + seed; long a4 = d * 7 + seed; long a5 = d * 8 + seed; long a6 = d * 9 + seed; long a7 = d * 10 + seed; long a8 = d * 11 + seed; long a9 = d * 12 + seed; long a10 = d * 13 + seed; long a11 = d * 14 + seed; long a12 = d * 15 + seed; long a13 = d * 16 + seed; long a14 = d * 17 + seed; long a15 = d * 18 + seed; long a16 = d * 19 + seed; long a17 = d * 20 + seed; long a18 = d * 21 + seed; long a19 = d * 22 + seed; long a20 = d * 23 + seed; long a21 = d * 24 + seed; long a22 = d * 25 + seed; long a23 = d * 26 + seed; long a24 = d * 27 + seed; long a25 = d * 28 + seed; long a26 = d * 29 + seed; long a27 = d * 30 + seed; long a28 = d * 31 + seed; long a29 = d * 32 + seed; long a30 = d * 33 + seed; long a31 = d * 34 + seed;
	long r = d > 0 ? deep(d - 1) : setjmp(point);
	return r + a0+a1+a2+a3+a4+a5+a6+a7+a8+a9+a10+a11+a12+a13+a14+a15+a16+a17+a18+a19+a20+a21+a22+a23+a24+a25+a26+a27+a28+a29+a30+a31;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	int depth = argc > 2 ? atoi(argv[2]) : 100;
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	long sum = 0;
	for (long i = 0; i < n; i++)
		sum += deep(depth);
	printf("made %ld (%ld)\n", n, sum & 1);
	return 0;
}
