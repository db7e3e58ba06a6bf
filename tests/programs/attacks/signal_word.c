/* Registers its signal words (Lind's call 1022) where the host cannot write: past the
 * end of its memory, straddling the end (far, and by one byte), and the process word alone out of bounds
 * (its thread word a good one); then has children end (SIGCHLD, sent from other
 * cages' threads, makes the host write the words). Prints "CALL RESULT ERRNO". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, long r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
	fflush(stdout);
	errno = 0;
}

static volatile sig_atomic_t children;
static void on_child(int sig) { (void)sig; children++; }

int main(void)
{
	static volatile int mine;
	report("beyond-memory", syscall(1022, 0xFFFFFFF0UL, 0xFFFFFFF0UL));
	report("straddling-the-end", syscall(1022, 0xFFFFFFFEUL, 0));
	/* its last 3 bytes: the 4-byte word would end one byte past the memory */
	unsigned long end = (unsigned long)__builtin_wasm_memory_size(0) * 65536;
	report("last-three-bytes", syscall(1022, end - 3, 0));
	report("process-word-beyond", syscall(1022, (unsigned long)&mine, 0xFFFFFFFCUL));
	signal(SIGCHLD, on_child);
	for (int i = 0; i < 3; i++) {
		pid_t child = fork();
		if (child == 0)
			_exit(0);
		waitpid(child, NULL, 0);
	}
	report("children-reaped", 0);
	return 0;
}
