/* MAP_SHARED file mappings at their edges, each case on its own file in the current
 * directory, printing what the mappings and the files hold afterwards:
 *   edges   a length that is not a page multiple, changes at page edges and at the
 *           file's last byte, single changed bits (bit 7 first, bit 0 last in a
 *           page), a write beyond EOF in the last page, and bytes written with
 *           pwrite() into the mapped pages next to changed ones (they must survive);
 *   offset  a mapping at a page offset, the same pwrite() beside a changed byte;
 *   two     several mappings of one file: pages loaded later see what pwrite() put
 *           there meanwhile, pages changed through one mapping stay changed when
 *           another mapping loads pages before or after them;
 *   big     a file of 300 pages (over 1 MiB) mapped whole;
 *   fork    a child's changes written back at its exit;
 *   shrink  a changed page cut off by ftruncate and grown back: after munmap the file
 *           holds what the mapping showed (Linux: zeros in both; Lind: the change);
 *   offsets mmap at offsets that are negative, unaligned, near 2^63 or past EOF.
 * Lind only (Linux would raise SIGBUS or SIGSEGV):
 * `anon-grow` grows a shared anonymous mapping with mremap and has a child write the
 * new part (Linux: SIGBUS past the first size; Lind: the pages exist);
 * `ro-write FILE` writes into a PROT_READ mapping of an O_RDWR | O_APPEND fd and of an
 * O_RDONLY fd, then unmaps them.
 * `map-until-fail` maps one page of a read-only file again and again until mmap fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define P 4096L

static unsigned char pattern(long i)
{
	return 'A' + i % 26;
}

static int make_file(const char *path, long size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *buf = malloc(size);
	for (long i = 0; i < size; i++)
		buf[i] = pattern(i);
	if (fd < 0 || write(fd, buf, size) != size) {
		perror(path);
		exit(1);
	}
	free(buf);
	return fd;
}

static char *map(int fd, long length, long offset)
{
	char *m = mmap(0, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
	if (m == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return m;
}

/* The file's size, a checksum of its bytes, and every byte that differs from the
 * pattern it was made with (at most 12). */
static void show_file(const char *what, int fd)
{
	struct stat st;
	fstat(fd, &st);
	unsigned char *buf = malloc(st.st_size + 1);
	long got = pread(fd, buf, st.st_size, 0);
	unsigned long long sum = 1469598103934665603ULL;
	int shown = 0;
	printf("%s: size %ld read %ld", what, (long)st.st_size, got);
	for (long i = 0; i < got; i++) {
		sum = (sum ^ buf[i]) * 1099511628211ULL;
		if (buf[i] != pattern(i) && shown++ < 12)
			printf(" [%ld]=%02x", i, buf[i]);
	}
	printf(" sum %016llx\n", sum);
	free(buf);
}

static void edges(void)
{
	long size = 3 * P + 100;
	int fd = make_file("edges.data", size);
	unsigned char *m = (unsigned char *)map(fd, size, 0);
	m[100] ^= 0x80;            /* page 0: lowest changed bit is a bit 7 */
	m[P - 1] ^= 0x01;          /* ... highest changed bit is a bit 0, at the page's end */
	m[P] ^= 0x80;              /* page 1: its first byte, */
	m[P + 2000] ^= 0x80;       /* and a highest changed bit that is a bit 7 */
	pwrite(fd, "w", 1, P + 2001);   /* right after it */
	pwrite(fd, "v", 1, P + 2050);
	m[2 * P + 3000] ^= 0x01;   /* page 2: first change well into the page */
	pwrite(fd, "u", 1, 2 * P + 2900);   /* shortly before it */
	m[size - 1] ^= 0x01;       /* the file's last byte */
	m[size + 100] = 'Z';       /* beyond EOF in the last page: never reaches the file */
	printf("edges: beyond EOF reads back %c\n", m[size + 100]);
	msync(m, size, MS_SYNC);
	show_file("edges after msync", fd);
	m[P + 3000] = '!';
	munmap(m, size);
	show_file("edges after munmap", fd);
	close(fd);
}

static void offset(void)
{
	int fd = make_file("offset.data", 4 * P);
	unsigned char *m = (unsigned char *)map(fd, 2 * P, P);   /* pages 1 and 2 */
	m[10] ^= 0x20;
	pwrite(fd, "w", 1, P + 3000);
	m[P + 10] ^= 0x20;
	pwrite(fd, "v", 1, 2 * P + 3000);
	munmap(m, 2 * P);
	show_file("offset", fd);
	close(fd);
}

static void two(void)
{
	int fd = make_file("two.data", 6 * P);
	char *a = map(fd, 4 * P, 0);            /* pages 0-3 */
	a[3 * P + 7] = '#';
	pwrite(fd, "x", 1, 4 * P + 5);          /* page 4, not mapped yet */
	char *b = map(fd, P, 4 * P);            /* page 4 */
	printf("two: page 4 through b: %c\n", b[5]);
	pwrite(fd, "y", 1, 5 * P + 6);
	char *c = map(fd, 2 * P, 4 * P);        /* pages 4-5 */
	printf("two: page 5 through c: %c, page 4: %c\n", c[P + 6], c[5]);
	char *d = map(fd, P, 2 * P);            /* page 2, loaded already */
	char *e = map(fd, 2 * P, 2 * P);        /* pages 2-3 */
	printf("two: a's change through e: %c, d: %c\n", e[P + 7], d[0]);
	a[2 * P + 9] = '$';
	printf("two: through d: %c, e: %c\n", d[9], e[9]);
	munmap(a, 4 * P);
	munmap(b, P);
	munmap(c, 2 * P);
	munmap(d, P);
	munmap(e, 2 * P);
	show_file("two", fd);
	close(fd);

	fd = make_file("two-before.data", 4 * P);
	char *late = map(fd, 2 * P, 2 * P);     /* pages 2-3 */
	late[P + 11] = '%';
	char *early = map(fd, P, P);            /* page 1, after pages 2-3 were loaded */
	printf("two-before: page 3 through late: %c, page 1 through early: %c\n", late[P + 11],
	       early[0]);
	munmap(early, P);
	munmap(late, 2 * P);
	show_file("two-before", fd);
	close(fd);
}

static void big(void)
{
	long size = 300 * P;
	int fd = make_file("big.data", size);
	unsigned char *m = (unsigned char *)map(fd, size, 0);
	printf("big: %c %c %c %c\n", m[255 * P + 1], m[256 * P + 2], m[257 * P + 3], m[size - 1]);
	m[260 * P + 4] = '*';
	m[size - 1] = '*';
	munmap(m, size);
	int fd2 = open("big.data", O_RDONLY);
	m = mmap(0, 200 * P, PROT_READ, MAP_SHARED, fd2, 100 * P);
	printf("big at 100 pages: %c %c\n", m[160 * P + 4], m[199 * P + 4095]);
	munmap(m, 200 * P);
	show_file("big", fd);
	close(fd2);
	close(fd);
}

static void anon(void)
{
	char *m = mmap(0, P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	strcpy(m, "first page");
	char *g = mremap(m, P, 3 * P, MREMAP_MAYMOVE);
	if (g == MAP_FAILED) {
		perror("mremap");
		exit(1);
	}
	pid_t pid = fork();
	if (pid == 0) {
		strcpy(g + 2 * P + 5, "child wrote the third page");
		_exit(0);
	}
	waitpid(pid, 0, 0);
	printf("anon: %s / %s\n", g, g + 2 * P + 5);
	munmap(g, 3 * P);
}

static void forked(void)
{
	int fd = make_file("fork.data", 2 * P + 10);
	char *m = map(fd, 2 * P + 10, 0);
	pid_t pid = fork();
	if (pid == 0) {
		m[P - 1] = '<';
		m[2 * P + 9] = '>';
		exit(0);
	}
	waitpid(pid, 0, 0);
	show_file("fork", fd);
	munmap(m, 2 * P + 10);
	close(fd);
}

static void shrink(void)
{
	int fd = make_file("shrink.data", 2 * P);
	char *m = map(fd, 2 * P, 0);
	m[P + 5] = '&';
	ftruncate(fd, P);
	msync(m, 2 * P, MS_SYNC);
	ftruncate(fd, 2 * P);
	msync(m, P, MS_SYNC);
	char shown = m[P + 5], in_file = 0;
	munmap(m, 2 * P);
	pread(fd, &in_file, 1, P + 5);
	printf("shrink: the file holds what the mapping showed: %s\n",
	       shown == in_file ? "yes" : "no");
	close(fd);
}

static const char *errname(int e)
{
	static char other[24];
	switch (e) {
	case EOVERFLOW: return "EOVERFLOW";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	}
	snprintf(other, sizeof other, "errno %d", e);
	return other;
}

static void offsets(void)
{
	static const long long offs[] = {-4096, 1, 0x7ffffffffffff000LL, 0x7fffffffffffe000LL,
					 1LL << 40};
	int fd = make_file("offsets.data", 100);
	int ro = open("offsets.data", O_RDONLY);
	for (int i = 0; i < 5; i++) {
		struct { const char *name; int flags, fd; } kinds[] = {
			{"shared", MAP_SHARED, fd}, {"shared-ro", MAP_SHARED, ro},
			{"private", MAP_PRIVATE, fd}, {"anonymous", MAP_PRIVATE | MAP_ANONYMOUS, -1}};
		for (int k = 0; k < 4; k++) {
			errno = 0;
			void *m = mmap(0, P, PROT_READ, kinds[k].flags, kinds[k].fd, (off_t)offs[i]);
			printf("offsets %s %llx: %s\n", kinds[k].name, offs[i],
			       m == MAP_FAILED ? errname(errno) : "mapped");
			if (m != MAP_FAILED)
				munmap(m, P);
		}
	}
	close(ro);
	close(fd);
}

static void ro_write(const char *path)
{
	int flags[] = {O_RDWR | O_APPEND, O_RDONLY};
	for (int i = 0; i < 2; i++) {
		int fd = open(path, flags[i]);
		char *m = mmap(0, P, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		memcpy(m, "cage wrote this", 15);
		printf("ro-write %d: msync %d munmap %d\n", i, msync(m, P, MS_SYNC), munmap(m, P));
		close(fd);
	}
}

static void map_until_fail(const char *path)
{
	int fd = open(path, O_RDONLY);
	int n = 0;
	while (mmap(0, P, PROT_READ, MAP_SHARED, fd, 0) != MAP_FAILED)
		n++;
	printf("mapped %d %s\n", n, errno == ENFILE ? "ENFILE" : strerror(errno));
}

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IONBF, 0);
	if (argc > 2 && !strcmp(argv[1], "ro-write")) {
		ro_write(argv[2]);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "anon-grow")) {
		anon();
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "map-until-fail")) {
		map_until_fail(argv[2]);
		return 0;
	}
	edges();
	offset();
	two();
	big();
	forked();
	shrink();
	offsets();
	return 0;
}
