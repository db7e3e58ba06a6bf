/* strlen, strnlen, memchr, strchr, strchrnul, strcmp, strncmp, memcmp and bcmp against byte-at-a-time
 * references: every start alignment 0-31, lengths 0-130, the byte looked for at the
 * start, middle and end, absent, zero, and with the top bit set; memcmp's sign for a
 * difference at every position, both buffers at any alignment, and strcmp's and strncmp's
 * with one string ending first or both at once. Then strings that end
 * in the last bytes before memory nobody may read (natively a PROT_NONE page; in a
 * cage the end of linear memory, where a word read past the string would trap).
 * Prints the number of checks and of mismatches. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned char buf[512] __attribute__((aligned(64)));
static unsigned char other[512] __attribute__((aligned(64)));
static long checks, wrong;

static void expect(int ok, const char *what, int align, int len, int extra)
{
	checks++;
	if (!ok && wrong++ < 10)
		printf("WRONG %s align %d len %d (%d)\n", what, align, len, extra);
}

static size_t ref_strlen(const unsigned char *s) { size_t n = 0; while (s[n]) n++; return n; }

static const unsigned char *ref_memchr(const unsigned char *s, int c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == (unsigned char)c)
			return s + i;
	return NULL;
}

static const unsigned char *ref_strchrnul(const unsigned char *s, int c)
{
	while (*s && *s != (unsigned char)c)
		s++;
	return s;
}

static int sign(int x) { return (x > 0) - (x < 0); }

static int ref_memcmp(const unsigned char *a, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return sign(a[i] - b[i]);
	return 0;
}

static unsigned seed = 12345;
static unsigned char nonzero(void)
{
	seed = seed * 1103515245 + 12345;
	return (unsigned char)(1 + (seed >> 16) % 255);   /* 1..255: top bit often set */
}

static void scans(int align, int len)
{
	unsigned char *s = buf + align;
	for (int i = 0; i < len; i++)
		s[i] = nonzero();
	s[len] = 0;
	s[len + 1] = 'q';   /* after the end: must not count */
	expect(strlen((char *)s) == ref_strlen(s), "strlen", align, len, 0);
	size_t limits[] = {0, 1, len ? len - 1 : 0, len, len + 1, len + 17};
	for (int k = 0; k < 6; k++) {
		size_t want = len < limits[k] ? (size_t)len : limits[k];
		expect(strnlen((char *)s, limits[k]) == want, "strnlen", align, len, (int)limits[k]);
	}
	int positions[] = {0, len / 2, len ? len - 1 : 0};
	int bytes[] = {0, 'a', 0x80, 0xff, 0x7f};
	for (int b = 0; b < 5; b++) {
		for (int p = 0; p < 3; p++) {
			unsigned char keep = s[positions[p]];
			if (bytes[b] && positions[p] < len)
				s[positions[p]] = (unsigned char)bytes[b];
			int c = bytes[b] | (b == 3 ? ~0xff : 0);   /* (int)-1 as well as 255 */
			for (int k = 0; k < 6; k++)
				expect(memchr(s, c, limits[k]) == (void *)ref_memchr(s, c, limits[k]),
				       "memchr", align, len, bytes[b] * 100 + k);
			const unsigned char *nul = ref_strchrnul(s, c);
			expect(strchrnul((char *)s, c) == (char *)nul, "strchrnul", align, len, bytes[b]);
			expect(strchr((char *)s, c) ==
			       (*nul == (unsigned char)c ? (char *)nul : NULL), "strchr", align, len,
			       bytes[b]);
			s[positions[p]] = keep;
		}
	}
	expect(memchr(s, 'q', (size_t)len + 1) == (void *)ref_memchr(s, 'q', (size_t)len + 1),
	       "memchr absent", align, len, 0);
}

static void compares(int la, int lb, int len)
{
	unsigned char *a = buf + la, *b = other + lb;
	for (int i = 0; i < len; i++)
		a[i] = b[i] = nonzero();
	expect(memcmp(a, b, len) == 0 && bcmp(a, b, len) == 0, "memcmp equal", la, len, lb);
	for (int at = 0; at < len; at += 1 + len / 9) {
		unsigned char keep = b[at];
		b[at] = (unsigned char)(a[at] ^ (at & 1 ? 0x80 : 0x01));
		int r = memcmp(a, b, len);
		expect(sign(r) == ref_memcmp(a, b, len), "memcmp", la, len, at);
		expect((bcmp(a, b, len) != 0) == 1, "bcmp", la, len, at);
		expect(memcmp(a, b, at) == 0, "memcmp before", la, len, at);
		b[at] = keep;
	}
}

static int ref_strncmp(const unsigned char *a, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return sign(a[i] - b[i]);
		if (!a[i])
			return 0;
	}
	return 0;
}

static void string_compares(int la, int lb, int len)
{
	unsigned char *a = buf + la, *b = other + lb;
	for (int i = 0; i < len; i++)
		a[i] = b[i] = nonzero();
	a[len] = b[len] = 0;
	size_t limits[] = {0, 1, len / 2, len, len + 1, len + 40};
	for (int at = 0; at <= len; at += 1 + len / 7) {
		for (int change = 0; change < 3; change++) {
			unsigned char keep = b[at];
			if (change == 1)
				b[at] = (unsigned char)(a[at] ^ (at & 1 ? 0x80 : 0x01));   /* differ */
			if (change == 2)
				b[at] = 0;                                                  /* b ends */
			expect(sign(strcmp((char *)a, (char *)b)) == ref_strncmp(a, b, len + 1),
			       "strcmp", la, len, at * 10 + change);
			expect(sign(strcmp((char *)b, (char *)a)) == ref_strncmp(b, a, len + 1),
			       "strcmp reversed", lb, len, at * 10 + change);
			for (int k = 0; k < 6; k++)
				expect(sign(strncmp((char *)a, (char *)b, limits[k])) ==
				       ref_strncmp(a, b, limits[k]), "strncmp", la, len, at * 100 + k);
			b[at] = keep;
		}
	}
}

/* Strings that end where reading one byte more would fault. */
static void at_the_edge(void)
{
#ifdef __wasm__
	/* 64 KiB just past the memory's end: the memory grows to end with them */
	unsigned char *past = (unsigned char *)(__builtin_wasm_memory_size(0) * 65536);
	unsigned char *page = mmap(past, 65536, PROT_READ | PROT_WRITE,
	                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	unsigned char *end = (unsigned char *)(__builtin_wasm_memory_size(0) * 65536);
	if (page != past || end != page + 65536) {
		printf("no mapping at the end of memory\n");
		return;
	}
#else
	long size = sysconf(_SC_PAGESIZE);
	unsigned char *page = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE,
	                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(page + size, size, PROT_NONE);
	unsigned char *end = page + size;
#endif
	for (int len = 0; len < 40; len++) {
		unsigned char *s = end - 1 - len;
		memset(s, 'x', len);
		s[len] = 0;
		expect(strlen((char *)s) == (size_t)len, "strlen at the end", 0, len, 0);
		expect(strchr((char *)s, 'y') == NULL, "strchr at the end", 0, len, 0);
		expect(strchrnul((char *)s, 'y') == (char *)s + len, "strchrnul at the end", 0, len, 0);
		expect(memchr(s, 'y', len + 1) == NULL, "memchr at the end", 0, len, 0);
		expect(strnlen((char *)s, 100) == (size_t)len, "strnlen at the end", 0, len, 0);
		expect(memcmp(s, s, len + 1) == 0, "memcmp at the end", 0, len, 0);
		expect(strcmp((char *)s, (char *)s) == 0, "strcmp at the end", 0, len, 0);
		expect(strncmp((char *)s, (char *)s, 100) == 0, "strncmp at the end", 0, len, 0);
	}
	printf("at the edge: done\n");
}

int main(void)
{
	for (int align = 0; align < 32; align++)
		for (int len = 0; len <= 130; len++)
			scans(align, len);
	for (int la = 0; la < 16; la++)
		for (int lb = 0; lb < 16; lb++)
			for (int len = 0; len <= 70; len += 1 + len / 8)
				compares(la, lb, len);
	for (int la = 0; la < 16; la++)
		for (int lb = 0; lb < 16; lb++)
			for (int len = 0; len <= 70; len += 1 + len / 8)
				string_compares(la, lb, len);
	at_the_edge();
	printf("%ld checks, %ld wrong\n", checks, wrong);
	return wrong != 0;
}
