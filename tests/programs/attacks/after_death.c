/* Reads on behalf of a child whose memory goes away while the read blocks: the
 * child exits after ~150 ms, the test writes to the shared stdin pipe later. The
 * bytes must not land in memory that is no longer the child's. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Same address in the child: fork copies the layout. Megabytes in, so that in a
 * memory that reuses the child's host pages it falls inside a tenant's heap. */
static char area[8 << 20];
#define BUF (area + (4 << 20))
#define BUF_LEN 65536

int main(void)
{
	uint64_t me = getpid();
	pid_t c = fork();
	if (c == 0) {
		usleep(150000);
		_exit(0);
	}
	errno = 0;
	int r = make_threei_call(SYS_read, 0, me, c, 0, c, (uint64_t)(uintptr_t)BUF, c,
	                         BUF_LEN, c, 0, c, 0, c, 0, c, 1);
	int e = r < 0 ? errno : 0;
	int status;
	waitpid(c, &status, 0);
	printf("make_threei_call %d %d\n", r, e);
	return 0;
}
