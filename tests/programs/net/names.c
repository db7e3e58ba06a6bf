/* Name resolution without a network: getaddrinfo, gethostbyname, gethostname. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
int main(int argc,char**argv){ struct addrinfo h={0},*r; h.ai_socktype=SOCK_STREAM;
 for(int i=1;i<argc;i++){ int e=getaddrinfo(argv[i],"80",&h,&r); if(e){printf("%s: %s\n",argv[i],gai_strerror(e));continue;}
  for(struct addrinfo*p=r;p;p=p->ai_next){char b[64]; void*a=p->ai_family==AF_INET?(void*)&((struct sockaddr_in*)p->ai_addr)->sin_addr:(void*)&((struct sockaddr_in6*)p->ai_addr)->sin6_addr; inet_ntop(p->ai_family,a,b,sizeof b); printf("%s -> %s\n",argv[i],b);} freeaddrinfo(r);}
 char hn[64]; gethostname(hn,sizeof hn); printf("hostname %s\n",hn);
 struct hostent*he=gethostbyname("localhost"); printf("gethostbyname %s\n", he?inet_ntoa(*(struct in_addr*)he->h_addr):"fail"); return 0;}
