/* Watches aimed out of the root ("/..", "../../..", a link the host planted to the
 * directory around the root), then reports every event for three seconds; and
 * inotify instances until the process-wide limit says EMFILE. Prints "ready" once the
 * watches are set. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <unistd.h>

int main(void)
{
	int fd = inotify_init1(IN_NONBLOCK);
	const char *paths[] = {"/", "/..", "../../..", "/planted", "/planted/..", 0};
	for (int i = 0; paths[i]; i++) {
		int wd = inotify_add_watch(fd, paths[i], IN_ALL_EVENTS);
		printf("watch %s: %d errno %d\n", paths[i], wd < 0 ? -1 : 0, wd < 0 ? errno : 0);
	}
	printf("ready\n");
	fflush(stdout);
	char buf[4096] __attribute__((aligned(8)));
	struct pollfd p = {fd, POLLIN, 0};
	for (int waited = 0; waited < 30; waited++) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf);
		for (char *at = buf; n > 0 && at < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)at;
			printf("event %#x [%s]\n", ev->mask, ev->len ? ev->name : "");
			at += sizeof *ev + ev->len;
		}
	}
	int made = 0;
	while (inotify_init() >= 0)
		made++;
	printf("instances until errno %d: %d\n", errno, made);
	return 0;
}
