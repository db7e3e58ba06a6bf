/* madvise as Linux answers it: what each advice does to the bytes (DONTNEED zeroes
 * private anonymous memory, leaves shared and file-backed pages their contents; REMOVE
 * zeroes shared anonymous memory in every mapping of it; WIPEONFORK and DONTFORK decide
 * what a forked child sees) and the errnos at the edges. Results only, never addresses. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#define MADV_PAGEOUT 21
#endif

#define P 4096

static void show(const char *what, int result)
{
	if (result == 0)
		printf("%s: ok\n", what);
	else
		printf("%s: errno %d\n", what, errno);
}

static char *anonymous(size_t len, int flags)
{
	char *p = mmap(0, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

/* What a forked child reads at p[0] (-1: the child could not read it). */
static int child_reads(volatile char *p)
{
	pid_t pid = fork();
	if (pid == 0) {
		_exit(p[0]);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
	/* DONTNEED on private anonymous memory: the range reads as zeros, the rest stays */
	char *a = anonymous(4 * P, MAP_PRIVATE);
	memset(a, 'a', 4 * P);
	show("dontneed", madvise(a + P, 2 * P, MADV_DONTNEED));
	printf("private zeroed: %d %d %d %d\n", a[0], a[P], a[3 * P - 1], a[3 * P]);
	a[P] = 'b';
	printf("written again: %c\n", a[P]);
	char *moved = mremap(a, 4 * P, 8 * P, MREMAP_MAYMOVE);   /* still one mapping */
	printf("mremap after dontneed: %d\n", moved != MAP_FAILED && moved[P] == 'b');
	a = moved != MAP_FAILED ? moved : a;

	/* DONTNEED on a shared mapping: contents stay (the pages are the mapping's object) */
	char *s = anonymous(2 * P, MAP_SHARED);
	memset(s, 's', 2 * P);
	show("dontneed shared", madvise(s, 2 * P, MADV_DONTNEED));
	printf("shared kept: %c %c\n", s[0], s[2 * P - 1]);

	/* private file mapping: DONTNEED gives the file's bytes back */
	int fd = open("file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	char page[2 * P];
	memset(page, 'f', sizeof page);
	if (fd < 0 || write(fd, page, sizeof page) != sizeof page) {
		perror("file");
		return 1;
	}
	char *f = mmap(0, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	show("dontneed file", madvise(f, 2 * P, MADV_DONTNEED));
	printf("file kept: %c %c\n", f[0], f[2 * P - 1]);

	/* MADV_FREE: private anonymous only */
	show("free", madvise(a, P, MADV_FREE));
	show("free shared", madvise(s, P, MADV_FREE));
	show("free file", madvise(f, P, MADV_FREE));

	/* MADV_REMOVE: shared only; the hole reads as zeros */
	show("remove private", madvise(a, P, MADV_REMOVE));
	show("remove shared", madvise(s, P, MADV_REMOVE));
	printf("removed: %d %c\n", s[0], s[P]);
	char *shared_file = mmap(0, 2 * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	show("remove file", madvise(shared_file, P, MADV_REMOVE));
	char first = 'x';
	pread(fd, &first, 1, 0);
	printf("file after remove: %d %c\n", first, shared_file[P]);

	/* hints: accepted, nothing changes */
	memset(a, 'h', 4 * P);
	int hints[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTDUMP,
		       MADV_DODUMP, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_COLD, MADV_PAGEOUT,
		       MADV_HUGEPAGE, MADV_NOHUGEPAGE};
	int kept = 1;
	for (unsigned i = 0; i < sizeof hints / sizeof hints[0]; i++) {
		if (madvise(a, 4 * P, hints[i]) != 0 && errno != EINVAL) {
			printf("hint %d: errno %d\n", hints[i], errno);
			kept = 0;
		}
	}
	printf("hints keep the bytes: %d\n", kept && a[0] == 'h' && a[4 * P - 1] == 'h');

	/* the edges */
	show("unaligned", madvise(a + 1, P, MADV_DONTNEED));
	show("zero length", madvise(a, 0, MADV_DONTNEED));
	show("unknown advice", madvise(a, P, 77));
	show("negative length", madvise(a, (size_t)-P, MADV_NORMAL));
	munmap(a + 2 * P, P);
	show("hole in the range", madvise(a, 4 * P, MADV_DONTNEED));
	printf("past the hole zeroed too: %d, before it: %d\n", a[3 * P], a[P]);

	/* fork: WIPEONFORK gives the child zeros, KEEPONFORK undoes it, DONTFORK leaves
	 * the child without the mapping */
	char *w = anonymous(P, MAP_PRIVATE);
	w[0] = 'w';
	show("wipeonfork", madvise(w, P, MADV_WIPEONFORK));
	printf("child reads %d, parent %c\n", child_reads(w), w[0]);
	show("keeponfork", madvise(w, P, MADV_KEEPONFORK));
	printf("child reads %c\n", child_reads(w));
	show("wipeonfork shared", madvise(s, P, MADV_WIPEONFORK));
	show("wipeonfork file", madvise(f, P, MADV_WIPEONFORK));
	char *d = anonymous(2 * P, MAP_PRIVATE);
	d[0] = 'd';
	d[P] = 'e';
	show("dontfork", madvise(d, P, MADV_DONTFORK));
	pid_t pid = fork();
	if (pid == 0) {
		/* the child: the first page is no mapping of its (mmap may have it) */
		int replaced = mmap(d, P, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == d;
		_exit(replaced * 100 + (d[P] == 'e'));
	}
	int status;
	waitpid(pid, &status, 0);
	printf("dontfork child: %d, parent %c\n", WEXITSTATUS(status), d[0]);
	show("dofork", madvise(d, P, MADV_DOFORK));
	printf("child reads %c\n", child_reads(d));
	char *f2 = anonymous(3 * P, MAP_PRIVATE);      /* split, then alike again: one mapping */
	madvise(f2 + P, P, MADV_DONTFORK);
	madvise(f2 + P, P, MADV_DOFORK);
	printf("mremap after dontfork, dofork: %d\n",
	       mremap(f2, 3 * P, 6 * P, MREMAP_MAYMOVE) != MAP_FAILED);
	char *m = anonymous(4 * P, MAP_PRIVATE);       /* mremap of a part of a mapping */
	memset(m, 'm', 4 * P);
	char *mid = mremap(m + P, P, 2 * P, MREMAP_MAYMOVE);
	printf("mremap of a middle page: %d %c %d, around it %c %c\n", mid != MAP_FAILED,
	       mid != MAP_FAILED ? mid[0] : '-', mid != MAP_FAILED ? mid[P] : -1, m[0], m[2 * P]);
	char *e = anonymous(2 * P, MAP_PRIVATE);       /* no flag changes: still one mapping */
	show("dofork of a mapping never dontfork'd", madvise(e, P, MADV_DOFORK));
	printf("mremap after it: %d\n", mremap(e, 2 * P, 4 * P, MREMAP_MAYMOVE) != MAP_FAILED);
	return 0;
}
