/* wasm32-lind: musl's, less what other architectures need, and a NULL buffer goes to
 * the host as it is (EFAULT, as on Linux) instead of musl's copy with 64-bit times
 * being stored through it (the null page: SIGSEGV, where Linux says EFAULT). */
#include <sys/msg.h>
#include "syscall.h"
#include "ipc.h"

int msgctl(int q, int cmd, struct msqid_ds *buf)
{
	struct msqid_ds out, *orig = buf;
	int time64 = (cmd & IPC_TIME64) && buf;
	if (time64) {
		out = (struct msqid_ds){0};
		buf = &out;
	}
	int r = __syscall(SYS_msgctl, q, IPC_CMD(cmd), buf);
	if (r >= 0 && time64) {
		*orig = out;
		IPC_HILO(orig, msg_stime);
		IPC_HILO(orig, msg_rtime);
		IPC_HILO(orig, msg_ctime);
	}
	return __syscall_ret(r);
}
