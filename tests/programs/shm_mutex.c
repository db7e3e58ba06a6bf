/* A PTHREAD_PROCESS_SHARED mutex and condition variable in MAP_SHARED memory,
 * protecting a counter that four children and the parent increment; a
 * process-shared spinlock protecting another. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 4
#define ROUNDS 20000

struct shared {
	pthread_mutex_t mutex;
	pthread_cond_t finished;
	pthread_spinlock_t spin;
	long counter;
	long spun;
	int children_done;
};

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);
	struct shared *s = mmap(0, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	if (pthread_mutex_init(&s->mutex, &ma) || pthread_cond_init(&s->finished, &ca) ||
	    pthread_spin_init(&s->spin, PTHREAD_PROCESS_SHARED)) {
		printf("init failed\n");
		return 1;
	}
	int pshared = 0;
	pthread_mutexattr_getpshared(&ma, &pshared);
	printf("process-shared: %d\n", pshared == PTHREAD_PROCESS_SHARED);

	for (int c = 0; c < CHILDREN + 1; c++) {
		if (c == CHILDREN || fork() == 0) {
			for (int i = 0; i < ROUNDS; i++) {
				if (pthread_mutex_lock(&s->mutex)) {
					printf("lock failed\n");
					exit(1);
				}
				s->counter++;
				pthread_mutex_unlock(&s->mutex);
				if (pthread_spin_lock(&s->spin)) {
					printf("spin lock failed\n");
					exit(1);
				}
				s->spun++;
				pthread_spin_unlock(&s->spin);
			}
			if (c == CHILDREN)
				break;
			pthread_mutex_lock(&s->mutex);
			s->children_done++;
			pthread_cond_signal(&s->finished);
			pthread_mutex_unlock(&s->mutex);
			_exit(0);
		}
	}
	pthread_mutex_lock(&s->mutex);
	while (s->children_done < CHILDREN)
		pthread_cond_wait(&s->finished, &s->mutex);
	printf("trylock while held: %s\n", pthread_mutex_trylock(&s->mutex) ? "busy" : "acquired");
	pthread_mutex_unlock(&s->mutex);
	pthread_spin_lock(&s->spin);
	printf("spin trylock while held: %s\n", pthread_spin_trylock(&s->spin) ? "busy" : "acquired");
	pthread_spin_unlock(&s->spin);
	printf("counter=%ld spun=%ld (expected %d)\n", s->counter, s->spun, (CHILDREN + 1) * ROUNDS);
	int status, ok = 0;
	while (wait(&status) > 0)
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	printf("children ok: %d\n", ok);
	return s->counter == (CHILDREN + 1) * ROUNDS && s->spun == s->counter ? 0 : 1;
}
