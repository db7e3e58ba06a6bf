/* Process-shared POSIX semaphores in MAP_SHARED memory, across fork. */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILDREN 3
#define ROUNDS 20000

struct shared {
	sem_t lock;      /* a mutex: 1 */
	sem_t ready;     /* the parent posts, a child waits: 0 */
	sem_t done;      /* children post, the parent waits: 0 */
	sem_t empty;     /* never posted */
	long counter;
};

static const char *name(int err)
{
	return err == EAGAIN ? "EAGAIN" : err == ETIMEDOUT ? "ETIMEDOUT" : err ? "other" : "none";
}

static void add(struct shared *s)
{
	for (int i = 0; i < ROUNDS; i++) {
		if (sem_wait(&s->lock)) {
			perror("sem_wait");
			exit(1);
		}
		s->counter++;
		sem_post(&s->lock);
	}
}

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);
	struct shared *s = mmap(0, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (sem_init(&s->lock, 1, 1) || sem_init(&s->ready, 1, 0) || sem_init(&s->done, 1, 0) ||
	    sem_init(&s->empty, 1, 0)) {
		perror("sem_init");
		return 1;
	}

	errno = 0;
	int r = sem_trywait(&s->empty);
	printf("sem_trywait on 0: %d %s\n", r, name(errno));
	struct timespec at;
	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_nsec += 50 * 1000 * 1000;
	if (at.tv_nsec >= 1000000000) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000;
	}
	errno = 0;
	r = sem_timedwait(&s->empty, &at);
	printf("sem_timedwait on 0: %d %s\n", r, name(errno));

	for (int c = 0; c < CHILDREN; c++) {
		if (fork() == 0) {
			if (sem_wait(&s->ready)) {   /* blocks until the parent posts */
				perror("sem_wait ready");
				_exit(1);
			}
			add(s);
			sem_post(&s->done);
			_exit(0);
		}
	}
	for (int c = 0; c < CHILDREN; c++)
		sem_post(&s->ready);
	add(s);
	for (int c = 0; c < CHILDREN; c++)
		sem_wait(&s->done);
	int value = -1;
	sem_getvalue(&s->lock, &value);
	printf("counter=%ld (expected %d), lock value %d\n", s->counter, (CHILDREN + 1) * ROUNDS, value);
	sem_getvalue(&s->done, &value);
	printf("done value %d\n", value);

	int status, ok = 0;
	while (wait(&status) > 0)
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	printf("children ok: %d\n", ok);
	return s->counter == (CHILDREN + 1) * ROUNDS ? 0 : 1;
}
