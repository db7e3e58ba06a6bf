/* Plants set-user-ID and set-group-ID programs on the host: Lind may run as root, so a
 * file of the cage's with those bits would run as root for any host user who reaches
 * it. Tries every call that sets a mode (open with O_CREAT, creat, chmod, fchmod,
 * fchmodat, mknod, mkdir) and writes a set-ID file the host left in the root (/setuid),
 * reads another (/setid_read), then tries the canary outside the root (argv[1]). Prints "WHAT RESULT ERRNO" per
 * call and "mode NAME OCTAL" as the cage sees each file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char program[] = "\177ELF: a program that runs a shell";

static void say(const char *what, int r)
{
	printf("%s %d %d\n", what, r, r < 0 ? errno : 0);
}

static void written(const char *what, int fd)
{
	say(what, fd < 0 ? fd : (int)write(fd, program, sizeof program) == sizeof program ? 0 : -1);
	if (fd >= 0)
		close(fd);
}

static void show(const char *name)
{
	struct stat st;
	if (stat(name, &st) == 0)
		printf("mode %s %o\n", name, (unsigned)st.st_mode & 07777);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 100;
	umask(0);
	written("open", open("/open", O_CREAT | O_WRONLY | O_TRUNC, 06755));
	written("creat", creat("/creat", 04755));
	written("chmod_file", open("/chmod", O_CREAT | O_WRONLY, 0755));
	say("chmod", chmod("/chmod", 06755));
	int fd = open("/fchmod", O_CREAT | O_WRONLY, 0755);
	say("fchmod", fchmod(fd, 06755));
	written("fchmod_write", fd);
	written("fchmodat_file", open("/fchmodat", O_CREAT | O_WRONLY, 0755));
	say("fchmodat", fchmodat(AT_FDCWD, "/fchmodat", 02755, 0));
	say("mknod", mknod("/mknod", S_IFREG | 06755, 0));
	written("setuid_write", open("/setuid", O_WRONLY | O_TRUNC));
	char head[4];
	int rd = open("/setid_read", O_RDONLY);  /* only read: it keeps its bits, as on Linux */
	say("setid_read", rd < 0 ? rd : (int)read(rd, head, sizeof head) == (int)sizeof head ? 0 : -1);
	close(rd);
	say("mkdir", mkdir("/dir", 06775));
	say("chmod_dir", chmod("/dir", 06775));
	say("mkdir_sub", mkdir("/dir/sub", 0775));
	say("canary", chmod(argv[1], 06755));
	const char *names[] = {"/open", "/creat", "/chmod", "/fchmod", "/fchmodat", "/mknod",
			       "/setuid", "/setid_read", "/dir", "/dir/sub"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		show(names[i]);
	return 0;
}
