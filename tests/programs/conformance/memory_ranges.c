/* Mapping calls on ranges, as Linux answers them: sizes that are not page multiples,
 * mremap growing in place beside another mapping, shrinking, moving, failing without
 * MREMAP_MAYMOVE, ranges that are not mapped; msync, mincore and mlock over holes;
 * brk to odd addresses and back; mlockall's flags. Addresses are never printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static void say(const char *what, long r)
{
	printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0);
}

static const char *map_result(void *p)
{
	return p == MAP_FAILED ? "failed" : "ok";
}

/* Room for `pages` pages, all unmapped again: where the test places its mappings. */
static char *hole(int pages)
{
	char *p = mmap(NULL, (size_t)pages * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, (size_t)pages * PAGE);
	return p;
}

static char *fixed(char *at, int pages, int fill)
{
	char *p = mmap(at, (size_t)pages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != MAP_FAILED)
		memset(p, fill, (size_t)pages * PAGE);
	return p;
}

static int mapped(char *at)
{
	unsigned char v;
	return mincore(at, PAGE, &v) == 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("the break is 16-byte aligned: %d\n", (int)((uintptr_t)sbrk(0) % 16 == 0));
	/* brk: an odd break is kept as asked; back down to where it was (before any mmap:
	 * Lind places mappings right above the break, which then cannot grow past them) */
	char *start = sbrk(0);
	say("brk to an odd address", brk(start + 4097));
	printf("break moved by %ld\n", (long)((char *)sbrk(0) - start));
	start[4096] = 1;
	say("brk back", brk(start));
	printf("break back: %d\n", sbrk(0) == start);
	say("brk to the same place", brk(start));


	/* a length one past a page takes two pages */
	char *a = mmap(NULL, PAGE + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("4097 bytes take two pages: %d, the second one mapped %d\n",
	       b >= a + 2 * PAGE || b + PAGE <= a, mapped(a + PAGE));
	a[2 * PAGE - 1] = 7;
	say("munmap of 1 byte", munmap(b, 1));
	printf("that page gone: %d\n", !mapped(b));
	munmap(a, PAGE + 1);

	/* mremap in place beside another mapping: the one after stays as it was */
	char *base = hole(8);
	char *first = fixed(base, 1, 'A'), *after = fixed(base + 2 * PAGE, 1, 'B');
	char *grown = mremap(first, PAGE, 2 * PAGE, 0);
	printf("grown in place: %d, new part zero: %d, after intact: %c%c\n", grown == first,
	       grown[PAGE] == 0 && grown[2 * PAGE - 1] == 0, after[0], after[PAGE - 1]);
	say("no room, no MREMAP_MAYMOVE", mremap(first, 2 * PAGE, 3 * PAGE, 0) == MAP_FAILED ? -1 : 0);
	char *moved = mremap(first, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE);
	printf("moved: %d, kept: %c, old place free: %d\n", moved != first, moved[0],
	       !mapped(first) && fixed(first, 2, 'C') == first);
	char *shrunk = mremap(moved, 3 * PAGE, PAGE, 0);
	printf("shrunk in place: %d, tail free: %d\n", shrunk == moved,
	       !mapped(moved + PAGE) && !mapped(moved + 2 * PAGE));
	say("mremap of a range that is not mapped", mremap(base + 6 * PAGE, PAGE, 2 * PAGE, 0) == MAP_FAILED ? -1 : 0);
	say("mremap past the mapping's end", mremap(after, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0);
	say("mremap old size 0 (private)", mremap(after, 0, PAGE, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0);
	say("mremap new size 0", mremap(after, PAGE, 0, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0);
	/* MREMAP_FIXED: moved where asked, what was there replaced; not onto itself */
	char *dest = hole(7) + PAGE;      /* the page below it is free too */
	char *src = fixed(dest + 4 * PAGE, 1, 'F');
	munmap(fixed(dest + 5 * PAGE, 1, 'Z'), PAGE);   /* gone: its bytes must not come back */
	fixed(dest, 2, 'X');
	char *put = mremap(src, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
	printf("moved to the address asked: %d, kept %c, grown part zero %d, source free %d\n",
	       put == dest, put[0], put[PAGE] == 0, !mapped(src));
	say("onto an overlapping range", mremap(dest, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
						dest + PAGE) == MAP_FAILED ? -1 : 0);
	say("to an unaligned address", mremap(dest, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
					      dest + 4 * PAGE + 1) == MAP_FAILED ? -1 : 0);
	char *next = mremap(dest, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dest + 2 * PAGE);
	printf("moved to the range right after it: %d\n", next == dest + 2 * PAGE);
	dest = mremap(next, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
	char *before = fixed(dest - PAGE, 1, 'P');     /* a neighbour the shrink must not touch */
	char *small = mremap(dest, 2 * PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dest + 4 * PAGE);
	printf("shrunk while moved: %d, kept %c, rest free %d %d %d, neighbour kept %d\n",
	       small == dest + 4 * PAGE, small[0], !mapped(dest), !mapped(dest + PAGE),
	       !mapped(dest + 5 * PAGE), before != MAP_FAILED && mapped(before) && before[0] == 'P');
	munmap(small, PAGE);

	/* a big growth in place, touched at its end */
	char *big = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *bigger = mremap(big, PAGE, 4 << 20, MREMAP_MAYMOVE);
	bigger[(4 << 20) - 1] = 9;
	printf("grown to 4 MiB: %s, end written %d\n", map_result(bigger), bigger[(4 << 20) - 1]);
	munmap(bigger, 4 << 20);

	/* shared anonymous memory moved by mremap stays shared and keeps its bytes */
	char *s = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s[10] = 'S';
	char *block = mmap(s + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	char *s2 = mremap(s, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
	printf("shared moved: %d kept %c, old place free %d\n", s2 != s, s2[10], !mapped(s));
	munmap(block, PAGE);
	munmap(s2, 2 * PAGE);

	/* msync, mincore, mlock over a range with a hole in the middle */
	int fd = open("msync.bin", O_CREAT | O_RDWR | O_TRUNC, 0600);
	ftruncate(fd, 3 * PAGE);
	char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m[PAGE + 5] = 'm';
	m[2 * PAGE + 7] = 'n';
	say("msync of the middle page", msync(m + PAGE, PAGE, MS_SYNC));
	char got[2] = {0, 0};
	pread(fd, got, 1, PAGE + 5);
	printf("in the file: %c\n", got[0]);
	say("msync of the last page", msync(m + 2 * PAGE, PAGE, MS_ASYNC));
	munmap(m + PAGE, PAGE);
	say("msync over the hole", msync(m, 3 * PAGE, MS_SYNC));
	unsigned char vec[3];
	say("mincore over the hole", mincore(m, 3 * PAGE, vec));
	say("mincore unaligned", mincore(m + 1, PAGE, vec));
	say("mincore first page", mincore(m, PAGE, vec));
	say("mlock over the hole", mlock(m, 3 * PAGE));
	say("mlock unaligned, first page", mlock(m + 1, PAGE - 1));
	say("mlock from the hole's last byte", mlock(m + 2 * PAGE - 1, 2));
	say("munlock last page", munlock(m + 2 * PAGE, PAGE));
	munmap(m, 3 * PAGE);
	pread(fd, got, 1, 2 * PAGE + 7);
	printf("after munmap in the file: %c\n", got[0]);

	/* lengths of one byte are a page */
	char *one = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mremap of 1 byte to 1 byte: %d\n", mremap(one, 1, 1, 0) == one);
	munmap(one, PAGE);
	/* offsets and lengths at the ends of a file's range */
	say("mmap of length 0 at a huge offset", mmap(NULL, 0, PROT_READ, MAP_PRIVATE, fd, (off_t)0x7ffffffffffff000LL) == MAP_FAILED ? -1 : 0);
	say("mmap of 1 byte ending past the largest offset", mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, (off_t)0x7ffffffffffff000LL) == MAP_FAILED ? -1 : 0);
	say("mmap at offset -2^63", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, (off_t)(-0x7fffffffffffffffLL - 1)) == MAP_FAILED ? -1 : 0);
	int urandom = open("/dev/urandom", O_RDONLY);
	say("mmap of /dev/urandom", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, urandom, 0) == MAP_FAILED ? -1 : 0);
	int zerofd = open("/dev/zero", O_RDWR);
	char *zspot = hole(2);
	char *zat = mmap(zspot, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, zerofd, 0);
	printf("/dev/zero mapped where asked: %d\n", zat == zspot);

	/* three adjacent mappings unmapped by one call */
	char *row = hole(3);
	fixed(row, 1, 1);
	fixed(row + PAGE, 1, 2);
	fixed(row + 2 * PAGE, 1, 3);
	say("munmap across three mappings", munmap(row, 3 * PAGE));
	printf("all gone: %d %d %d\n", !mapped(row), !mapped(row + PAGE), !mapped(row + 2 * PAGE));
	say("mmap of length -1", mmap(NULL, (size_t)-1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);

	/* a file mapped at a chosen address, privately and shared */
	char *spot = hole(4);
	char *pf = mmap(spot, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
	char *sf = mmap(spot + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	printf("file mapped where asked: private %d shared %d\n", pf == spot, sf == spot + 2 * PAGE);
	char *same = mremap(sf, PAGE, PAGE, 0);
	printf("shared mremap to its own size: %d\n", same == sf);
	munmap(pf, PAGE);
	munmap(sf, PAGE);

	/* what a child's writes do to private and shared memory, anonymous and /dev/zero */
	char *priv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *shar = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int zero = open("/dev/zero", O_RDWR);
	char *zpriv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
	char *zshar = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
	if (fork() == 0) {
		priv[0] = shar[0] = zpriv[0] = zshar[0] = 'c';
		_exit(0);
	}
	wait(NULL);
	printf("after the child wrote: private %d shared %c, /dev/zero private %d shared %c\n",
	       priv[0], shar[0], zpriv[0], zshar[0]);

	for (int flags = 0; flags < 16; flags++) {
		int r = mlockall(flags);
		printf("mlockall %d: %d %d\n", flags, r, r ? errno : 0);
		munlockall();
	}
	return 0;
}
