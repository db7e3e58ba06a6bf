/* Escapes escape.c does not try: /proc's links to roots and cwds, and symbolic
 * links swapped while the cage opens them (by a forked child here, by the host in
 * the test). argv[1] is the host path of a secret file outside the root. Prints
 * "tried=N escaped=M". */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int tried, escaped;

static void attempt(const char *path)
{
	char buf[64] = {0};
	tried++;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	if (read(fd, buf, sizeof buf - 1) > 0 && strstr(buf, "SECRET")) {
		printf("ESCAPED via %s\n", path);
		escaped++;
	}
	close(fd);
}

int main(int argc, char **argv)
{
	const char *secret = argv[1];
	char path[600];
	snprintf(path, sizeof path, "/proc/self/root%s", secret);
	attempt(path);
	snprintf(path, sizeof path, "/proc/1/root%s", secret);
	attempt(path);
	snprintf(path, sizeof path, "/proc/%d/root%s", getppid(), secret);
	attempt(path);
	attempt("/proc/self/root/../secret.txt");
	attempt("/proc/self/cwd/../secret.txt");
	attempt("/proc/1/cwd/../secret.txt");
	for (int fd = 0; fd < 8; fd++) {
		snprintf(path, sizeof path, "/proc/self/fd/%d/../secret.txt", fd);
		attempt(path);
	}
	/* A child swaps /swap between a harmless file and a link out of the root. */
	close(creat("/harmless", 0644));
	pid_t child = fork();
	if (child == 0) {
		for (int i = 0; i < 3000; i++) {
			symlink(i % 2 ? secret : "../secret.txt", "/swap.new");
			rename("/swap.new", "/swap");
			link("/harmless", "/swap.new");
			rename("/swap.new", "/swap");
		}
		_exit(0);
	}
	for (int i = 0; i < 3000; i++) {
		attempt("/swap");
		attempt("/host_swap");   /* the test swaps this one from outside */
	}
	waitpid(child, NULL, 0);
	printf("tried=%d escaped=%d\n", tried, escaped);
	return escaped ? 99 : 0;
}
