/* Copies a large region of its own memory onto itself with copy_data_between_cages,
 * from several threads at once: each copy went through a host buffer of its length,
 * outside every budget. argv: MIB THREADS. Prints "copied RESULT ERRNO" per thread. */
#include <errno.h>
#include <lind_syscall.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static char *region;
static size_t length;

static void *copier(void *unused)
{
	uint64_t me = (uint64_t)getpid();
	int r = 0;
	for (int i = 0; i < 3 && r >= 0; i++)
		r = copy_data_between_cages(me, me, (uint64_t)(uintptr_t)region, me,
		                            (uint64_t)(uintptr_t)region, me, length, 0);
	printf("copied %d %d\n", r < 0 ? -1 : 0, r < 0 ? errno : 0);
	return unused;
}

int main(int argc, char **argv)
{
	length = (size_t)(argc > 1 ? atoi(argv[1]) : 200) << 20;
	int threads = argc > 2 ? atoi(argv[2]) : 8;
	region = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t at = 0; at < length; at += 4096)
		region[at] = 1;
	pthread_t t[64];
	for (int i = 0; i < threads && i < 64; i++)
		pthread_create(&t[i], NULL, copier, NULL);
	for (int i = 0; i < threads && i < 64; i++)
		pthread_join(t[i], NULL);
	fflush(stdout);
	return 0;
}
