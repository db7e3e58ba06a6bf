/* Opening FIFOs as Linux does (the rendezvous the microvisor waits for without
 * blocking the host, found thinly tested by the mutation run of sys_files.py):
 * fopen "r" waits for a writer and fopen "w" (O_WRONLY|O_CREAT|O_TRUNC) for a
 * reader, in either order; O_RDWR opens at once; O_NONBLOCK opens for reading at
 * once and for writing fail with ENXIO while nobody reads; a blocked open ends with
 * EINTR when a handler without SA_RESTART runs. Prints errno numbers. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_alarm(int sig) { (void)sig; }

static void child_opens(const char *mode)
{
	usleep(50000);
	FILE *f = fopen("p", mode);
	if (!f)
		_exit(1);
	if (mode[0] == 'w') {
		fputs("from the child\n", f);
	} else {
		char line[64] = "";
		fgets(line, sizeof line, f);
		_exit(strcmp(line, "from the parent\n") == 0 ? 0 : 2);
	}
	fclose(f);
	_exit(0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("mkfifo: %d\n", mkfifo("p", 0600));

	pid_t pid = fork();
	if (pid == 0)
		child_opens("w");
	FILE *r = fopen("p", "r");
	char line[64] = "";
	fgets(line, sizeof line, r);
	fclose(r);
	int status;
	waitpid(pid, &status, 0);
	printf("reader first read: %s", line);

	pid = fork();
	if (pid == 0)
		child_opens("r");
	FILE *w = fopen("p", "w");
	fputs("from the parent\n", w);
	fclose(w);
	waitpid(pid, &status, 0);
	printf("writer first, the child read it: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	int rw = open("p", O_RDWR);
	printf("O_RDWR at once: %d\n", rw >= 0);
	write(rw, "x", 1);
	char c = 0;
	read(rw, &c, 1);
	printf("  read back %c\n", c);
	close(rw);

	int nr = open("p", O_RDONLY | O_NONBLOCK);
	printf("O_RDONLY|O_NONBLOCK at once: %d\n", nr >= 0);
	int nw = open("p", O_WRONLY | O_NONBLOCK);
	printf("O_WRONLY|O_NONBLOCK with a reader: %d\n", nw >= 0);
	close(nw);
	close(nr);
	nw = open("p", O_WRONLY | O_NONBLOCK);
	printf("O_WRONLY|O_NONBLOCK without: %d %d\n", nw, nw < 0 ? errno : 0);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	int blocked = open("p", O_WRONLY);
	printf("a blocked open and SIGALRM: %d %d\n", blocked, blocked < 0 ? errno : 0);
	return 0;
}
