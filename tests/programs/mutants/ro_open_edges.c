/* Opens at the edges of a read-only directory DIR (argv[1]: a read-only mount holding
 * file.txt, sub/, link -> file.txt, dangling -> nowhere.txt and fifo), and execve of a FIFO (argv[2]): run
 * natively on a read-only bind mount and in a cage on a `:ro` mount, the outputs are
 * compared (tests/test_mutants_fs.py). One line per step: "what result errno". Calls that
 * make a name say EEXIST for one that is there before they say EROFS (mkdir -p goes on). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *dir;

static void try_open(const char *what, const char *name, int flags)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, flags, 0600);
	printf("%s %d %d\n", what, fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
}

static void say(const char *what, int result)
{
	printf("%s %d %d\n", what, result < 0 ? -1 : 0, result < 0 ? errno : 0);
}

static const char *at(const char *name)
{
	static char paths[4][4096];
	static int next;
	char *path = paths[next++ % 4];
	snprintf(path, sizeof paths[0], "%s/%s", dir, name);
	return path;
}

int main(int argc, char *argv[])
{
	if (argc != 3)
		return 2;
	dir = argv[1];
	setvbuf(stdout, NULL, _IONBF, 0);
	try_open("write-missing", "missing.txt", O_WRONLY);
	try_open("rdwr-missing", "sub/missing.txt", O_RDWR);
	try_open("trunc-missing", "missing.txt", O_RDONLY | O_TRUNC);
	try_open("create-in-missing-dir", "sub/none/new.txt", O_WRONLY | O_CREAT);
	try_open("create-under-file", "file.txt/new.txt", O_WRONLY | O_CREAT);
	try_open("create-nested", "sub/new.txt", O_WRONLY | O_CREAT);
	try_open("create-excl-existing", "file.txt", O_WRONLY | O_CREAT | O_EXCL);
	try_open("creat-existing-read", "file.txt", O_RDONLY | O_CREAT);
	try_open("creat-existing-write", "file.txt", O_WRONLY | O_CREAT);
	try_open("create-excl-dangling", "dangling", O_WRONLY | O_CREAT | O_EXCL);  /* it exists */
	try_open("create-through-dangling", "dangling", O_WRONLY | O_CREAT);
	try_open("nofollow-link-write", "link", O_WRONLY | O_NOFOLLOW);
	try_open("nofollow-link-read", "link", O_RDONLY | O_NOFOLLOW);
	try_open("follow-link-write", "link", O_WRONLY);
	try_open("directory-on-file-write", "file.txt", O_WRONLY | O_DIRECTORY);
	try_open("directory-on-missing-write", "none", O_WRONLY | O_DIRECTORY);
	try_open("dir-for-write", "sub", O_WRONLY);
	try_open("dir-for-rdwr", "sub", O_RDWR);
	try_open("dir-trunc", "sub", O_RDONLY | O_TRUNC);
	try_open("fifo-write-nonblock", "fifo", O_WRONLY | O_NONBLOCK);
	try_open("fifo-read-nonblock", "fifo", O_RDONLY | O_NONBLOCK);
	try_open("fifo-trunc-nonblock", "fifo", O_RDONLY | O_TRUNC | O_NONBLOCK);
	say("mkdir-existing-dir", mkdir(at("sub"), 0755));
	say("mkdir-existing-file", mkdir(at("file.txt"), 0755));
	say("mkdir-existing-dangling", mkdir(at("dangling"), 0755));
	say("mkdir-new", mkdir(at("newdir"), 0755));
	say("mkdir-in-missing", mkdir(at("none/newdir"), 0755));
	say("symlink-existing", symlink("x", at("link")));
	say("symlink-new", symlink("x", at("newlink")));
	say("mkfifo-existing", mkfifo(at("fifo"), 0600));
	say("mkfifo-new", mkfifo(at("newfifo"), 0600));
	say("link-to-existing", link(at("file.txt"), at("sub")));
	say("link-to-new", link(at("file.txt"), at("newhard")));
	say("link-follow-to-existing", linkat(AT_FDCWD, at("link"), AT_FDCWD, at("sub"),
	                                      AT_SYMLINK_FOLLOW));
	pid_t child = fork();
	if (child == 0) {
		char *args[] = {argv[2], NULL};
		execv(argv[2], args);
		printf("exec-fifo -1 %d\n", errno);
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	return 0;
}
