/* What a watcher of a directory sees when a file, a directory and a FIFO are made in
 * it: one IN_CREATE each, as a native create makes (Lind also changed each new file's
 * mode after making it, which showed an IN_ATTRIB too: libuv's fs_event_watch_dir
 * counted it and never ended). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	umask(022);
	mkdir("watched", 0755);
	int in = inotify_init1(IN_NONBLOCK);
	inotify_add_watch(in, "watched", IN_ATTRIB | IN_CREATE | IN_MODIFY | IN_DELETE);
	close(open("watched/file", O_CREAT | O_WRONLY, 0644));
	mkdir("watched/dir", 0755);
	mkfifo("watched/fifo", 0644);
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n = read(in, buf, sizeof buf);
	for (char *p = buf; n > 0 && p < buf + n;) {
		struct inotify_event *e = (struct inotify_event *)p;
		printf("%s%s%s%s %s\n", e->mask & IN_CREATE ? "IN_CREATE" : "",
		       e->mask & IN_ATTRIB ? "IN_ATTRIB" : "", e->mask & IN_MODIFY ? "IN_MODIFY" : "",
		       e->mask & IN_ISDIR ? " IN_ISDIR" : "", e->name);
		p += sizeof *e + e->len;
	}
	return 0;
}
