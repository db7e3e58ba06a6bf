/* mincore and the mlock family: checks on the range, then success. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0) printf("%s = -1 errno %d\n", what, errno);
    else printf("%s = %ld\n", what, r);
}

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 4; i++) m[i * page] = 1;
    unsigned char vec[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    show("mincore", mincore(m, 4 * page, vec));
    printf("vec %d %d %d %d %d\n", vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1, vec[4]);
    show("mincore partial page", mincore(m, page + 1, vec));
    show("mincore unaligned", mincore(m + 1, page, vec));
    show("mincore zero", mincore(m, 0, vec));
    show("mincore efault", mincore(m, page, (void *)0xfff00000));
    munmap(m + 2 * page, page);
    show("mincore hole", mincore(m, 4 * page, vec));
    show("mlock", mlock(m + 10, 100));
    show("munlock", munlock(m + 10, 100));
    show("mlock hole", mlock(m + page, 2 * page));
    show("munlock hole", munlock(m + 2 * page, page));
    show("mlock2", syscall(SYS_mlock2, m, page, 1));
    show("mlock2 bad flags", syscall(SYS_mlock2, m, page, 2));
    show("mlockall none", mlockall(0));
    show("mlockall onfault only", mlockall(MCL_ONFAULT));
    show("mlockall bad", mlockall(MCL_FUTURE | 8));
    show("mlockall future", mlockall(MCL_FUTURE));
    show("munlockall", munlockall());
    return 0;
}
