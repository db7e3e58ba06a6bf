/* System V shared memory, semaphores and message queues, within one process and
 * between a parent and its forked children: values, errnos and wake-ups as on Linux.
 * Objects are IPC_PRIVATE, or made under an ftok key of a file of our own and removed,
 * so a native run leaves nothing behind. Only what is the same natively (often as
 * root) and in a cage (uid 1000) is printed: no ids, owners as comparisons. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

struct message {
	long mtype;
	char mtext[64];
};

static int err(long r) { return r < 0 ? errno : 0; }

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, 0);
}

static void on_signal(int sig) { (void)sig; }

static void shm_stat(int id, const char *when)
{
	struct shmid_ds ds;
	int r = shmctl(id, IPC_STAT, &ds);
	printf("%s: stat %d segsz %zu nattch %lu mode %o mine %d %d\n", when, err(r),
	       (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch,
	       (unsigned)ds.shm_perm.mode & 01777, ds.shm_perm.uid == geteuid(),
	       ds.shm_cpid == getpid());
}

static void shared_memory(void)
{
	printf("shmget size 0: %d\n", err(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600)));
	printf("shmctl -1: %d\n", err(shmctl(-1, IPC_STAT, &(struct shmid_ds){0})));
	printf("shmat -1: %d\n", err((long)shmat(-1, 0, 0)));
	int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
	printf("shmget: %d\n", id >= 0);
	shm_stat(id, "new");
	printf("unknown shmctl: %d\n", err(shmctl(id, 0x7f, 0)));
	printf("IPC_STAT to NULL: %d\n", err(shmctl(id, IPC_STAT, 0)));

	char *p = shmat(id, 0, 0);
	printf("shmat: %d aligned %d zeros %d\n", p != (void *)-1, (long)p % 4096 == 0,
	       p[0] == 0 && p[9999] == 0);
	strcpy(p, "hello");
	char *q = shmat(id, 0, 0);
	printf("second shmat: other address %d sees %s\n", q != p, q);
	strcpy(q + 100, "through q");
	printf("p sees %s\n", p + 100);
	struct shmid_ds ds;
	shmctl(id, IPC_STAT, &ds);
	printf("attached: nattch %lu lpid %d atime %d\n", (unsigned long)ds.shm_nattch,
	       ds.shm_lpid == getpid(), ds.shm_atime != 0);

	printf("shmat unaligned: %d\n", err((long)shmat(id, p + 1, 0)));
	printf("shmat over p: %d\n", err((long)shmat(id, p, 0)));

	pid_t child = fork();
	if (child == 0) {
		struct shmid_ds c;
		shmctl(id, IPC_STAT, &c);
		printf("child: sees %s nattch %lu\n", p, (unsigned long)c.shm_nattch);
		strcpy(p, "from child");
		_exit(0);
	}
	waitpid(child, 0, 0);
	shm_stat(id, "after child");
	printf("parent sees %s\n", q);

	printf("shmdt q: %d\n", err(shmdt(q)));
	printf("shmdt q again: %d\n", err(shmdt(q)));
	printf("shmdt p+1: %d\n", err(shmdt(p + 1)));
	printf("shmdt p+4096: %d\n", err(shmdt(p + 4096)));
	shm_stat(id, "one attach");
	printf("shmdt p: %d\n", err(shmdt(p)));
	char *r = shmat(id, p + 123, SHM_RND);
	printf("SHM_RND: at p %d sees %s\n", r == p, r);

	ds.shm_perm.mode = 0640;
	printf("IPC_SET: %d\n", err(shmctl(id, IPC_SET, &ds)));
	shm_stat(id, "after set");
	printf("IPC_RMID attached: %d\n", err(shmctl(id, IPC_RMID, 0)));
	shm_stat(id, "removed");
	char *s = shmat(id, 0, 0);
	printf("shmat after RMID: %d sees %s\n", s != (void *)-1, s);
	shm_stat(id, "removed, 2 attached");
	shmdt(s);
	shmdt(r);
	shm_stat(id, "all detached");

	struct shminfo info;
	int max = shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
	printf("IPC_INFO: %d shmmax %d shmmni %d\n", max >= 0, info.shmmax >= 4096,
	       info.shmmni > 0);
	struct shm_info used;
	printf("SHM_INFO: %d\n", shmctl(0, SHM_INFO, (struct shmid_ds *)&used) >= 0);

	FILE *f = fopen("ipc_key", "w");
	fclose(f);
	key_t key = ftok("ipc_key", 'L');
	printf("ftok: %d\n", key != -1);
	printf("shmget missing key: %d\n", err(shmget(key, 4096, 0600)));
	int k = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
	printf("shmget key: %d\n", k >= 0);
	printf("again, IPC_EXCL: %d\n", err(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600)));
	printf("again: same %d\n", shmget(key, 0, 0) == k);
	printf("again, bigger: %d\n", err(shmget(key, 8192, 0)));
	printf("remove: %d\n", err(shmctl(k, IPC_RMID, 0)));
	printf("after remove: %d\n", err(shmget(key, 4096, 0600)));
	unlink("ipc_key");
}

static int getval(int id, int n, int cmd) { return semctl(id, n, cmd); }

static void semaphores(void)
{
	printf("semget 0: %d\n", err(semget(IPC_PRIVATE, 0, IPC_CREAT | 0600)));
	printf("semget -1: %d\n", err(semget(IPC_PRIVATE, -1, IPC_CREAT | 0600)));
	int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
	struct semid_ds ds;
	int r = semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
	printf("semget: %d stat %d nsems %lu mode %o mine %d otime %ld\n", id >= 0, err(r),
	       (unsigned long)ds.sem_nsems, (unsigned)ds.sem_perm.mode & 0777,
	       ds.sem_perm.cuid == geteuid(), (long)ds.sem_otime);
	printf("GETVAL: %d\n", getval(id, 0, GETVAL));
	r = semctl(id, 0, SETVAL, (union semun){.val = 5});
	printf("SETVAL 5: %d, %d, pid %d\n", err(r), getval(id, 0, GETVAL),
	       getval(id, 0, GETPID) == getpid());
	/* as many programs write it: a plain int where POSIX says union semun */
	r = semctl(id, 0, SETVAL, 9);
	printf("SETVAL 9 as an int: %d, %d\n", err(r), getval(id, 0, GETVAL));
	semctl(id, 0, SETVAL, (union semun){.val = 5});
	printf("SETVAL -1: %d\n", err(semctl(id, 0, SETVAL, (union semun){.val = -1})));
	printf("SETVAL 32768: %d\n", err(semctl(id, 0, SETVAL, (union semun){.val = 32768})));
	printf("GETVAL 3: %d\n", err(getval(id, 3, GETVAL)));
	printf("GETVAL -1: %d\n", err(getval(id, -1, GETVAL)));
	unsigned short all[3] = {1, 2, 3};
	printf("SETALL: %d\n", err(semctl(id, 0, SETALL, (union semun){.array = all})));
	memset(all, 0, sizeof all);
	semctl(id, 0, GETALL, (union semun){.array = all});
	printf("GETALL: %d %d %d\n", all[0], all[1], all[2]);

	struct sembuf down = {0, -1, 0};
	r = semop(id, &down, 1);
	printf("semop -1: %d, %d\n", err(r), getval(id, 0, GETVAL));
	down.sem_flg = IPC_NOWAIT;
	printf("semop -1 at 0, IPC_NOWAIT: %d\n", err(semop(id, &down, 1)));
	struct sembuf zero = {1, 0, IPC_NOWAIT};
	printf("wait for zero at 2, IPC_NOWAIT: %d\n", err(semop(id, &zero, 1)));
	printf("nsops 0: %d\n", err(semop(id, &down, 0)));
	printf("sops NULL: %d\n", err(semop(id, 0, 1)));
	printf("GETALL to NULL: %d\n", err(semctl(id, 0, GETALL, (union semun){.array = 0})));
	struct sembuf big[501] = {{0}};
	printf("nsops 501: %d\n", err(semop(id, big, 501)));
	struct sembuf past = {3, 1, 0};
	printf("sem_num 3: %d\n", err(semop(id, &past, 1)));
	printf("semop -1 id: %d\n", err(semop(-1, &past, 1)));
	struct sembuf pair[2] = {{0, 1, 0}, {1, -5, IPC_NOWAIT}};
	r = semop(id, pair, 2);
	printf("all or nothing: %d, %d\n", err(r), getval(id, 0, GETVAL));
	struct sembuf same[2] = {{2, -3, 0}, {2, 2, 0}};
	r = semop(id, same, 2);
	printf("two ops on one: %d, %d\n", err(r), getval(id, 2, GETVAL));
	semctl(id, 0, SETVAL, (union semun){.val = 32767});
	struct sembuf up = {0, 1, 0};
	printf("past SEMVMX: %d\n", err(semop(id, &up, 1)));
	semctl(id, 0, SETVAL, (union semun){.val = 0});
	struct sembuf wait1 = {0, -1, 0};
	struct timespec soon = {0, 20000000};
	printf("semtimedop timeout: %d\n", err(semtimedop(id, &wait1, 1, &soon)));
	struct timespec bad = {0, 2000000000};
	printf("semtimedop bad timeout: %d\n", err(semtimedop(id, &wait1, 1, &bad)));
	semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
	printf("otime set: %d\n", ds.sem_otime != 0);

	/* a child blocks until the parent raises the semaphore */
	pid_t child = fork();
	if (child == 0) {
		struct sembuf w = {0, -2, 0};
		int rc = semop(id, &w, 1);
		printf("child woke: %d, value %d\n", err(rc), getval(id, 0, GETVAL));
		_exit(0);
	}
	while (getval(id, 0, GETNCNT) != 1)
		nap(1);
	printf("GETNCNT: %d GETZCNT %d\n", getval(id, 0, GETNCNT), getval(id, 0, GETZCNT));
	struct sembuf one = {0, 1, 0};
	semop(id, &one, 1);
	nap(20);
	printf("one up, still waiting: %d\n", getval(id, 0, GETNCNT));
	semop(id, &one, 1);
	waitpid(child, 0, 0);
	printf("GETPID is the child's: %d\n", getval(id, 0, GETPID) == child);

	/* waiting for zero */
	semctl(id, 1, SETVAL, (union semun){.val = 1});
	child = fork();
	if (child == 0) {
		struct sembuf z = {1, 0, 0};
		printf("child zero: %d\n", err(semop(id, &z, 1)));
		_exit(0);
	}
	while (getval(id, 1, GETZCNT) != 1)
		nap(1);
	printf("GETZCNT: %d\n", getval(id, 1, GETZCNT));
	struct sembuf dec = {1, -1, 0};
	semop(id, &dec, 1);
	waitpid(child, 0, 0);

	/* SEM_UNDO is undone when the process ends, and not inherited by fork */
	semctl(id, 2, SETVAL, (union semun){.val = 4});
	child = fork();
	if (child == 0) {
		struct sembuf u[2] = {{2, 3, SEM_UNDO}, {1, 1, 0}};
		semop(id, u, 2);
		pid_t grandchild = fork();
		if (grandchild == 0)
			_exit(0);
		waitpid(grandchild, 0, 0);
		printf("child after its child ended: %d\n", getval(id, 2, GETVAL));
		_exit(0);
	}
	waitpid(child, 0, 0);
	printf("after SEM_UNDO child: %d (undone), %d (kept)\n", getval(id, 2, GETVAL),
	       getval(id, 1, GETVAL));
	struct sembuf takeundo = {2, -4, SEM_UNDO};
	semop(id, &takeundo, 1);
	semctl(id, 2, SETVAL, (union semun){.val = 1});
	printf("SETVAL clears semadj: %d\n", getval(id, 2, GETVAL));

	/* a caught signal ends a wait with EINTR, even under SA_RESTART */
	semctl(id, 0, SETVAL, (union semun){.val = 0});
	child = fork();
	if (child == 0) {
		struct sigaction sa = {0};
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, 0);
		struct sembuf w = {0, -1, 0};
		int rc = semop(id, &w, 1);
		printf("child interrupted: %d\n", err(rc));
		_exit(0);
	}
	while (getval(id, 0, GETNCNT) != 1)
		nap(1);
	kill(child, SIGUSR1);
	waitpid(child, 0, 0);

	/* IPC_RMID wakes waiters with EIDRM */
	child = fork();
	if (child == 0) {
		struct sembuf w = {0, -1, 0};
		int rc = semop(id, &w, 1);
		printf("child after RMID: %d\n", err(rc));
		_exit(0);
	}
	while (getval(id, 0, GETNCNT) != 1)
		nap(1);
	r = semctl(id, 0, IPC_RMID);
	waitpid(child, 0, 0);
	printf("IPC_RMID: %d\n", err(r));
	printf("GETVAL removed: %d\n", err(getval(id, 0, GETVAL)));

	struct seminfo info;
	int max = semctl(0, 0, IPC_INFO, (union semun){.buf = (struct semid_ds *)&info});
	printf("IPC_INFO: %d semmsl %d semopm %d semvmx %d\n", max >= 0, info.semmsl > 0,
	       info.semopm > 0, info.semvmx);
}

static void send(int q, long type, const char *text)
{
	struct message m = {.mtype = type};
	strcpy(m.mtext, text);
	int r = msgsnd(q, &m, strlen(text), 0);
	if (r < 0)
		printf("msgsnd %ld: %d\n", type, errno);
}

static void receive(int q, long type, int flags, size_t size, const char *what)
{
	struct message m = {0};
	ssize_t n = msgrcv(q, &m, size, type, flags);
	if (n < 0)
		printf("%s: error %d\n", what, errno);
	else
		printf("%s: type %ld %.*s\n", what, m.mtype, (int)n, m.mtext);
}

static void message_queues(void)
{
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	struct msqid_ds ds;
	msgctl(q, IPC_STAT, &ds);
	printf("msgget: %d qnum %lu cbytes %lu qbytes %d mode %o mine %d\n", q >= 0,
	       (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes, ds.msg_qbytes > 0,
	       (unsigned)ds.msg_perm.mode & 0777, ds.msg_perm.uid == geteuid());
	send(q, 3, "three");
	send(q, 1, "one");
	send(q, 2, "two");
	send(q, 1, "uno");
	msgctl(q, IPC_STAT, &ds);
	printf("queued: qnum %lu cbytes %lu lspid %d\n", (unsigned long)ds.msg_qnum,
	       (unsigned long)ds.__msg_cbytes, ds.msg_lspid == getpid());
	receive(q, 0, 0, 64, "type 0");
	receive(q, -2, 0, 64, "type -2");
	receive(q, 2, 0, 64, "type 2");
	receive(q, 5, IPC_NOWAIT, 64, "type 5");
	send(q, 7, "seven");
	receive(q, 1, MSG_EXCEPT, 64, "except 1");
	receive(q, 0, 0, 64, "next");
	send(q, 4, "ten bytes!");
	receive(q, 0, 0, 4, "small buffer");
	receive(q, 0, MSG_NOERROR, 4, "MSG_NOERROR");
	receive(q, 0, IPC_NOWAIT, 64, "empty");
	msgctl(q, IPC_STAT, &ds);
	printf("emptied: qnum %lu lrpid %d rtime %d\n", (unsigned long)ds.msg_qnum,
	       ds.msg_lrpid == getpid(), ds.msg_rtime != 0);

	struct message m = {.mtype = 0};
	printf("mtype 0: %d\n", err(msgsnd(q, &m, 1, 0)));
	m.mtype = 1;
	printf("too big: %d\n", err(msgsnd(q, &m, 8193, 0)));
	printf("bad id: %d\n", err(msgsnd(-1, &m, 1, 0)));
	printf("msgsnd NULL: %d\n", err(msgsnd(q, 0, 1, 0)));
	printf("msgctl IPC_STAT to NULL: %d\n", err(msgctl(q, IPC_STAT, 0)));
	printf("rcv bad id: %d\n", err(msgrcv(-1, &m, 1, 0, 0)));

	ds.msg_qbytes = 100;
	printf("IPC_SET qbytes 100: %d\n", err(msgctl(q, IPC_SET, &ds)));
	char fill[64];
	memset(fill, 'x', sizeof fill);
	memcpy(m.mtext, fill, sizeof fill);
	printf("60 bytes: %d\n", err(msgsnd(q, &m, 60, 0)));
	printf("60 more, IPC_NOWAIT: %d\n", err(msgsnd(q, &m, 60, IPC_NOWAIT)));

	pid_t child = fork();
	if (child == 0) {
		nap(50);
		receive(q, 0, MSG_NOERROR, 1, "child takes one");
		_exit(0);
	}
	int blocked = msgsnd(q, &m, 60, 0);
	waitpid(child, 0, 0);
	printf("blocking send: %d\n", err(blocked));
	receive(q, 0, MSG_NOERROR, 1, "drain");

	child = fork();
	if (child == 0) {
		receive(q, 9, 0, 64, "child waited for 9");
		_exit(0);
	}
	nap(50);
	send(q, 8, "eight");
	send(q, 9, "nine");
	waitpid(child, 0, 0);
	receive(q, 0, IPC_NOWAIT, 64, "left");

	child = fork();
	if (child == 0) {
		struct sigaction sa = {0};
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGALRM, &sa, 0);
		/* again and again: a signal that came before msgrcv blocked is not the last */
		struct itimerval t = {{0, 100000}, {0, 100000}};
		setitimer(ITIMER_REAL, &t, 0);
		receive(q, 0, 0, 64, "child msgrcv with a signal");
		_exit(0);
	}
	waitpid(child, 0, 0);

	printf("IPC_RMID: %d\n", err(msgctl(q, IPC_RMID, 0)));
	printf("send to removed: %d\n", err(msgsnd(q, &m, 1, 0)));

	struct msginfo info;
	int max = msgctl(0, IPC_INFO, (struct msqid_ds *)&info);
	printf("IPC_INFO: %d msgmax %d msgmnb %d\n", max >= 0, info.msgmax > 0, info.msgmnb > 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	shared_memory();
	semaphores();
	message_queues();
	return 0;
}
