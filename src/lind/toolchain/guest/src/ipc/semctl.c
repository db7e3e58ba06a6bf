/* wasm32-lind: musl's, less what other architectures need, and a NULL buffer goes to
 * the host as it is (EFAULT, as on Linux) instead of musl's copy with 64-bit times
 * being stored through it (address 0 is ordinary memory in wasm). */
#include <sys/sem.h>
#include <stdarg.h>
#include "syscall.h"
#include "ipc.h"

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

int semctl(int id, int num, int cmd, ...)
{
	union semun arg = {0};
	va_list ap;
	switch (cmd & ~IPC_TIME64) {
	case SETVAL: case GETALL: case SETALL: case IPC_SET:
	case IPC_INFO: case SEM_INFO:
	case IPC_STAT & ~IPC_TIME64:
	case SEM_STAT & ~IPC_TIME64:
	case SEM_STAT_ANY & ~IPC_TIME64:
		va_start(ap, cmd);
		arg = va_arg(ap, union semun);
		va_end(ap);
	}
	struct semid_ds out, *orig = arg.buf;
	int time64 = (cmd & IPC_TIME64) && arg.buf;
	if (time64) {
		out = (struct semid_ds){0};
		arg.buf = &out;
	}
	int r = __syscall(SYS_semctl, id, num, IPC_CMD(cmd), arg.buf);
	if (r >= 0 && time64) {
		*orig = out;
		IPC_HILO(orig, sem_otime);
		IPC_HILO(orig, sem_ctime);
	}
	return __syscall_ret(r);
}
