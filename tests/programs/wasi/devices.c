/* A plain wasm32-wasi program (wasi-libc, no Lind layer) using the entries every cage
 * has: its path_open calls reach the same microvisor handlers as a Lind program's. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	unsigned char buf[64];
	memset(buf, 1, sizeof buf);
	int fd = open("/dev/zero", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof buf);
	int zeros = 1;
	for (int i = 0; i < (int)sizeof buf; i++)
		zeros &= buf[i] == 0;
	printf("zero: %zd zeros %d\n", n, zeros);
	close(fd);
	fd = open("/dev/null", O_RDWR);
	n = write(fd, "gone", 4);
	printf("null: write %zd read %zd\n", n, read(fd, buf, sizeof buf));
	close(fd);
	fd = open("/dev/urandom", O_RDONLY);
	printf("urandom: %zd\n", read(fd, buf, sizeof buf));
	close(fd);
	FILE *f = fopen("/etc/passwd", "r");
	char line[128] = "";
	if (f && fgets(line, sizeof line, f))
		printf("passwd: %s", line);
	f = fopen("/tmp/wasi.txt", "w");
	printf("tmp: %d\n", f != NULL && fputs("x", f) >= 0 && fclose(f) == 0);
	int entries = 0;
	DIR *d = opendir("/dev");
	struct dirent *e;
	while (d && (e = readdir(d)))
		entries += strcmp(e->d_name, "null") == 0 || strcmp(e->d_name, "zero") == 0;
	printf("ls /dev: %d\n", entries);
	return 0;
}
