/* Changes files: what the aquarium grate reports. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	mkdir("/work", 0755);
	FILE *f = fopen("/work/notes.txt", "w");
	fprintf(f, "first draft\n");
	fclose(f);
	f = fopen("/work/notes.txt", "a");
	fprintf(f, "second line\n");
	fclose(f);
	rename("/work/notes.txt", "/work/final.txt");
	int fd = open("/work/scratch", O_CREAT | O_WRONLY, 0600);
	write(fd, "temporary", 9);
	close(fd);
	unlink("/work/scratch");

	DIR *d = opendir("/work");
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			struct stat st;
			char path[300];
			snprintf(path, sizeof path, "/work/%s", e->d_name);
			stat(path, &st);
			printf("%s: %lld bytes\n", path, (long long)st.st_size);
		}
	closedir(d);
	return 0;
}
