/* A wasm grate (it defines the dispatcher) asking for MAP_SHARED memory: refused
 * with ENODEV, as its memory is already one memfd its handler workers map. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t arg1, uint64_t arg1cage,
			  uint64_t arg2, uint64_t arg2cage, uint64_t arg3, uint64_t arg3cage,
			  uint64_t arg4, uint64_t arg4cage, uint64_t arg5, uint64_t arg5cage,
			  uint64_t arg6, uint64_t arg6cage)
{
	return -ENOSYS;
}

int main(void)
{
	void *shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	printf("MAP_SHARED in a grate: %s\n",
	       shared == MAP_FAILED ? (errno == ENODEV ? "ENODEV" : "other error") : "mapped");
	char *private = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (private == MAP_FAILED)
		return 1;
	strcpy(private, "mapped");
	printf("MAP_PRIVATE in a grate: %s\n", private);
	return 0;
}
