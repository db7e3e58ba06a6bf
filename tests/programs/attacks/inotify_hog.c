/*   inotify_hog hog     make inotify instances until refused, say how many, then hold
 *                       them until stdin ends
 *   inotify_hog one     make one instance and say whether it was refused */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "hog")) {
		int made = 0;
		while (made < 1000 && inotify_init1(0) >= 0)
			made++;
		printf("hog %d errno %d\n", made, errno);
		fflush(stdout);
		char line[8];
		while (fgets(line, sizeof line, stdin))
			;
		return 0;
	}
	int fd = inotify_init1(0);
	printf("one %d\n", fd < 0 ? -errno : 0);
	return 0;
}
