/* Whose mode bits hold a cage (see test_syscalls): "theirs" belongs to a host user
 * other than Lind's (0644: the others may read it), "secret" too (0600: they may not),
 * "mine" to Lind's user (0444). Each
 * open is tried, then again once the cage has made itself uid 1000 (if it was root),
 * from its first thread and from a thread made before that setuid. Prints errnos. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int try_open(const char *name, int flags)
{
	int fd = open(name, flags);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void report(const char *who)
{
	printf("%s euid %d: theirs read %d write %d, secret read %d, mine write %d\n", who,
	       (int)geteuid(), try_open("theirs", O_RDONLY), try_open("theirs", O_WRONLY),
	       try_open("secret", O_RDONLY), try_open("mine", O_WRONLY));
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int dropped;

static void *other_thread(void *unused)
{
	report("thread");
	pthread_mutex_lock(&lock);
	while (!dropped)
		pthread_cond_wait(&changed, &lock);
	pthread_mutex_unlock(&lock);
	report("thread after setuid");
	return unused;
}

int main(void)
{
	report("first");
	if (geteuid() != 0)
		return 0;
	pthread_t t;
	pthread_create(&t, NULL, other_thread, NULL);
	usleep(20000);
	printf("setuid 1000 = %d\n", setuid(1000));
	pthread_mutex_lock(&lock);
	dropped = 1;
	pthread_cond_signal(&changed);
	pthread_mutex_unlock(&lock);
	pthread_join(t, NULL);
	report("first after setuid");
	return 0;
}
