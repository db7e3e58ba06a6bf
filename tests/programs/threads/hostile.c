/* Hostile uses of clone(CLONE_THREAD): bad stacks and flags (errnos), a thread that
 * starts at no function (the cage ends with SIGSEGV, nothing else), and a thread bomb
 * (EAGAIN at the cage's RLIMIT_NPROC, the host unharmed). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <pthread.h>
static void *sleeper(void *a) { for (;;) pause(); return a; }
int main(int argc, char **argv) {
	setvbuf(stdout, 0, _IONBF, 0);
	long flags = CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS;
	/* bad stacks */
	long r1 = syscall(SYS_clone, flags, 0, 0, 0, 0);
	long e1 = errno;
	long r2 = syscall(SYS_clone, flags, 0xfffffff0L, 0, 0, 0);
	long e2 = errno;
	long r3 = syscall(SYS_clone, CLONE_THREAD, 0x10000, 0, 0, 0);
	long e3 = errno;
	printf("stack 0: %ld %ld; stack at the top: %ld %ld; missing flags: %ld %ld\n", r1, e1, r2, e2, r3, e3);
	if (argc > 1 && !strcmp(argv[1], "badfunc")) {
		static char stack[65536] __attribute__((aligned(16)));
		void **top = (void **)(stack + sizeof stack) - 4;
		top[0] = (void *)12345678;  /* no such function */
		top[1] = 0;
		long r = syscall(SYS_clone, flags, top, 0, 0, stack);
		printf("clone with a bad function: %ld\n", r);
		sleep(1);
		printf("not reached\n");
	}
	if (argc > 1 && !strcmp(argv[1], "bomb")) {
		int n = 0;
		pthread_t t;
		pthread_attr_t a; pthread_attr_init(&a); pthread_attr_setstacksize(&a, 16384);
		int err; while (!(err = pthread_create(&t, &a, sleeper, 0))) n++;
		printf("error %d\n", err);
		printf("threads until EAGAIN: %d\n", n);
		exit(0);
	}
	return 0;
}
