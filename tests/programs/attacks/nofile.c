/* RLIMIT_NOFILE as on Linux: read it, lower it, hit EMFILE, fail to raise the hard
 * limit; the same through prlimit64. Prints "WHAT VALUES..." lines. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_prlimit64
#define SYS_prlimit64 302
#endif

int main(void)
{
	struct rlimit rl = {0, 0};
	int r = getrlimit(RLIMIT_NOFILE, &rl);
	printf("getrlimit %d %llu %llu\n", r, (unsigned long long)rl.rlim_cur,
	       (unsigned long long)rl.rlim_max);
	struct rlimit low = {64, rl.rlim_max};
	r = setrlimit(RLIMIT_NOFILE, &low);
	printf("setrlimit_soft64 %d %d\n", r, r < 0 ? errno : 0);
	int fd, last = -1;
	close(creat("/f", 0644));
	while ((fd = open("/f", O_RDONLY)) >= 0 && fd < 5000)
		last = fd;
	printf("open_until_fail last=%d errno=%d\n", last, errno);
	for (int i = 3; i <= last; i++)
		close(i);
	struct rlimit high = {64, 8192};
	errno = 0;
	r = setrlimit(RLIMIT_NOFILE, &high);
	printf("setrlimit_hard8192 %d %d\n", r, r < 0 ? errno : 0);
	struct rlimit old = {0, 0};
	long p = syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &old);
	printf("prlimit_get %ld %llu %llu\n", p, (unsigned long long)old.rlim_cur,
	       (unsigned long long)old.rlim_max);
	errno = 0;
	p = syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &high, NULL);
	printf("prlimit_hard8192 %ld %d\n", p, p < 0 ? errno : 0);
	struct rlimit lower = {32, 4096};
	p = syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &lower, NULL);
	last = -1;
	while ((fd = open("/f", O_RDONLY)) >= 0 && fd < 5000)
		last = fd;
	printf("prlimit_soft32 %ld last=%d errno=%d\n", p, last, errno);
	return 0;
}
