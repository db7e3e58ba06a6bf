/* The fault handler's way out at the Lind process's map count (vm.max_map_count, one
 * table for the whole process): memset (Wasmtime's memory.fill, host code) over the
 * middle of a 3-page PROT_NONE range faults, and opening that one page would split a
 * host mapping, which the kernel refuses (ENOMEM) once the table is full; the handler
 * then opens every page from the memory's base up to its last range, page 0 (the null
 * guard) with it, and page 0 stayed readable and writable for the rest of the cage.
 * Sets up, prints "ready", waits for the file /go (the host fills its table meanwhile,
 * all but a few entries), protects every other page of a region until refused
 * ("protected COUNT ERRNO": the table is full), fills the range's middle page (argv[2]
 * bytes: 4096, a call to memory.fill rather than stores), then at the next
 * system call its SIGSEGV handler (SA_RESETHAND) runs ("caught 1"). Then it writes
 * page 0 (argv[1] is "0"): a null pointer dereference, which must end it with SIGSEGV as
 * natively; "null readable" if it does not. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096
#define SPLITS 4000

static volatile int caught;

static void on_fault(int sig)
{
	(void)sig;
	caught = 1;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 100;
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_fault;
	action.sa_flags = SA_RESETHAND;
	if (sigaction(SIGSEGV, &action, NULL))
		return 101;
	char *range = mmap(0, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *splits = mmap(0, (size_t)SPLITS * 2 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (range == MAP_FAILED || splits == MAP_FAILED || mprotect(range, 3 * PAGE, PROT_NONE))
		return 102;
	printf("ready\n");
	fflush(stdout);
	struct stat st;
	while (stat("/go", &st) != 0)
		usleep(10000);
	int i = 0;
	while (i < SPLITS && mprotect(splits + (size_t)i * 2 * PAGE, PAGE, PROT_NONE) == 0)
		i++;
	int failed = i < SPLITS ? errno : 0;
	memset(range + PAGE, 1, (size_t)atoi(argv[2]));
	getpid();                  /* the fill's SIGSEGV arrives at this call */
	printf("protected %d %d\ncaught %d\n", i, failed, caught);
	fflush(stdout);
	volatile char *null = (volatile char *)(size_t)atoi(argv[1]);
	null[0] = 1;
	printf("null readable %d\n", null[0]);
	return 0;
}
