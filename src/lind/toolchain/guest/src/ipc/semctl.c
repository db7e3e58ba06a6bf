/* wasm32-lind: musl's, less what other architectures need, and a NULL buffer goes to
 * the host as it is (EFAULT, as on Linux) instead of musl's copy with 64-bit times
 * being stored through it (the null page: SIGSEGV, where Linux says EFAULT).
 *
 * Programs reach __lind_semctl through the semctl macro of <sys/sem.h> (the overlay in
 * guest/include), which passes the fourth argument's word by value whether the
 * program wrote an int or a `union semun` (which wasm32 passes by reference among
 * variadic arguments). semctl itself, for a call that bypasses the macro, reads a
 * word: right for an int or a pointer. */
#include <sys/sem.h>
#include <stdarg.h>
#include "syscall.h"
#include "ipc.h"

#undef semctl

int __lind_semctl(int id, int num, int cmd, unsigned long word)
{
	struct semid_ds out, *orig = (struct semid_ds *)word;
	int time64 = (cmd & IPC_TIME64) && orig;
	if (time64) {
		out = (struct semid_ds){0};
		word = (unsigned long)&out;
	}
	int r = __syscall(SYS_semctl, id, num, IPC_CMD(cmd), word);
	if (r >= 0 && time64) {
		*orig = out;
		IPC_HILO(orig, sem_otime);
		IPC_HILO(orig, sem_ctime);
	}
	return __syscall_ret(r);
}

int semctl(int id, int num, int cmd, ...)
{
	unsigned long word = 0;
	va_list ap;
	switch (cmd & ~IPC_TIME64) {
	case SETVAL: case GETALL: case SETALL: case IPC_SET:
	case IPC_INFO: case SEM_INFO:
	case IPC_STAT & ~IPC_TIME64:
	case SEM_STAT & ~IPC_TIME64:
	case SEM_STAT_ANY & ~IPC_TIME64:
		va_start(ap, cmd);
		word = va_arg(ap, unsigned long);
		va_end(ap);
	}
	return __lind_semctl(id, num, cmd, word);
}
