/* Thread names are per thread: one that names itself leaves the others' names alone (a
 * cage's renamed the whole process), a new thread takes its creator's name, another
 * thread is named and asked through /proc/self/task/TID/comm (musl's way: ENOENT in a
 * cage, which had no /proc/self/task), a fork's child has the forking thread's name;
 * /proc/self/status and stat count the threads (a cage always said 1) and show a name
 * with a newline escaped. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_barrier_t started, done;

static void own_name(const char *who)
{
	char name[16];
	prctl(PR_GET_NAME, name);
	printf("%s is named %s\n", who, name);
}

static void *grandchild(void *arg)
{
	own_name("a thread the worker made");
	return arg;
}

static void *worker(void *arg)
{
	pthread_setname_np(pthread_self(), "io-worker");
	pthread_t t;
	pthread_create(&t, NULL, grandchild, NULL);
	pthread_join(t, NULL);
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		own_name("the worker's fork's child");
		fflush(stdout);
		_exit(0);
	}
	waitpid(child, NULL, 0);
	pthread_barrier_wait(&started);
	pthread_barrier_wait(&done);
	return arg;
}

static void *idle(void *arg)
{
	pthread_barrier_wait(&started);
	pthread_barrier_wait(&done);
	return arg;
}

static void status_lines(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "Name:", 5) || !strncmp(line, "Threads:", 8))
			fputs(line, stdout);
	if (f)
		fclose(f);
	f = fopen("/proc/self/stat", "r");
	if (f && fgets(line, sizeof line, f)) {
		char *after = strrchr(line, ')');
		int field = 2;
		for (char *p = after; p && *p; p++)
			if (*p == ' ' && ++field == 20)
				printf("stat's thread count: %d\n", atoi(p + 1));
	}
	if (f)
		fclose(f);
	int tasks = 0;
	DIR *d = opendir("/proc/self/task");
	for (struct dirent *e; d && (e = readdir(d));)
		tasks += e->d_name[0] != '.';
	if (d)
		closedir(d);
	printf("/proc/self/task holds %d\n", tasks);
}

int main(void)
{
	pthread_barrier_init(&started, NULL, 3);
	pthread_barrier_init(&done, NULL, 3);
	prctl(PR_SET_NAME, "server");
	pthread_t w, i;
	pthread_create(&w, NULL, worker, NULL);
	pthread_create(&i, NULL, idle, NULL);
	pthread_barrier_wait(&started);
	own_name("main");
	char name[32];
	printf("name the idle thread: %d\n", pthread_setname_np(i, "idle"));
	printf("a name too long: %d\n", pthread_setname_np(i, "a-name-of-twenty-b"));
	printf("ask the idle thread's: %d ", pthread_getname_np(i, name, sizeof name));
	printf("%s\n", name);
	printf("ask the worker's: %d ", pthread_getname_np(w, name, sizeof name));
	printf("%s\n", name);
	printf("ask into too small a buffer: %d\n", pthread_getname_np(w, name, 4));
	FILE *comm = fopen("/proc/self/comm", "r");
	if (comm && fgets(name, sizeof name, comm))
		printf("/proc/self/comm: %s", name);
	if (comm)
		fclose(comm);
	status_lines();
	pthread_barrier_wait(&done);
	pthread_join(w, NULL);
	pthread_join(i, NULL);
	status_lines();
	prctl(PR_SET_NAME, "a\nUid:\t0\\");  /* shown escaped: no line of its own */
	status_lines();
	return 0;
}
