/* A hostile cage against System V IPC: bad pointers, huge sizes and counts, negative
 * and made-up ids, and every object limit filled. Each line is one call's errno (0 on
 * success); nothing it does may hurt the host or another runtime. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BAD 0xFFFFFFF0UL          /* the top of the 32-bit space: never in the memory */

static void show(const char *what, long r) { printf("%s: %d\n", what, r < 0 ? errno : 0); }

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	show("shmget size -1", syscall(SYS_shmget, IPC_PRIVATE, -1L, IPC_CREAT | 0600));
	show("shmget 2 GiB", syscall(SYS_shmget, IPC_PRIVATE, 1UL << 31, IPC_CREAT | 0600));
	int shm = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
	show("shmctl stat to bad", syscall(SYS_shmctl, shm, IPC_STAT, BAD));
	show("shmctl set from bad", syscall(SYS_shmctl, shm, IPC_SET, BAD));
	show("shmctl info to bad", syscall(SYS_shmctl, 0, IPC_INFO, BAD));
	show("shmctl negative id", syscall(SYS_shmctl, -5, IPC_STAT, 0));
	show("shmctl made-up id", syscall(SYS_shmctl, 0x7fffffff, IPC_STAT, 0));
	show("shmat past 4 GiB", syscall(SYS_shmat, shm, 0xFFFFF000UL, 0));
	show("shmat over the stack", syscall(SYS_shmat, shm, 4096, 0));
	show("shmat remap over the stack", syscall(SYS_shmat, shm, 4096, SHM_REMAP));
	show("shmdt of nothing", syscall(SYS_shmdt, BAD & ~0xFFFUL));
	char *at = shmat(shm, 0, 0);
	show("mremap past the segment", (long)mremap(at, 8192, 1 << 20, MREMAP_MAYMOVE));
	show("mremap within it", (long)mremap(at, 8192, 4096, 0));
	show("shmdt", shmdt(at));
	shmctl(shm, IPC_RMID, 0);

	int sem = semget(IPC_PRIVATE, 4, IPC_CREAT | 0600);
	show("semop from bad", syscall(SYS_semop, sem, BAD, 1));
	show("semop 4G ops", syscall(SYS_semop, sem, BAD, 0xFFFFFFFFUL));
	struct sembuf b = {0, -1, 0};
	show("semtimedop bad timeout", syscall(SYS_semtimedop, sem, &b, 1, BAD));
	show("semctl getall to bad", syscall(SYS_semctl, sem, 0, GETALL | 0x100, BAD));
	show("semctl setall from bad", syscall(SYS_semctl, sem, 0, SETALL | 0x100, BAD));
	show("semctl stat to bad", syscall(SYS_semctl, sem, 0, IPC_STAT, BAD));
	show("semctl negative id", syscall(SYS_semctl, -1, 0, GETVAL, 0));
	show("semctl big semnum", syscall(SYS_semctl, sem, 0x7fffffff, GETVAL, 0));
	show("semget 40000", semget(IPC_PRIVATE, 40000, IPC_CREAT | 0600));
	semctl(sem, 0, IPC_RMID);

	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	show("msgsnd from bad", syscall(SYS_msgsnd, q, BAD, 8, 0));
	struct { long mtype; char text[16]; } m = {1, "hello"};
	show("msgsnd 4 GiB", syscall(SYS_msgsnd, q, &m, 0xFFFFFFFFUL, 0));
	show("msgsnd text past the end", syscall(SYS_msgsnd, q, BAD - 4, 8, 0));
	show("msgsnd", msgsnd(q, &m, 5, 0));
	show("msgrcv to bad", syscall(SYS_msgrcv, q, BAD, 16, 0, 0));
	show("msgrcv after the fault", msgrcv(q, &m, 16, 0, IPC_NOWAIT));
	show("msgctl stat to bad", syscall(SYS_msgctl, q, IPC_STAT, BAD));
	struct msqid_ds ds;
	msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 1 << 30;
	show("msgctl qbytes 1 GiB", msgctl(q, IPC_SET, &ds));
	int sent = 0;
	while (msgsnd(q, &m, 0, IPC_NOWAIT) == 0)
		sent++;
	printf("empty messages until full: %d errno %d\n", sent, errno);
	msgctl(q, IPC_RMID, 0);

	int ids[5000], n = 0;
	while (n < 5000 && (ids[n] = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600)) >= 0)
		n++;
	printf("semaphore sets until refused: %d errno %d\n", n, errno);
	while (n > 0)
		semctl(ids[--n], 0, IPC_RMID);
	while (n < 5000 && (ids[n] = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) >= 0)
		n++;
	printf("queues until refused: %d errno %d\n", n, errno);
	while (n > 0)
		msgctl(ids[--n], IPC_RMID, 0);
	while (n < 5000 && (ids[n] = shmget(IPC_PRIVATE, 1 << 30, IPC_CREAT | 0600)) >= 0)
		n++;
	printf("1 GiB segments until refused: %d errno %d\n", n, errno);
	while (n > 0)
		shmctl(ids[--n], IPC_RMID, 0);
	/* left behind on purpose: the runtime frees them */
	for (n = 0; n < 3; n++)
		ids[n] = shmget(IPC_PRIVATE, 1 << 20, IPC_CREAT | 0600);
	printf("done\n");
	return 0;
}
