/* Many fork/exit cycles over an anonymous and a file-backed MAP_SHARED region:
 * each child adds to counters in both under a process-shared semaphore.
 * With "block": the parent and a child wait forever on a semaphore nobody posts. */
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared {
	sem_t lock;
	long counter;
};

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IONBF, 0);
	struct shared *s = mmap(0, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fd = open("shm_cycles.data", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (s == MAP_FAILED || fd < 0 || ftruncate(fd, 4096)) {
		perror("setup");
		return 1;
	}
	long *in_file = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (in_file == MAP_FAILED) {
		perror("mmap file");
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "block")) {
		sem_init(&s->lock, 1, 0);
		if (fork() == 0) {
			sem_wait(&s->lock);
			_exit(0);
		}
		printf("waiting\n");
		sem_wait(&s->lock);
		printf("woken, which nobody should do\n");
		return 1;
	}
	sem_init(&s->lock, 1, 1);
	int cycles = argc > 1 ? atoi(argv[1]) : 100;
	for (int i = 0; i < cycles; i++) {
		pid_t child = fork();
		if (child < 0) {
			perror("fork");
			return 1;
		}
		if (child == 0) {
			sem_wait(&s->lock);
			s->counter++;
			(*in_file)++;
			sem_post(&s->lock);
			_exit(0);
		}
		waitpid(child, 0, 0);
	}
	long from_file = 0;
	pread(fd, &from_file, sizeof from_file, 0);
	printf("counter=%ld file=%ld\n", s->counter, from_file);
	return 0;
}
