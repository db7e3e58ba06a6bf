/* mmap, munmap, mprotect, mremap, msync, brk at their argument edges: each result as
 * Linux gives it (ok or the errno number), never an address (those differ). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define P 4096

static void show(const char *what, long ok)
{
	if (ok)
		printf("%s: ok\n", what);
	else
		printf("%s: errno %d\n", what, errno);
}

static char *map(size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(0, len, prot, flags, fd, off);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;

	/* mmap's own checks */
	show("length 0", map(0, rw, anon, -1, 0) != MAP_FAILED);
	show("length 1", map(1, rw, anon, -1, 0) != MAP_FAILED);
	show("length -1", map((size_t)-1, rw, anon, -1, 0) != MAP_FAILED);
	show("no type", map(P, rw, MAP_ANONYMOUS, -1, 0) != MAP_FAILED);
	show("both types", map(P, rw, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED);
	show("unaligned offset anon", map(P, rw, anon, -1, 1) != MAP_FAILED);
	show("bad fd", map(P, rw, MAP_PRIVATE, 99, 0) != MAP_FAILED);

	int fd = open("file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	char page[3 * P];
	for (int i = 0; i < (int)sizeof page; i++)
		page[i] = 'a' + i % 26;
	write(fd, page, sizeof page);
	int ro = open("file", O_RDONLY), wo = open("file", O_WRONLY);
	int dir = open(".", O_RDONLY | O_DIRECTORY), pipes[2];
	pipe(pipes);
	show("unaligned offset file", map(P, rw, MAP_PRIVATE, fd, 100) != MAP_FAILED);
	show("directory", map(P, PROT_READ, MAP_PRIVATE, dir, 0) != MAP_FAILED);
	show("pipe", map(P, PROT_READ, MAP_PRIVATE, pipes[0], 0) != MAP_FAILED);
	show("write-only fd", map(P, PROT_READ, MAP_PRIVATE, wo, 0) != MAP_FAILED);
	show("shared writable of read-only fd", map(P, rw, MAP_SHARED, ro, 0) != MAP_FAILED);
	show("private writable of read-only fd", map(P, rw, MAP_PRIVATE, ro, 0) != MAP_FAILED);

	/* a private file mapping at an offset holds the file's bytes there */
	char *f = map(2 * P, rw, MAP_PRIVATE, fd, P);
	show("private at an offset", f != MAP_FAILED && f[0] == page[P] && f[P + 7] == page[2 * P + 7]);
	f[0] = '#';
	char b;
	pread(fd, &b, 1, P);
	show("private writes stay private", b == page[P]);

	/* fixed placement */
	char *a = map(4 * P, rw, anon, -1, 0);
	memset(a, 'x', 4 * P);
	show("fixed over part", mmap(a + P, P, rw, anon | MAP_FIXED, -1, 0) == a + P);
	show("fixed gives zeros", a[P] == 0 && a[P - 1] == 'x' && a[2 * P] == 'x');
	show("noreplace over a mapping", mmap(a + P, P, rw, anon | MAP_FIXED_NOREPLACE, -1, 0) != MAP_FAILED);
	show("fixed unaligned", mmap(a + 1, P, rw, anon | MAP_FIXED, -1, 0) != MAP_FAILED);

	/* munmap */
	show("munmap length 0", munmap(a, 0) == 0);
	show("munmap unaligned", munmap(a + 1, P) == 0);
	show("munmap middle", munmap(a + P, P) == 0);
	show("munmap twice", munmap(a + P, P) == 0);
	show("noreplace into the hole", mmap(a + P, P, rw, anon | MAP_FIXED_NOREPLACE, -1, 0) == a + P);
	show("hole is zeros", a[P] == 0 && a[3 * P] == 'x');

	/* mprotect */
	show("mprotect", mprotect(a, P, PROT_READ) == 0);
	show("mprotect back", mprotect(a, P, rw) == 0);
	show("mprotect unaligned", mprotect(a + 1, P, rw) == 0);
	show("mprotect bad prot", mprotect(a, P, 0x100) == 0);

	/* mremap */
	char *r = map(2 * P, rw, anon, -1, 0);
	memset(r, 'r', 2 * P);
	show("mremap shrink", mremap(r, 2 * P, P, 0) == r);
	char *g = mremap(r, P, 3 * P, MREMAP_MAYMOVE);
	show("mremap grow keeps data", g != MAP_FAILED && g[0] == 'r' && g[P - 1] == 'r' && g[2 * P] == 0);
	show("mremap unaligned", mremap(g + 1, P, P, 0) != MAP_FAILED);
	show("mremap zero new length", mremap(g, P, 0, 0) != MAP_FAILED);
	show("mremap bad flags", mremap(g, P, P, 0x80) != MAP_FAILED);
	show("mremap fixed without maymove", mremap(g, P, P, MREMAP_FIXED, a) != MAP_FAILED);

	/* msync */
	char *s = map(P, rw, MAP_SHARED, fd, 0);
	s[5] = '!';
	show("msync sync", msync(s, P, MS_SYNC) == 0);
	pread(fd, &b, 1, 5);
	show("msync reached the file", b == '!');
	show("msync async", msync(s, P, MS_ASYNC) == 0);
	show("msync both", msync(s, P, MS_ASYNC | MS_SYNC) == 0);
	show("msync bad flag", msync(s, P, 0x100) == 0);
	show("msync unaligned", msync(s + 1, P, MS_SYNC) == 0);
	show("msync invalidate", msync(s, P, MS_INVALIDATE) == 0);
	show("madvise", madvise(s, P, MADV_DONTNEED) == 0);
	return 0;
}
