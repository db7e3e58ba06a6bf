/* reuseport_join PORT: a UDP socket with SO_REUSEPORT bound to 127.0.0.1:PORT, where a
 * service of another user listens with SO_REUSEPORT too (the kernel lets only sockets of
 * one owner share a port so), then two of its own sharing PORT+1. Prints "bind R E" and
 * "own-group R E". */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = bind(s, (struct sockaddr *)&a, sizeof a);
  printf("bind %d %d\n", r, r ? errno : 0);
  int t = socket(AF_INET, SOCK_DGRAM, 0);
  setsockopt(t, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  a.sin_port = htons(atoi(argv[1]) + 1);
  r = bind(t, (struct sockaddr *)&a, sizeof a);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  setsockopt(u, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  r = r ? r : bind(u, (struct sockaddr *)&a, sizeof a);
  printf("own-group %d %d\n", r, r ? errno : 0);
  return 0;
}
