/* The policy's processes and cpu_time in a cage: `fork` forks until fork fails (the
 * children wait for the parent to let them go) and reaps them; `spin` loops on the CPU,
 * `spin handle` with a SIGXCPU handler that says so; `spin-thread` loops in a second
 * thread while the first waits for it (the limit is the process's, all threads'). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_xcpu(int sig)
{
	(void)sig;
	write(1, "SIGXCPU\n", 8);
}

static void *spinner(void *arg)
{
	for (volatile unsigned long n = 0;; n++)
		;
	return arg;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct rlimit cpu;
	getrlimit(RLIMIT_CPU, &cpu);
	printf("RLIMIT_CPU %llu %llu\n", (unsigned long long)cpu.rlim_cur,
	       (unsigned long long)cpu.rlim_max);
	if (argc > 1 && strcmp(argv[1], "fork") == 0) {
		int gate[2], made = 0, err = 0;
		pipe(gate);
		for (int i = 0; i < 20; i++) {
			pid_t child = fork();
			if (child < 0) {
				err = errno;
				break;
			}
			if (child == 0) {
				char c;
				close(gate[1]);
				read(gate[0], &c, 1);
				_exit(0);
			}
			made++;
		}
		close(gate[1]);
		int reaped = 0;
		while (wait(NULL) > 0)
			reaped++;
		printf("forked %d, then %s; reaped %d\n", made, err ? strerror(err) : "nothing failed",
		       reaped);
		pid_t again = fork();     /* the ended ones count no more */
		if (again == 0)
			_exit(0);
		printf("fork after they ended: %s\n", again > 0 ? "ok" : strerror(errno));
		waitpid(again, NULL, 0);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "spin-thread") == 0) {
		pthread_t thread;
		pthread_create(&thread, NULL, spinner, NULL);
		pthread_join(thread, NULL);
		return 0;
	}
	if (argc > 2)
		signal(SIGXCPU, on_xcpu);
	for (volatile unsigned long n = 0;; n++)
		;
}
