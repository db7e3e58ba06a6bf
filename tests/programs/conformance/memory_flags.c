/* Every bit of mmap's flags and prot, and of mremap's and msync's flags, one at a
 * time, as Linux answers them (MAP_SHARED_VALIDATE refuses the flags it does not
 * know; plain MAP_PRIVATE ignores them). Errnos by number. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LEN 65536

static int file = -1;

static void flags_bit(const char *what, int base, int bit)
{
	int anonymous = file < 0 ? MAP_ANONYMOUS : 0;
	void *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, base | anonymous | (1 << bit), file, 0);
	int ok = p != MAP_FAILED;
	printf("%s bit %d: %s %d\n", what, bit, ok ? "ok" : "errno", ok ? 0 : errno);
	if (ok)
		munmap(p, LEN);
}

static void prot_bit(int bit)
{
	void *p = mmap(NULL, LEN, 1 << bit, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ok = p != MAP_FAILED;
	printf("prot bit %d: mmap %s %d", bit, ok ? "ok" : "errno", ok ? 0 : errno);
	if (ok)
		munmap(p, LEN);
	p = mmap(NULL, LEN, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r = mprotect(p, LEN, 1 << bit);
	printf(", mprotect %d %d\n", r, r ? errno : 0);
	munmap(p, LEN);
}

int main(void)
{
	/* bits that would place the mapping (MAP_FIXED, MAP_FIXED_NOREPLACE: 4 and 20)
	 * or ask for huge pages the machine may not have (MAP_HUGETLB: 18, and the size
	 * bits above 26) are left out: their answers depend on the address space. */
	for (int bit = 0; bit < 26; bit++) {
		if (bit == 4 || bit == 18 || bit == 20)
			continue;
		flags_bit("shared_validate", MAP_SHARED_VALIDATE, bit);
		flags_bit("private", MAP_PRIVATE, bit);
	}
	/* a file: MAP_SHARED_VALIDATE checks every flag bit there (EOPNOTSUPP) */
	file = open("flags.bin", O_CREAT | O_RDWR | O_TRUNC, 0600);
	ftruncate(file, LEN);
	for (int bit = 0; bit < 32; bit++) {
		if (bit == 4 || bit == 18 || bit == 20 || bit >= 26)
			continue;
		flags_bit("file shared_validate", MAP_SHARED_VALIDATE, bit);
		flags_bit("file shared", MAP_SHARED, bit);
		flags_bit("file private", MAP_PRIVATE, bit);
	}
	for (int bit = 0; bit < 32; bit++)
		if (bit != 24 && bit != 25)   /* PROT_GROWSDOWN/UP need a growing mapping */
			prot_bit(bit);
	for (int bit = 0; bit < 8; bit++) {
		char *p = mmap(NULL, 2 * LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *target = mmap(NULL, 4 * LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *q = mremap(p, LEN, 2 * LEN, 1 << bit, target + LEN);
		int ok = q != MAP_FAILED;
		printf("mremap bit %d: %s %d\n", bit, ok ? "ok" : "errno", ok ? (q == target + LEN) : errno);
		munmap(ok ? q : p, 2 * LEN);
		munmap(target, 4 * LEN);
	}
	char *m = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (int flags = 0; flags < 16; flags++) {
		int r = msync(m, LEN, flags);
		printf("msync flags %d: %d %d\n", flags, r, r ? errno : 0);
	}
	printf("msync unaligned: %d %d\n", msync(m + 1, LEN, MS_SYNC), errno);
	/* the placing flags, over a file with MAP_SHARED_VALIDATE, at a free range */
	char *spot = mmap(NULL, 2 * LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(spot, 2 * LEN);
	void *at = mmap(spot, LEN, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED, file, 0);
	printf("validate + MAP_FIXED over a file: %d\n", at == spot);
	at = mmap(spot + LEN, LEN, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, file, 0);
	printf("validate + MAP_FIXED_NOREPLACE over a file: %d errno %d\n", at == spot + LEN,
	       at == MAP_FAILED ? errno : 0);
	int r = msync(m, 0, MS_SYNC);
	printf("msync zero length: %d\n", r);
	munmap(m, LEN);
	return 0;
}
