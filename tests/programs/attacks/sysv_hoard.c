/* System V objects outlive their users: run under --memory 64M (and as uid 0, which may
 * raise a queue's msg_qbytes), this keeps making and filling them and prints how many
 * MiB each kind held before a call refused:
 *   sysv_hoard shm    16 MiB segments, attached, written, detached, never removed
 *   sysv_hoard msg    8 KiB messages into queues raised to 64 MiB, never received
 * as "held M errno E" (E 0: nothing refused up to 1 GiB). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/shm.h>

#define MiB (1 << 20)
#define MOST (1024 * MiB)

static long shm(int *err)
{
	long held = 0;
	while (held < MOST) {
		int id = shmget(IPC_PRIVATE, 16 * MiB, IPC_CREAT | 0600);
		char *at = id < 0 ? (void *)-1 : shmat(id, 0, 0);
		if (at == (void *)-1) {
			*err = errno;
			break;
		}
		memset(at, 'x', 16 * MiB);
		shmdt(at);
		held += 16 * MiB;
	}
	return held;
}

static long msg(int *err)
{
	static struct {
		long mtype;
		char text[8192];
	} m = {1, {0}};
	long held = 0;
	while (held < MOST && !*err) {
		int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		struct msqid_ds ds;
		if (q < 0 || msgctl(q, IPC_STAT, &ds) != 0) {
			*err = errno;
			break;
		}
		ds.msg_qbytes = 64 * MiB;
		if (msgctl(q, IPC_SET, &ds) != 0) {
			*err = errno;
			break;
		}
		for (long in = 0; in < 64 * MiB && held < MOST; in += sizeof m.text) {
			if (msgsnd(q, &m, sizeof m.text, IPC_NOWAIT) != 0) {
				*err = errno;
				break;
			}
			held += sizeof m.text;
		}
	}
	return held;
}

int main(int argc, char **argv)
{
	int err = 0;
	long held = argc > 1 && strcmp(argv[1], "msg") == 0 ? msg(&err) : shm(&err);
	printf("held %ld errno %d\n", held / MiB, err);
	return 0;
}
