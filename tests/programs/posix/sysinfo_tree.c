/* sysinfo as a cage sees it: RAM is its tree's memory budget, processes its tree's
 * cages (itself and two children here). */
#include <signal.h>
#include <stdio.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t kids[2];
    int p[2];
    pipe(p);
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            write(p[1], "x", 1);
            pause();
            _exit(0);
        }
    }
    char c;
    read(p[0], &c, 1);
    read(p[0], &c, 1);
    struct sysinfo si;
    sysinfo(&si);
    unsigned long long unit = si.mem_unit;
    printf("total %llu free<total %d free>0 %d procs %d\n", si.totalram * unit,
           si.freeram < si.totalram, si.freeram > 0, si.procs);
    for (int i = 0; i < 2; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    return 0;
}
