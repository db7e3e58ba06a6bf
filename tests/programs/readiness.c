/* poll and select on pipes between cages and on a regular file. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    pipe(p);
    struct pollfd pfd = {p[0], POLLIN, 0};
    printf("empty pipe, 0 ms: %d\n", poll(&pfd, 1, 0));
    printf("empty pipe, 30 ms: %d\n", poll(&pfd, 1, 30));
    pid_t pid = fork();
    if (pid == 0) {
        usleep(20000);
        write(p[1], "x", 1);
        _exit(0);
    }
    int r = poll(&pfd, 1, 5000);
    printf("after child writes: %d revents POLLIN=%d\n", r, !!(pfd.revents & POLLIN));
    char c;
    read(p[0], &c, 1);
    waitpid(pid, NULL, 0);

    struct pollfd w = {p[1], POLLOUT, 0};
    r = poll(&w, 1, 0);
    printf("writable: %d %d\n", r, !!(w.revents & POLLOUT));

    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval tv = {0, 10000};
    printf("select empty: %d\n", select(p[0] + 1, &rs, NULL, NULL, &tv));
    write(p[1], "yz", 2);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    tv.tv_sec = 1;
    r = select(p[0] + 1, &rs, NULL, NULL, &tv);
    printf("select ready: %d isset=%d\n", r, FD_ISSET(p[0], &rs));

    close(p[1]);
    read(p[0], &c, 1);
    read(p[0], &c, 1);
    pfd.revents = 0;
    r = poll(&pfd, 1, 1000);
    printf("writer gone: %d POLLHUP=%d\n", r, !!(pfd.revents & POLLHUP));

    int f = open("plain.txt", O_CREAT | O_RDWR, 0600);
    struct pollfd fp = {f, POLLIN | POLLOUT, 0};
    r = poll(&fp, 1, 0);
    printf("regular file: %d in=%d out=%d\n", r, !!(fp.revents & POLLIN), !!(fp.revents & POLLOUT));
    struct pollfd bad = {99, POLLIN, 0};
    r = poll(&bad, 1, 0);
    printf("bad fd: %d nval=%d\n", r, !!(bad.revents & POLLNVAL));
    unlink("plain.txt");
    return 0;
}
