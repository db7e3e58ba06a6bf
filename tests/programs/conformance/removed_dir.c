/* A directory removed while it is open lists nothing, not even "." and ".." (a cage
 * listed those two). */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int count(DIR *d)
{
	int n = 0;
	rewinddir(d);
	while (readdir(d))
		n++;
	return n;
}

int main(void)
{
	mkdir("gone", 0700);
	DIR *d = opendir("gone");
	printf("before: %d entries\n", count(d));
	rmdir("gone");
	printf("removed: %d entries\n", count(d));
	closedir(d);
	return 0;
}
