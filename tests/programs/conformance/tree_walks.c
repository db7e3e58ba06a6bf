/* ftw() and nftw() over a small tree, ftw called again from inside its own callback.
 * musl's ftw hands the caller's three-argument callback to nftw cast to nftw's
 * four-argument type; WebAssembly checks every indirect call's type, so a cage's
 * first ftw ended the program with SIGSEGV. The visits are sorted: readdir order is
 * the file system's. FTW_* values differ between musl and glibc: printed by name. ftw
 * walks no symlink here: musl's does not follow them (FTW_PHYS), glibc's does. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char lines[64][128];
static int nlines;

static const char *kind(int type)
{
	switch (type) {
	case FTW_F: return "F";
	case FTW_D: return "D";
	case FTW_DNR: return "DNR";
	case FTW_NS: return "NS";
	case FTW_SL: return "SL";
	case FTW_DP: return "DP";
	case FTW_SLN: return "SLN";
	}
	return "?";
}

static void note(const char *what, const char *path, int type, const struct stat *st)
{
	if (nlines < 64)
		snprintf(lines[nlines++], sizeof lines[0], "%s %s %s size=%lld", what, path, kind(type),
		         S_ISREG(st->st_mode) ? (long long)st->st_size : -1LL);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void flush(const char *title, int result)
{
	qsort(lines, nlines, sizeof lines[0], by_text);
	printf("%s -> %d\n", title, result);
	for (int i = 0; i < nlines; i++)
		printf("  %s\n", lines[i]);
	nlines = 0;
}

static int inner(const char *path, const struct stat *st, int type)
{
	note("inner", path, type, st);
	return 0;
}

static int outer(const char *path, const struct stat *st, int type)
{
	note("outer", path, type, st);
	if (strcmp(path, "t/sub") == 0)
		return ftw("t/sub", inner, 4) ? -1 : 0;
	return 0;
}

static int stop_at_file(const char *path, const struct stat *st, int type)
{
	(void)st;
	return type == FTW_F && strstr(path, "b.txt") ? 7 : 0;
}

static int walk(const char *path, const struct stat *st, int type, struct FTW *f)
{
	char at[96];
	snprintf(at, sizeof at, "%s level=%d base=%s", path, f->level, path + f->base);
	note("nftw", at, type, st);
	return 0;
}

int main(void)
{
	mkdir("t", 0755);
	mkdir("t/sub", 0755);
	int fd = open("t/a.txt", O_CREAT | O_WRONLY, 0644);
	write(fd, "hello\n", 6);
	close(fd);
	fd = open("t/sub/b.txt", O_CREAT | O_WRONLY, 0644);
	write(fd, "x", 1);
	close(fd);
	mkdir("l", 0755);
	symlink("../t/a.txt", "l/link");
	symlink("missing", "l/dangling");

	flush("ftw t", ftw("t", outer, 4));
	flush("ftw stops", ftw("t", stop_at_file, 4));
	flush("ftw missing", ftw("t/missing", outer, 4));
	flush("nftw phys depth", nftw("t", walk, 4, FTW_PHYS | FTW_DEPTH));
	flush("nftw links", nftw("l", walk, 4, FTW_PHYS));
	flush("nftw links followed", nftw("l", walk, 4, 0));
	return 0;
}
