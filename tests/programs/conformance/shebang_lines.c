/* `#!` scripts as Linux runs them: the interpreter gets the script's path as execve was
 * given it ("./s1", not the absolute path a cage passed), a nested script's name as
 * the outer line wrote it; the line is trimmed of spaces and tabs only, so a CRLF
 * script's interpreter ends in "\r" and is not found (ENOENT; a cage stripped it and ran
 * it), a tab ends the name as a space does, and the argument keeps inner spaces and a
 * "\r". The program is its own interpreter: run with arguments it prints them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void script(const char *name, const char *self, const char *before, const char *after)
{
	char text[512];
	int n = snprintf(text, sizeof text, "#!%s%s%s\nbody\n", before, self, after);
	int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0755);
	write(fd, text, n);
	close(fd);
}

static void run(const char *path)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {(char *)path, "a1", "a 2", NULL};
		execv(path, argv);
		printf("%s: execv errno %d\n", path, errno);
		fflush(stdout);
		_exit(99);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("%s: status %d\n", path, WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
	if (argc > 1) {         /* an interpreter: never the main program again */
		printf("  args:");
		for (int i = 1; i < argc; i++) {
			printf(" [");
			for (const char *c = argv[i]; *c; c++)
				printf(*c == '\r' ? "\\r" : *c == '\t' ? "\\t" : "%c", *c);
			printf("]");
		}
		printf("\n");
		return 0;
	}
	const char *self = argv[0];
	script("s1", self, "", " show one  two  ");
	script("s2", self, "  ", "\tshow");
	script("s3", self, "", " show\r");
	script("s4", self, "", "\r");
	script("s5", "./s1", "", "");
	run("./s1");
	run("s1");
	run("./s2");
	run("./s3");
	run("./s4");
	run("./s5");
	return 0;
}
