/* Each open of /proc/self/cmdline or /proc/self/environ is the host's RAM for as long
 * as it stays open (a memfd of the text): with ~0.9 MiB of each, opened 250 times each
 * under --memory 64M, the opens must stop at the budget (ENOMEM), not hold ~450 MiB of
 * the host. Re-execs itself with the big argv and environment first. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "go")) {
		static char arg[120000], env[120000];
		char *args[12], *envp[10];
		int n = 0;
		memset(arg, 'a', sizeof arg - 1);
		memcpy(env, "X=", 2);
		memset(env + 2, 'e', sizeof env - 3);
		args[n++] = argv[0];
		args[n++] = "go";
		for (int i = 0; i < 8; i++)
			args[n++] = arg;
		args[n] = NULL;
		for (int i = 0; i < 8; i++)
			envp[i] = env;
		envp[8] = NULL;
		execve("/proc/self/exe", args, envp);
		printf("execve errno %d\n", errno);
		return 1;
	}
	struct rlimit r;
	getrlimit(RLIMIT_NOFILE, &r);
	r.rlim_cur = r.rlim_max;
	setrlimit(RLIMIT_NOFILE, &r);
	int opened = 0, err = 0;
	for (int i = 0; i < 250 && !err; i++) {
		const char *names[] = {"/proc/self/cmdline", "/proc/self/environ"};
		for (int j = 0; j < 2 && !err; j++) {
			if (open(names[j], O_RDONLY) < 0)
				err = errno;
			else
				opened++;
		}
	}
	printf("opened %d until errno %d\n", opened, err);
	return 0;
}
