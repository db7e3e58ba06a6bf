/* py_sendmsg: a datagram by sendmsg and three by sendmmsg, each with its address in
 * msg_name, to a socket of its own; prints what each call said and what arrived. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
  int r = socket(AF_INET, SOCK_DGRAM, 0), s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET}; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(r, (struct sockaddr *)&a, sizeof a); socklen_t l = sizeof a; getsockname(r, (struct sockaddr *)&a, &l);
  struct iovec v = {"one", 3};
  struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &v, .msg_iovlen = 1};
  printf("sendmsg %zd\n", sendmsg(s, &m, 0));
  struct mmsghdr mm[3]; struct iovec vs[3] = {{"two", 3}, {"three", 5}, {"four", 4}};
  for (int i = 0; i < 3; i++) { memset(&mm[i], 0, sizeof mm[i]); mm[i].msg_hdr.msg_name = &a; mm[i].msg_hdr.msg_namelen = sizeof a; mm[i].msg_hdr.msg_iov = &vs[i]; mm[i].msg_hdr.msg_iovlen = 1; }
  printf("sendmmsg %d\n", sendmmsg(s, mm, 3, 0));
  char buf[16];
  for (int i = 0; i < 4; i++) { ssize_t n = recv(r, buf, sizeof buf, MSG_DONTWAIT); printf("got %.*s\n", (int)(n > 0 ? n : 0), buf); }
  return 0;
}
