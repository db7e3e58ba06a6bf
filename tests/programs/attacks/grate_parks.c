/* A grate whose getppid handler waits in wasm's own memory.atomic.wait, without a
 * timeout, on a word of the grate's memory nobody changes: no epoch reaches a thread
 * parked there (wasmtime issue 12809), and the handler runs on the calling cage's
 * thread. The child registers the handler for itself and calls getppid; the run's
 * timeout must still end both. */
#include <lind_syscall.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr;
	return fn(cageid);
}

static int never;

int getppid_handler(uint64_t cageid)
{
	return __builtin_wasm_memory_atomic_wait32(&never, 0, -1);
}

int main(void)
{
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SYS_getppid, grate, (uint64_t)(uintptr_t)&getppid_handler);
		return getppid();
	}
	int status;
	waitpid(pid, &status, 0);
	return 0;
}
