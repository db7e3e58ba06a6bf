/* A signal sent while a child's execve starts its new program ends the child by that
 * signal. libuv's uv_spawn reads a close-on-exec pipe until the exec closes it, and its
 * callers then kill the child at once: a cage reported SIGKILL, not SIGTERM, when the
 * signal came while the new program's memory was being set up. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

/* Initialized data the new program copies into its memory as it starts. */
static volatile char image[4 << 20] = {1};

int main(int argc, char **argv) {
  if (argc > 1) {
    for (;;) pause();
  }
  for (int i = 0; i < 8; i++) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
      char *args[] = {argv[0], "child", NULL};
      execv(argv[0], args);
      _exit(126);
    }
    close(p[1]);
    char b;
    read(p[0], &b, 1);   /* end of file once the child's execve closed it */
    close(p[0]);
    kill(pid, i % 2 ? SIGTERM : SIGINT);
    int st;
    waitpid(pid, &st, 0);
    printf("%d: signaled=%d sig=%d\n", i, WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : -1);
  }
  return image[0] - 1;
}
