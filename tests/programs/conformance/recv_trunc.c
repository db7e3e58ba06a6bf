/* recv with MSG_TRUNC: on TCP it discards the bytes and copies nothing (a NULL buffer
 * works: Lind said EFAULT); on UDP it says the datagram's whole length. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
  struct sockaddr_in a = {.sin_family = AF_INET}; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int l = socket(AF_INET, SOCK_STREAM, 0); bind(l, (struct sockaddr *)&a, sizeof a); listen(l, 1);
  socklen_t n = sizeof a; getsockname(l, (struct sockaddr *)&a, &n);
  int c = socket(AF_INET, SOCK_STREAM, 0); connect(c, (struct sockaddr *)&a, sizeof a);
  int d = accept(l, 0, 0);
  write(c, "hello world", 11);
  usleep(100000);
  ssize_t r = recv(d, NULL, 6, MSG_TRUNC);
  printf("discard %zd %d\n", r, r < 0 ? errno : 0);
  char buf[16] = {0};
  r = recv(d, buf, sizeof buf, 0);
  printf("rest %zd %.*s\n", r, (int)(r > 0 ? r : 0), buf);
  /* UDP: MSG_TRUNC returns the real length */
  int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
  bind(u, (struct sockaddr *)&a, 0); a.sin_port = 0; bind(u, (struct sockaddr *)&a, sizeof a);
  n = sizeof a; getsockname(u, (struct sockaddr *)&a, &n);
  sendto(v, "0123456789", 10, 0, (struct sockaddr *)&a, sizeof a);
  r = recv(u, buf, 4, MSG_TRUNC);
  printf("udp %zd %.4s\n", r, buf);
  return 0;
}
