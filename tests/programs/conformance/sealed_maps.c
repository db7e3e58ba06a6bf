/* A memfd's write seal and its shared mappings: F_SEAL_WRITE while a writable shared
 * mapping exists is EBUSY; once sealed, a writable shared mapping is EPERM and a
 * read-only one shows the bytes. (A cage took the seal, then refused the mapping's own
 * write-back, and its exit failed half-way, leaking the mapping's memory.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define P 4096

static void show(const char *what, int r)
{
	printf("%s: %d errno %d\n", what, r, r ? errno : 0);
}

int main(void)
{
	int fd = memfd_create("sealed", MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, 2 * P))
		return 1;
	char *w = mmap(0, 2 * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	memset(w, 'a', 2 * P);
	show("write seal while mapped writable", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	show("msync", msync(w, 2 * P, MS_SYNC));
	show("munmap", munmap(w, 2 * P));
	show("write seal after", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	show("seals", fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE ? 0 : -1);
	show("writable shared mapping", mmap(0, P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0);
	char *r = mmap(0, P, PROT_READ, MAP_SHARED, fd, 0);
	printf("read-only shared mapping: %c\n", r == MAP_FAILED ? '-' : r[0]);
	show("write", write(fd, "x", 1) == 1 ? 0 : -1);
	return 0;
}
