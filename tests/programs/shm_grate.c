/* A wasm grate (it defines the dispatcher) with MAP_SHARED memory: its memory is the
 * shared memory its handler workers import, and a shared mapping inside it is seen by
 * the grate, its workers and a child it forks alike. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t arg1, uint64_t arg1cage,
			  uint64_t arg2, uint64_t arg2cage, uint64_t arg3, uint64_t arg3cage,
			  uint64_t arg4, uint64_t arg4cage, uint64_t arg5, uint64_t arg5cage,
			  uint64_t arg6, uint64_t arg6cage)
{
	return -ENOSYS;
}

int main(void)
{
	char *shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		printf("MAP_SHARED in a grate: errno %d\n", errno);
		return 1;
	}
	pid_t child = fork();
	if (child == 0) {
		strcpy(shared, "written by the child");
		_exit(0);
	}
	waitpid(child, NULL, 0);
	printf("MAP_SHARED in a grate: %s\n", shared);
	char *private = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (private == MAP_FAILED)
		return 1;
	strcpy(private, "mapped");
	printf("MAP_PRIVATE in a grate: %s\n", private);
	return 0;
}
