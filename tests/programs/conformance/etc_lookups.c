/* The lookups a program makes of its own user, group and of "localhost" find them,
 * whatever back end keeps the cage's files: on the portable one a tree with no /etc
 * answered ENOENT (getpwuid NULL, so libuv's uv_os_homedir and uv_os_get_passwd failed)
 * and getaddrinfo("localhost") asked a name server that is not there. */
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

int main(void) {
  struct passwd *pw = getpwuid(getuid());
  printf("getpwuid: %s\n", pw && pw->pw_uid == getuid() ? "found" : "missing");
  if (pw) {
    char name[256];
    snprintf(name, sizeof name, "%s", pw->pw_name);   /* getpwnam reuses pw's buffer */
    struct passwd *again = getpwnam(name);
    printf("getpwnam: %s\n", again && again->pw_uid == getuid() ? "found" : "missing");
  }
  struct group *gr = getgrgid(getgid());
  printf("getgrgid: %s\n", gr && gr->gr_gid == getgid() ? "found" : "missing");

  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int r = getaddrinfo("localhost", "80", &hints, &res);
  char text[INET_ADDRSTRLEN] = "";
  if (r == 0)
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, text, sizeof text);
  printf("getaddrinfo localhost: %s %s\n", r == 0 ? "ok" : "failed", text);
  if (res) freeaddrinfo(res);

  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char host[NI_MAXHOST];
  r = getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, NULL, 0, NI_NAMEREQD);
  printf("getnameinfo 127.0.0.1: %s %s\n", r == 0 ? "ok" : "failed", r == 0 ? host : "");
  return 0;
}
