/* Socket benchmarks over the loopback; each prints ns per operation.
 *   net_loop tcp SIZE N       round trip of SIZE bytes between two processes over TCP
 *   net_loop unix SIZE N      the same over a Unix socketpair
 *   net_loop stream SIZE N    one-way: N writes of SIZE bytes over TCP, read by a child
 *   net_loop connect N        connect + accept + close of a TCP connection
 *   net_loop epoll CLIENTS N  an epoll server answering N requests of CLIENTS clients */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

static int listener(struct sockaddr_in *a) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)a, sizeof *a) || listen(s, 128)) _exit(4);
    socklen_t len = sizeof *a;
    getsockname(s, (struct sockaddr *)a, &len);
    return s;
}

static int connected(const struct sockaddr_in *a) {
    int c = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (connect(c, (const struct sockaddr *)a, sizeof *a)) _exit(5);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return c;
}

/* A pair of connected sockets: TCP through a listener, or a Unix socketpair. */
static void pair(int tcp, int sv[2]) {
    if (!tcp) {
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        return;
    }
    struct sockaddr_in a;
    int s = listener(&a), one = 1;
    sv[0] = connected(&a);
    sv[1] = accept(s, NULL, NULL);
    setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close(s);
}

static long long pingpong(int tcp, size_t size, long n) {
    int sv[2];
    pair(tcp, sv);
    char *buf = calloc(1, size);
    if (fork() == 0) {
        close(sv[0]);
        for (long i = 0; i < n; i++) {
            full(sv[1], buf, size, 0);
            full(sv[1], buf, size, 1);
        }
        _exit(0);
    }
    close(sv[1]);
    long long start = now_ns();
    for (long i = 0; i < n; i++) {
        full(sv[0], buf, size, 1);
        full(sv[0], buf, size, 0);
    }
    long long elapsed = now_ns() - start;
    wait(NULL);
    return elapsed;
}

static long long stream(size_t size, long n) {
    int sv[2];
    pair(1, sv);
    char *buf = calloc(1, size);
    long long start = now_ns();
    if (fork() == 0) {
        close(sv[0]);
        for (long i = 0; i < n; i++)
            full(sv[1], buf, size, 0);
        _exit(0);
    }
    close(sv[1]);
    for (long i = 0; i < n; i++)
        full(sv[0], buf, size, 1);
    close(sv[0]);
    wait(NULL);
    return now_ns() - start;
}

static long long connects(long n) {
    struct sockaddr_in a;
    int s = listener(&a);
    long long start = now_ns();
    for (long i = 0; i < n; i++) {
        int c = connected(&a);
        int d = accept(s, NULL, NULL);
        close(c);
        close(d);
    }
    return now_ns() - start;
}

static long long epoll_server(int clients, long n) {
    struct sockaddr_in a;
    int s = listener(&a);
    long each = n / clients;
    for (int i = 0; i < clients; i++) {
        if (fork() == 0) {
            close(s);
            int c = connected(&a);
            char b[16] = "request";
            for (long k = 0; k < each; k++) {
                full(c, b, 8, 1);
                full(c, b, 8, 0);
            }
            _exit(0);
        }
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    long served = 0, total = each * clients;
    long long start = now_ns();
    while (served < total) {
        struct epoll_event out[64];
        int k = epoll_wait(ep, out, 64, 10000);
        if (k <= 0) _exit(6);
        for (int i = 0; i < k; i++) {
            int fd = out[i].data.fd;
            if (fd == s) {
                int c = accept(s, NULL, NULL), one = 1;
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                continue;
            }
            char b[8];
            ssize_t r = read(fd, b, sizeof b);
            if (r <= 0) {
                close(fd);
                continue;
            }
            write(fd, b, (size_t)r);
            served++;
        }
    }
    long long elapsed = now_ns() - start;
    while (wait(NULL) > 0)
        ;
    return elapsed;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s tcp|unix|stream SIZE N | connect N | epoll CLIENTS N\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    long n = atol(argv[argc - 1]);
    long long elapsed;
    if (!strcmp(mode, "tcp") || !strcmp(mode, "unix"))
        elapsed = pingpong(mode[0] == 't', (size_t)atol(argv[2]), n);
    else if (!strcmp(mode, "stream"))
        elapsed = stream((size_t)atol(argv[2]), n);
    else if (!strcmp(mode, "connect"))
        elapsed = connects(n);
    else if (!strcmp(mode, "epoll"))
        elapsed = epoll_server(atoi(argv[2]), n);
    else
        return 2;
    printf("%.1f\n", (double)elapsed / (double)n);
    return 0;
}
