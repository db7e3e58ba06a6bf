/* sock_chdir ROUNDS: one thread binds Unix sockets by the relative name "s", ROUNDS
 * times, in the working directory /tmp (outside the directory a grate guards); another
 * keeps changing the working directory to /data (the guarded one) and back. A grate
 * that resolved the name against the working directory, then let the call down with
 * the relative name, could pass /tmp/s while the microvisor bound /data/s.
 * First, from a working directory too deep for the name made absolute to fit in an
 * address, prints "deep R E" (bind's result and errno). Then "tries N won W" (W:
 * /data/s exists). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
static volatile int stop;
static void *swap(void *a) { while (!stop) { chdir("/data"); chdir("/tmp"); } return a; }
int main(int argc, char **argv) {
  long rounds = atol(argv[1]);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, "s");
  chdir("/tmp");
  for (int k = 0; k < 13; k++) { mkdir("deep-directory", 0755); chdir("deep-directory"); }
  int d = socket(AF_UNIX, SOCK_STREAM, 0);
  int r = bind(d, (struct sockaddr *)&sa, sizeof sa);
  printf("deep %d %d\n", r, r ? errno : 0);
  close(d);
  chdir("/tmp");
  pthread_t t; pthread_create(&t, 0, swap, 0);
  long i = 0; int won = 0;
  for (; i < rounds && !won; i++) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) == 0) unlink("/tmp/s");
    close(s);
    struct stat st; won = stat("/data/s", &st) == 0;
  }
  stop = 1; pthread_join(t, 0);
  printf("tries %ld won %d\n", i, won);
  return 0;
}
