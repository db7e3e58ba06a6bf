/* getifaddrs and if_nameindex: the interfaces of the network the program sees. */
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <netdb.h>
#include <sys/socket.h>
int main(void){ struct ifaddrs*a; if(getifaddrs(&a)){perror("getifaddrs");return 1;}
 for(struct ifaddrs*p=a;p;p=p->ifa_next){ char h[64]="-"; if(p->ifa_addr&&(p->ifa_addr->sa_family==AF_INET||p->ifa_addr->sa_family==AF_INET6)) getnameinfo(p->ifa_addr, p->ifa_addr->sa_family==AF_INET?16:28,h,sizeof h,0,0,NI_NUMERICHOST);
  printf("%s %d %s\n",p->ifa_name,p->ifa_addr?p->ifa_addr->sa_family:-1,h);} freeifaddrs(a);
 struct if_nameindex*n=if_nameindex(); for(int i=0;n&&n[i].if_index;i++) printf("index %u %s\n",n[i].if_index,n[i].if_name); return 0;}
