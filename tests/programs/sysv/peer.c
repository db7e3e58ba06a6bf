/* One side of System V IPC between cages that share nothing but a runtime (and a key).
 *   serve FILE   make a segment and two semaphores under ftok(FILE), write, post, wait
 *   visit FILE   find them by the key, wait for the post, read, answer, post back
 *   create KEY [MODE]  make a segment, a semaphore set and a queue under KEY, and end
 *   others KEY   what a cage of another user may do with the objects `create` made
 *   execdetach   attach a segment, exec itself with "nattch ID": exec detaches it
 *   probe KEY    print the errno (0: found) of shmget, semget and msgget of KEY
 *   undo KEY     raise semaphore 0 of KEY's set by 5 with SEM_UNDO, say so, pause
 *   getval KEY   print semaphore 0 of KEY's set
 *   wait KEY     a caught SIGUSR1; block in semop on KEY's set and print how it ended
 *   msgwait KEY  block in msgrcv on KEY's queue and print how it ended
 *   msgrm KEY    remove KEY's queue
 *   pingpong N   parent and child bounce a token N times through semaphores and a queue */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(void)
{
	struct timespec ts = {0, 5000000};
	nanosleep(&ts, 0);
}

static int retry(int (*get)(key_t), key_t key)
{
	for (int i = 0; i < 2000; i++) {
		int id = get(key);
		if (id >= 0)
			return id;
		nap();
	}
	return -1;
}

static int get_shm(key_t key) { return shmget(key, 0, 0); }
static int get_sem(key_t key) { return semget(key, 0, 0); }

static int post(int sem, int num, int op)
{
	struct sembuf b = {num, op, 0};
	return semop(sem, &b, 1);
}

static void on_signal(int sig) { (void)sig; }

static int pingpong(int rounds)
{
	int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	struct { long mtype; int n; } m;
	pid_t child = fork();
	if (child == 0) {
		for (int i = 0; i < rounds; i++) {
			post(sem, 0, -1);
			msgrcv(q, &m, sizeof m.n, 1, 0);
			m.mtype = 2;
			m.n += 1;
			msgsnd(q, &m, sizeof m.n, 0);
			post(sem, 1, 1);
		}
		_exit(0);
	}
	int n = 0;
	for (int i = 0; i < rounds; i++) {
		m.mtype = 1;
		m.n = n;
		msgsnd(q, &m, sizeof m.n, 0);
		post(sem, 0, 1);
		post(sem, 1, -1);
		msgrcv(q, &m, sizeof m.n, 2, 0);
		n = m.n + 1;
	}
	int status;
	waitpid(child, &status, 0);
	printf("pingpong: %d rounds, token %d, child status %d\n", rounds, n, status);
	semctl(sem, 0, IPC_RMID);
	msgctl(q, IPC_RMID, 0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 3)
		return 2;
	const char *mode = argv[1];
	if (!strcmp(mode, "pingpong"))
		return pingpong(atoi(argv[2]));
	key_t key = (!strcmp(mode, "serve") || !strcmp(mode, "visit"))
		? ftok(argv[2], 'S') : (key_t)strtol(argv[2], 0, 0);
	if (!strcmp(mode, "serve")) {
		int shm = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
		int sem = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
		char *p = shmat(shm, 0, 0);
		if (shm < 0 || sem < 0 || p == (void *)-1)
			return 1;
		strcpy(p, "written by serve");
		post(sem, 0, 1);
		post(sem, 1, -1);
		printf("serve: visitor wrote \"%s\"\n", p + 100);
		shmdt(p);
		struct shmid_ds ds;
		shmctl(shm, IPC_STAT, &ds);
		printf("serve: attaches left %lu\n", (unsigned long)ds.shm_nattch);
		shmctl(shm, IPC_RMID, 0);
		semctl(sem, 0, IPC_RMID);
		return 0;
	}
	if (!strcmp(mode, "visit")) {
		int shm = retry(get_shm, key), sem = retry(get_sem, key);
		if (shm < 0 || sem < 0)
			return 1;
		post(sem, 0, -1);
		char *p = shmat(shm, 0, 0);
		printf("visit: read \"%s\"\n", p);
		strcpy(p + 100, "written by visit");
		shmdt(p);
		post(sem, 1, 1);
		return 0;
	}
	if (!strcmp(mode, "execdetach")) {
		int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
		char *p = shmat(id, 0, 0);
		struct shmid_ds ds;
		shmctl(id, IPC_STAT, &ds);
		printf("before exec: %d nattch %lu\n", p != (void *)-1, (unsigned long)ds.shm_nattch);
		execl(argv[0], argv[0], "nattch", argv[2], (char *)0);
		return 1;
	}
	if (!strcmp(mode, "nattch")) {   /* after execdetach: the id is the only private one */
		struct shmid_ds ds;
		int id = shmctl(0, SHM_STAT, &ds);
		printf("after exec: nattch %lu\n", (unsigned long)ds.shm_nattch);
		return shmctl(id, IPC_RMID, 0);
	}
	if (!strcmp(mode, "others")) {
		struct shmid_ds ds;
		int shm = shmget(key, 0, 0), sem = semget(key, 0, 0), q = msgget(key, 0);
		printf("get with no mode: %d %d %d\n", shm >= 0, sem >= 0, q >= 0);
		printf("shmget asking rw: %d\n", shmget(key, 0, 0600) < 0 ? errno : 0);
		printf("IPC_STAT: %d\n", shmctl(shm, IPC_STAT, &ds) < 0 ? errno : 0);
		printf("shmat: %d\n", shmat(shm, 0, 0) == (void *)-1 ? errno : 0);
		printf("shmat SHM_RDONLY: %d\n", shmat(shm, 0, SHM_RDONLY) == (void *)-1 ? errno : 0);
		printf("IPC_RMID: %d\n", shmctl(shm, IPC_RMID, 0) < 0 ? errno : 0);
		struct sembuf down = {0, -1, IPC_NOWAIT}, zero = {0, 0, IPC_NOWAIT};
		printf("semop -1: %d\n", semop(sem, &down, 1) < 0 ? errno : 0);
		printf("semop 0: %d\n", semop(sem, &zero, 1) < 0 ? errno : 0);
		printf("SETVAL: %d\n", semctl(sem, 0, SETVAL, 1) < 0 ? errno : 0);
		struct { long mtype; char text[8]; } m = {1, "x"};
		printf("msgsnd: %d\n", msgsnd(q, &m, 1, IPC_NOWAIT) < 0 ? errno : 0);
		printf("msgrcv: %d\n", msgrcv(q, &m, 8, 0, IPC_NOWAIT) < 0 ? errno : 0);
		return 0;
	}
	if (!strcmp(mode, "create")) {
		int perm = argc > 3 ? (int)strtol(argv[3], 0, 8) : 0600;
		int a = shmget(key, 4096, IPC_CREAT | perm);
		int b = semget(key, 1, IPC_CREAT | perm);
		int c = msgget(key, IPC_CREAT | perm);
		printf("created %d %d %d\n", a >= 0, b >= 0, c >= 0);
		return 0;
	}
	if (!strcmp(mode, "probe")) {
		int a = shmget(key, 0, 0) < 0 ? errno : 0;
		int b = semget(key, 0, 0) < 0 ? errno : 0;
		int c = msgget(key, 0) < 0 ? errno : 0;
		printf("probe %d %d %d\n", a, b, c);
		return 0;
	}
	if (!strcmp(mode, "msgwait")) {
		struct { long mtype; char text[8]; } m;
		int r = msgrcv(msgget(key, IPC_CREAT | 0600), &m, sizeof m.text, 0, 0);
		printf("msgwait %d %d\n", r, r < 0 ? errno : 0);
		return 0;
	}
	if (!strcmp(mode, "msgrm"))
		return msgctl(msgget(key, 0), IPC_RMID, 0) < 0;
	int sem = semget(key, 1, IPC_CREAT | 0600);
	if (!strcmp(mode, "undo")) {
		struct sembuf b = {0, 5, SEM_UNDO};
		printf("undo %d\n", semop(sem, &b, 1));
		pause();
		return 0;
	}
	if (!strcmp(mode, "getval")) {
		printf("getval %d\n", semctl(sem, 0, GETVAL));
		return 0;
	}
	if (!strcmp(mode, "wait")) {
		signal(SIGUSR1, on_signal);
		int r = post(sem, 0, -1);
		printf("wait %d %d\n", r, r < 0 ? errno : 0);
		return 0;
	}
	return 2;
}
