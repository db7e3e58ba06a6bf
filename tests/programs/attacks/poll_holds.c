/* Rounds of poll and select on pipes the cage then closes: the trampoline holds each
 * pipe's host fd while it polls, and must let every hold go (a hold kept would keep the
 * host fd open after the cage's close, one more host fd each round, outside the
 * budget). Some polls name a fd it does not mirror after ones it does (held, then
 * handed to Python), and one is interrupted by a signal (the wake fd). */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/time.h>
#include <unistd.h>

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 1;
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    for (int r = 0; r < rounds; r++) {
        int p[2];
        if (pipe(p))
            return 1;
        write(p[1], "x", 1);
        struct pollfd both[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, 0, 0}};
        if (poll(both, 3, 0) != 2)
            return 2;
        both[2].fd = 900;       /* not open: POLLNVAL from Python, after two holds */
        if (poll(both, 3, 0) != 3)
            return 3;
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(p[0], &rs);
        struct timeval tv = {0, 0};
        if (select(p[0] + 1, &rs, NULL, NULL, &tv) != 1)
            return 4;
        char c;
        read(p[0], &c, 1);
        if (r % 10 == 0) {      /* a wait the signal ends */
            struct itimerval it = {{0, 0}, {0, 2000}};
            setitimer(ITIMER_REAL, &it, NULL);
            struct pollfd in = {p[0], POLLIN, 0};
            if (poll(&in, 1, 5000) != -1)
                return 5;
        }
        close(p[0]);
        close(p[1]);
    }
    printf("done %d\n", rounds);
    return 0;
}
