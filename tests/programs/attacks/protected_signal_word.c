/* The words the host writes on its own initiative when a signal comes (signal_word,
 * 1022: "a handler is due"), named and then made read-only with mprotect. A signal sent
 * then, by the cage itself, a child's exit (SIGCHLD) or the program embedding Lind
 * (after "protected"), used to fail in the sender with EFAULT: kill answered it, the
 * ended child's bookkeeping stopped halfway as a Lind error, Popen.send_signal raised.
 * Prints "kill R ERRNO", "wait R STATUS", "done". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static void caught(int sig)
{
}

int main(void)
{
	signal(SIGUSR1, caught);
	signal(SIGUSR2, caught);
	signal(SIGCHLD, caught);
	char *words = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (syscall(1022, words, words + 4) != 0 || mprotect(words, PAGE, PROT_READ) != 0) {
		perror("setup");
		return 1;
	}
	printf("protected\n");
	fflush(stdout);
	long r = kill(getpid(), SIGUSR2);
	printf("kill %ld %d\n", r, r < 0 ? errno : 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	int status = 0;
	r = waitpid(pid, &status, 0);
	printf("wait %d %d\n", r == pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	sleep(1);                       /* the embedder's SIGUSR1 comes meanwhile */
	printf("done\n");
	return 0;
}
