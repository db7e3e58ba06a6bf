/* Threads of one process:
 *   thread_loop create N      create and join a thread that returns at once
 *   thread_loop mutex N       lock and unlock a mutex nobody else wants
 *   thread_loop contended N   two threads take turns on one mutex, N increments each
 *   thread_loop condvar N     round trips between two threads over a condition variable
 *   thread_loop single N      a compute job of N steps in one thread
 *   thread_loop split N       the same job split over two threads
 * Prints ns per operation (per step for single and split). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"

static void *nothing(void *arg) { return arg; }

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static volatile long counter;
static long rounds;
static int turn;

static void *increments(void *arg) {
    for (long i = 0; i < rounds; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return arg;
}

/* Wait for `mine`, hand the turn to the other side. */
static void *pingpong(void *arg) {
    int mine = (int)(long)arg;
    for (long i = 0; i < rounds; i++) {
        pthread_mutex_lock(&lock);
        while (turn != mine)
            pthread_cond_wait(&changed, &lock);
        turn = !mine;
        pthread_cond_signal(&changed);
        pthread_mutex_unlock(&lock);
    }
    return arg;
}

static volatile uint64_t sink;
static void *compute(void *arg) {
    uint64_t x = 88172645463325252ULL;
    for (long i = 0; i < (long)arg; i++) {   /* xorshift: no closed form to shortcut */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    sink += x;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s create|mutex|contended|condvar|single|split N\n", argv[0]);
        return 2;
    }
    const char *what = argv[1];
    long n = atol(argv[2]);
    pthread_t a, b;
    long long start = now_ns();
    rounds = n;
    if (!strcmp(what, "create")) {
        for (long i = 0; i < n; i++) {
            if (pthread_create(&a, NULL, nothing, NULL))
                return 1;
            pthread_join(a, NULL);
        }
    } else if (!strcmp(what, "mutex")) {
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(&lock);
            counter++;
            pthread_mutex_unlock(&lock);
        }
    } else if (!strcmp(what, "contended") || !strcmp(what, "condvar")) {
        void *(*body)(void *) = !strcmp(what, "contended") ? increments : pingpong;
        pthread_create(&a, NULL, body, (void *)0);
        pthread_create(&b, NULL, body, (void *)1);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
    } else if (!strcmp(what, "single")) {
        compute((void *)n);
    } else if (!strcmp(what, "split")) {
        pthread_create(&a, NULL, compute, (void *)(n / 2));
        pthread_create(&b, NULL, compute, (void *)(n - n / 2));
        pthread_join(a, NULL);
        pthread_join(b, NULL);
    } else {
        fprintf(stderr, "%s: unknown mode %s\n", argv[0], what);
        return 2;
    }
    long long elapsed = now_ns() - start;
    printf("%.2f\n", (double)elapsed / (double)n);
    return 0;
}
