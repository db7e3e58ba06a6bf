/* What /tmp is in a root that brings its own: readlink's answer, or its errno. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char target[256];
	ssize_t n = readlink("/tmp", target, sizeof target - 1);
	if (n < 0) {
		printf("readlink /tmp: -1 %d\n", errno);
		return 0;
	}
	target[n] = '\0';
	printf("readlink /tmp: %s\n", target);
	return 0;
}
