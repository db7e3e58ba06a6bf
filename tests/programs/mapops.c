/* Runs the memory-map operations named on its command line and checks after each
 * that every page still mapped holds the byte written into it, and that new pages
 * read as zeros. Prints one line per operation: "OP ... ok", "... skip" or "... errno N",
 * then "bad page" lines for any page that lost its content.
 *   map N           mmap N anonymous private pages (slot numbers count from 0)
 *   unmap S OFF N   munmap pages OFF..OFF+N-1 of slot S (clipped to the slot)
 *   remap S N       mremap the whole of slot S to N pages, MREMAP_MAYMOVE
 *                   (skipped once part of the slot was unmapped)
 * N is 1..32; an operation on a slot not made yet is skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOTS 64
#define MAX_PAGES 32

static struct {
	unsigned char *base;
	int pages;
	unsigned char tag[MAX_PAGES];   /* 0: not mapped */
} slot[SLOTS];
static int nslots;
static long page;
static unsigned next_tag;

static int all_equal(const unsigned char *p, unsigned char value, long n)
{
	for (long i = 0; i < n; i++)
		if (p[i] != value)
			return 0;
	return 1;
}

static void tag_pages(int s, int from, int to)
{
	for (int p = from; p < to; p++) {
		slot[s].tag[p] = (unsigned char)(next_tag++ % 255 + 1);
		memset(slot[s].base + p * page, slot[s].tag[p], page);
	}
}

static void check(void)
{
	for (int s = 0; s < nslots; s++)
		for (int p = 0; p < slot[s].pages; p++) {
			const unsigned char *at = slot[s].base + p * page;
			unsigned char t = slot[s].tag[p];
			if (t && !all_equal(at, t, page))
				printf("bad page %d of slot %d\n", p, s);
		}
}

int main(int argc, char **argv)
{
	page = sysconf(_SC_PAGESIZE);
	for (int i = 1; i < argc; i++) {
		const char *op = argv[i];
		int a = i + 1 < argc ? atoi(argv[i + 1]) : 0;
		int b = i + 2 < argc ? atoi(argv[i + 2]) : 0;
		int c = i + 3 < argc ? atoi(argv[i + 3]) : 0;
		int args = !strcmp(op, "map") ? 1 : !strcmp(op, "unmap") ? 3 : !strcmp(op, "remap") ? 2 : -1;
		if (args < 0 || i + args >= argc || (args == 1 ? a : args == 2 ? b : c) < 1 ||
		    (args == 1 ? a : args == 2 ? b : c) > MAX_PAGES || (args > 1 && (a < 0 || b < 0))) {
			printf("bad operation %s\n", op);
			return 2;
		}
		i += args;
		if (args > 1 && a >= nslots) {
			printf("%s %d skip\n", op, a);
			continue;
		}
		if (!strcmp(op, "map") && nslots < SLOTS) {
			void *m = mmap(0, a * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			               -1, 0);
			if (m == MAP_FAILED) {
				printf("map %d errno %d\n", a, errno);
				continue;
			}
			int s = nslots++;
			slot[s].base = m;
			slot[s].pages = a;
			printf("map %d -> slot %d %s\n", a, s, all_equal(m, 0, a * page) ? "ok" : "not zeroed");
			tag_pages(s, 0, a);
		} else if (!strcmp(op, "unmap")) {
			if (b >= slot[a].pages) {
				printf("unmap %d %d %d skip\n", a, b, c);
				continue;
			}
			int end = b + c < slot[a].pages ? b + c : slot[a].pages;
			int r = munmap(slot[a].base + b * page, (end - b) * page);
			printf("unmap %d %d %d %s\n", a, b, c, r ? "failed" : "ok");
			if (!r)
				memset(slot[a].tag + b, 0, end - b);
		} else if (!strcmp(op, "remap")) {
			if (memchr(slot[a].tag, 0, slot[a].pages)) {
				printf("remap %d %d skip\n", a, b);
				continue;
			}
			void *m = mremap(slot[a].base, slot[a].pages * page, b * page, MREMAP_MAYMOVE);
			if (m == MAP_FAILED) {
				printf("remap %d %d errno %d\n", a, b, errno);
				continue;
			}
			int old = slot[a].pages;
			slot[a].base = m;
			slot[a].pages = b;
			int zero = b <= old || all_equal(slot[a].base + old * page, 0, (b - old) * page);
			printf("remap %d %d %s\n", a, b, zero ? "ok" : "not zeroed");
			if (b > old)
				tag_pages(a, old, b);
		} else {
			printf("map %d skip\n", a);
		}
		check();
	}
	return 0;
}
