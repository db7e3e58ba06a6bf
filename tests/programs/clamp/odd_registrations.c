/* A grate inside a clamp on /tmp whose registrations are odd: call numbers out of
 * range, a cage that does not exist, a deregistration, and a handler for read (call 0),
 * which sees the reads of a file under /tmp only. Prints each result (-errno). */
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t grate;
static int reads;

int pass_fptr_to_wt(uint64_t fn, uint64_t cage, uint64_t a1, uint64_t c1, uint64_t a2,
                    uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4,
                    uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	reads++;
	return make_threei_call(SYS_read, 0, grate, cage, a1, c1, a2, c2, a3, c3, a4, c4, a5, c5,
	                        a6, c6, 0);
}

static int rc(int r)
{
	return r < 0 ? -errno : r;
}

int main(void)
{
	grate = getpid();
	printf("call 1024: %d\n", rc(register_handler(grate, 1024, grate, 1)));
	printf("call -1: %d\n", rc(register_handler(grate, (uint64_t)-1, grate, 1)));
	printf("no such cage: %d\n", rc(register_handler(99999, SYS_getppid, grate, 1)));
	printf("register 600: %d\n", rc(register_handler(grate, 600, grate, 1)));
	printf("deregister 600: %d\n", rc(register_handler(grate, 600, THREEI_DEREGISTER, 0)));
	int fd = open("/tmp/a", O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, "tmp", 3);
	close(fd);
	fd = open("/data/b", O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, "data", 4);
	close(fd);
	pid_t pid = fork();
	if (pid == 0) {
		if (register_handler(getpid(), SYS_read, grate, 1) != 0)
			_exit(1);
		char buf[8];
		fd = open("/tmp/a", O_RDONLY);
		read(fd, buf, sizeof buf);
		close(fd);
		fd = open("/data/b", O_RDONLY);
		read(fd, buf, sizeof buf);
		close(fd);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child %d, reads through the grate: %d\n", status, reads);
	return 0;
}
