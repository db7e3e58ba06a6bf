/* System V IPC between two trees that share nothing but the Lind process.
 *   keep KEY MS   (the tenant) a segment and a queue under KEY, the segment holding a
 *                 secret, a message in the queue; after MS milliseconds, prints
 *                 "intact" if both are as it left them, else what changed; removes them.
 *                 Makes /ready in its root once they exist.
 *   reach KEY     (the attacker) looks the key up, reads and overwrites what it finds;
 *                 prints "CALL RESULT ERRNO" for shmget and msgget, and what it read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <unistd.h>

#define SECRET "the tenant's secret"

struct message {
	long type;
	char text[64];
};

static int keep(key_t key, long ms)
{
	int shm = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
	int queue = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	if (shm < 0 || queue < 0) {
		perror("tenant: get");
		return 1;
	}
	char *mem = shmat(shm, NULL, 0);
	if (mem == (void *)-1) {
		perror("tenant: shmat");
		return 1;
	}
	strcpy(mem, SECRET);
	struct message m = {1, SECRET};
	if (msgsnd(queue, &m, sizeof m.text, 0) < 0) {
		perror("tenant: msgsnd");
		return 1;
	}
	close(open("/ready", O_CREAT | O_WRONLY, 0600));
	usleep((useconds_t)ms * 1000);
	struct msqid_ds q;
	int ok = strcmp(mem, SECRET) == 0 && msgctl(queue, IPC_STAT, &q) == 0 && q.msg_qnum == 1;
	if (ok)
		printf("intact\n");
	else
		printf("changed: segment \"%.40s\", %d messages\n", mem, (int)q.msg_qnum);
	shmdt(mem);
	shmctl(shm, IPC_RMID, NULL);
	msgctl(queue, IPC_RMID, NULL);
	return 0;
}

static int reach(key_t key)
{
	int shm = shmget(key, 0, 0);
	printf("shmget %d %d\n", shm < 0 ? -1 : 0, shm < 0 ? errno : 0);
	if (shm >= 0) {
		char *mem = shmat(shm, NULL, 0);
		if (mem != (void *)-1) {
			printf("read \"%.40s\"\n", mem);
			strcpy(mem, "overwritten by the attacker");
		}
	}
	int queue = msgget(key, 0);
	printf("msgget %d %d\n", queue < 0 ? -1 : 0, queue < 0 ? errno : 0);
	if (queue >= 0) {
		struct message m;
		if (msgrcv(queue, &m, sizeof m.text, 0, IPC_NOWAIT) >= 0)
			printf("took \"%.40s\"\n", m.text);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "keep") == 0)
		return keep((key_t)strtol(argv[2], NULL, 0), atol(argv[3]));
	if (argc >= 3 && strcmp(argv[1], "reach") == 0)
		return reach((key_t)strtol(argv[2], NULL, 0));
	fprintf(stderr, "usage: %s keep KEY MS | reach KEY\n", argv[0]);
	return 2;
}
