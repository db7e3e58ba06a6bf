/* inotify: the events of changes in a watched directory and to a watched file, the
 * nonblocking and poll behaviour of the instance, and each call's errors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int dir_wd, file_wd;

static void show(const char *what, long r)
{
	printf("%s: %d errno %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

static const char *watch(int wd)
{
	return wd == dir_wd ? "dir" : wd == file_wd ? "file" : "other";
}

static void drain(int fd, const char *after)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p = {fd, POLLIN, 0};
	printf("after %s: poll %d", after, poll(&p, 1, 1000));
	int pending = -1;
	ioctl(fd, FIONREAD, &pending);
	printf(" bytes waiting %d\n", pending > 0);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			printf("  read: errno %d\n", errno);
			return;
		}
		for (char *at = buf; at < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)at;
			printf("  %s mask %#x cookie %d name [%s]\n", watch(ev->wd), ev->mask,
			       ev->cookie != 0, ev->len ? ev->name : "");
			at += sizeof *ev + ev->len;
		}
	}
}

int main(void)
{
	mkdir("watched", 0755);
	close(open("watched/old", O_CREAT | O_WRONLY, 0644));
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	show("init1", fd);
	printf("cloexec %d\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	dir_wd = inotify_add_watch(fd, "watched", IN_CREATE | IN_DELETE | IN_MODIFY |
	                           IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB);
	show("watch dir", dir_wd);
	file_wd = inotify_add_watch(fd, "watched/old", IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF);
	show("watch file", file_wd);
	show("same dir again", inotify_add_watch(fd, "watched", IN_CREATE) == dir_wd ? 0 : -1);
	drain(fd, "nothing");

	int f = open("watched/new", O_CREAT | O_WRONLY, 0644);
	write(f, "x", 1);
	close(f);
	drain(fd, "create+write");
	rename("watched/new", "watched/renamed");
	chmod("watched/old", 0600);
	drain(fd, "rename+chmod");
	unlink("watched/renamed");
	unlink("watched/old");
	drain(fd, "unlinks");

	/* errors */
	show("watch missing", inotify_add_watch(fd, "watched/missing", IN_CREATE));
	show("watch no events", inotify_add_watch(fd, "watched", 0));
	show("watch bad bits", inotify_add_watch(fd, "watched", IN_CREATE | 0x00400000));
	show("watch on a plain fd", inotify_add_watch(0, "watched", IN_CREATE));
	show("watch bad fd", inotify_add_watch(999, "watched", IN_CREATE));
	close(open("plain", O_CREAT | O_WRONLY, 0644));
	show("onlydir on a file", inotify_add_watch(fd, "plain", IN_CREATE | IN_ONLYDIR));
	show("mask create on a watched dir",
	     inotify_add_watch(fd, "watched", IN_CREATE | IN_MASK_CREATE));
	show("mask create and add", inotify_add_watch(fd, "plain",
	                                              IN_CREATE | IN_MASK_CREATE | IN_MASK_ADD));
	symlink("watched", "link");
	int via_link = inotify_add_watch(fd, "link", IN_CREATE);
	printf("through a link: same watch %d\n", via_link == dir_wd);
	int on_link = inotify_add_watch(fd, "link", IN_ATTRIB | IN_DONT_FOLLOW);
	printf("the link itself: another watch %d\n", on_link >= 0 && on_link != dir_wd);
	show("rm_watch", inotify_rm_watch(fd, dir_wd));
	drain(fd, "rm_watch");
	show("rm_watch again", inotify_rm_watch(fd, dir_wd));
	show("rm_watch bad wd", inotify_rm_watch(fd, 12345));
	show("init1 bad flags", inotify_init1(1));
	close(fd);
	int blocking = inotify_init();
	show("init", blocking);
	printf("nonblock %d\n", (fcntl(blocking, F_GETFL) & O_NONBLOCK) != 0);
	close(blocking);
	return 0;
}
