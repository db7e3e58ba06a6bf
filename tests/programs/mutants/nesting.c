/* make_threei_call within make_threei_call: this grate routes its own getppid to
 * itself, and each handler makes the call again one level deeper, until 3i refuses
 * (ELOOP) rather than letting the host's stack run out. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t self;
static int deepest, refusal;

static long long again(int depth)
{
	return make_threei_call(SYS_getppid, 0, self, self, (uint64_t)depth, self, 0, self, 0,
	                        self, 0, self, 0, self, 0, self, 0);
}

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int depth = (int)a1;
	if (depth > deepest)
		deepest = depth;
	long long r = again(depth + 1);
	if (r < 0 && !refusal)
		refusal = (int)-r;
	return r;
}

int main(void)
{
	self = (uint64_t)getpid();
	if (register_handler(self, SYS_getppid, self, 1) != 0) {
		perror("register_handler");
		return 1;
	}
	long long r = again(1);
	printf("handlers run %d deep; the call past them: %d (ELOOP is %d); result %lld\n",
	       deepest, refusal, ELOOP, r);
	return 0;
}
