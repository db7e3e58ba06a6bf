/* Process and identity calls, run as an unprivileged user (uid 1000 or the tester's):
 * results as numbers and errnos only, the same in a cage and natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD ((void *)0xfff00000)

static void show(const char *what, long r) {
    if (r < 0) printf("%s = -1 errno %d\n", what, errno);
    else printf("%s = %ld\n", what, r);
}

static uid_t U, G;

static void ids(const char *when) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("%s: uid %d %d %d gid %d %d %d | getuid %d geteuid %d\n", when, r == U ? 0 : (int)r,
           e == U ? 0 : (int)e, s == U ? 0 : (int)s, gr == G ? 0 : (int)gr, ge == G ? 0 : (int)ge,
           gs == G ? 0 : (int)gs, getuid() == r, geteuid() == e);
}

static void spin(void) {   /* until this process has used 30 ms of CPU more */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long long end = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec + 30000;
    volatile unsigned long x = 0;
    do {
        for (unsigned long i = 0; i < 1000000UL; i++) x += i;
        getrusage(RUSAGE_SELF, &ru);
    } while (ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec < end);
}

int main(void) {
    U = getuid();
    G = getgid();
    setvbuf(stdout, NULL, _IONBF, 0);

    /* identity: an unprivileged user can only move among its own ids */
    ids("start");
    show("setuid other", setuid(U + 1));
    show("setuid self", setuid(U));
    show("setresuid -1s", setresuid(-1, -1, -1));
    show("setresuid other", setresuid(U, U, U + 1));
    show("setreuid other", setreuid(U + 1, -1));
    show("setreuid self", setreuid(U, U));
    show("setgid other", setgid(G + 1));
    show("setresgid other", setresgid(-1, G + 1, -1));
    show("setregid self", setregid(-1, G));
    show("setuid -1", syscall(SYS_setuid, -1));
    show("getresuid efault", syscall(SYS_getresuid, BAD, BAD, BAD));
    ids("after");
    gid_t groups[4];
    show("getgroups count", getgroups(0, NULL));
    show("getgroups", getgroups(4, groups));
    show("getgroups neg", getgroups(-1, groups));
    show("setgroups", setgroups(1, groups));
    show("setgroups too many", syscall(SYS_setgroups, 70000, groups));

    /* rusage, times */
    spin();
    struct rusage ru;
    show("getrusage self", getrusage(RUSAGE_SELF, &ru));
    printf("self cpu>0 %d maxrss>0 %d\n", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec > 0,
           ru.ru_maxrss > 0);
    show("getrusage children", getrusage(RUSAGE_CHILDREN, &ru));
    printf("children cpu %ld\n", (long)(ru.ru_utime.tv_sec + ru.ru_utime.tv_usec));
    show("getrusage bad", getrusage(7, &ru));
    show("getrusage efault", syscall(SYS_getrusage, RUSAGE_SELF, BAD));
    pid_t pid = fork();
    if (pid == 0) { spin(); spin(); _exit(3); }
    int status;
    struct rusage cru;
    show("wait4 pid ok", wait4(pid, &status, 0, &cru) == pid);
    printf("status %d child cpu>0 %d\n", WEXITSTATUS(status), cru.ru_utime.tv_sec + cru.ru_utime.tv_usec > 0);
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("children cpu>0 %d\n", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec > 0);
    struct tms t;
    clock_t c = times(&t);
    printf("times ok %d utime>0 %d cutime>0 %d\n", c != (clock_t)-1, t.tms_utime + t.tms_stime > 0,
           t.tms_cutime + t.tms_cstime > 0);
    show("times efault", syscall(SYS_times, BAD));

    /* sysinfo */
    struct sysinfo si;
    show("sysinfo", sysinfo(&si));
    printf("uptime>0 %d totalram>0 %d free<=total %d procs>0 %d unit>0 %d\n", si.uptime > 0,
           si.totalram > 0, si.freeram <= si.totalram, si.procs > 0, si.mem_unit > 0);
    show("sysinfo efault", syscall(SYS_sysinfo, BAD));

    /* scheduling */
    cpu_set_t set;
    CPU_ZERO(&set);
    show("sched_getaffinity ok", sched_getaffinity(0, sizeof set, &set));
    printf("cpus == nprocs %d nprocs %ld\n", CPU_COUNT(&set) == sysconf(_SC_NPROCESSORS_ONLN),
           sysconf(_SC_NPROCESSORS_ONLN));
    long raw = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
    printf("raw answer %ld\n", raw);
    show("sched_getaffinity small", syscall(SYS_sched_getaffinity, 0, 4, &set));
    show("sched_getaffinity efault", syscall(SYS_sched_getaffinity, 0, sizeof set, BAD));
    show("sched_getaffinity esrch", sched_getaffinity(99999, sizeof set, &set));
    cpu_set_t one;
    CPU_ZERO(&one);
    int first = -1;
    for (int i = 0; i < CPU_SETSIZE; i++) if (CPU_ISSET(i, &set)) { first = i; break; }
    CPU_SET(first, &one);
    show("sched_setaffinity one", sched_setaffinity(0, sizeof one, &one));
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    printf("now %d cpu(s), first %d\n", CPU_COUNT(&set), CPU_ISSET(first, &set) != 0);
    unsigned cpu = 99, node = 99;
    show("getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
    printf("on first %d node %u\n", cpu == (unsigned)first, node);
    CPU_ZERO(&one);
    show("sched_setaffinity none", sched_setaffinity(0, sizeof one, &one));
    /* musl's sched_getscheduler and friends are stubs (ENOSYS): the calls themselves */
    show("sched_getscheduler", syscall(SYS_sched_getscheduler, 0));
    struct sched_param sp = {0};
    show("sched_getparam", syscall(SYS_sched_getparam, 0, &sp));
    printf("priority %d\n", sp.sched_priority);
    show("sched_setscheduler other", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp));
    sp.sched_priority = 10;
    show("sched_setscheduler fifo", syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &sp));
    show("sched_setscheduler other prio", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp));
    show("sched_setscheduler bad", syscall(SYS_sched_setscheduler, 0, 42, &sp));
    show("sched_setparam", syscall(SYS_sched_setparam, 0, &sp));
    show("sched_getparam esrch", syscall(SYS_sched_getparam, 99999, &sp));
    show("sched_getparam efault", syscall(SYS_sched_getparam, 0, BAD));
    show("max fifo", sched_get_priority_max(SCHED_FIFO));
    show("min rr", sched_get_priority_min(SCHED_RR));
    show("max other", sched_get_priority_max(SCHED_OTHER));
    show("max bad", sched_get_priority_max(42));

    /* nice, in a process group of its own */
    setpgid(0, 0);
    errno = 0;
    show("getpriority", getpriority(PRIO_PROCESS, 0));
    show("setpriority up", setpriority(PRIO_PROCESS, 0, 5));
    show("getpriority now", getpriority(PRIO_PROCESS, 0));
    show("setpriority down", setpriority(PRIO_PROCESS, 0, 2));
    show("setpriority same", setpriority(PRIO_PROCESS, 0, 5));
    show("nice", nice(1));
    show("getpriority bad which", getpriority(9, 0));
    show("getpriority esrch", getpriority(PRIO_PROCESS, 99999));
    show("getpriority pgrp", getpriority(PRIO_PGRP, 0));
    pid = fork();
    if (pid == 0) { printf("child inherits nice %d\n", getpriority(PRIO_PROCESS, 0)); _exit(0); }
    waitpid(pid, NULL, 0);

    /* prctl */
    char name[32] = {0};
    show("PR_SET_NAME", prctl(PR_SET_NAME, "a-rather-long-thread-name"));
    show("PR_GET_NAME", prctl(PR_GET_NAME, name));
    printf("name [%s]\n", name);
    FILE *st = fopen("/proc/self/status", "r");
    char line[128];
    if (st && fgets(line, sizeof line, st)) printf("status %s", line);
    if (st) fclose(st);
    show("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE));
    show("PR_SET_DUMPABLE 0", prctl(PR_SET_DUMPABLE, 0));
    show("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE));
    show("PR_SET_DUMPABLE 7", prctl(PR_SET_DUMPABLE, 7));
    show("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    show("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    show("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    show("PR_SET_NO_NEW_PRIVS bad", prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0));
    int sig = -1;
    show("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig));
    printf("pdeathsig %d\n", sig);
    show("PR_SET_PDEATHSIG bad", prctl(PR_SET_PDEATHSIG, 99));
    show("PR_GET_PDEATHSIG efault", prctl(PR_GET_PDEATHSIG, BAD));
    void *tid_address = NULL;
    show("PR_GET_TID_ADDRESS", prctl(PR_GET_TID_ADDRESS, &tid_address));
    printf("tid address set %d\n", tid_address != NULL);
    show("prctl unknown", prctl(9999, 0, 0, 0, 0));

    /* waitid */
    siginfo_t info;
    memset(&info, 0x55, sizeof info);
    show("waitid no child", waitid(P_ALL, 0, &info, WEXITED));
    pid = fork();
    if (pid == 0) { pause(); _exit(0); }
    memset(&info, 0x55, sizeof info);
    show("waitid WNOHANG", waitid(P_PID, pid, &info, WEXITED | WNOHANG));
    printf("si_pid %d si_signo %d\n", info.si_pid, info.si_signo);
    kill(pid, SIGTERM);
    show("waitid WNOWAIT", waitid(P_PID, pid, &info, WEXITED | WNOWAIT));
    printf("signo %d code %d pid ok %d uid ok %d status %d\n", info.si_signo, info.si_code,
           info.si_pid == pid, info.si_uid == U, info.si_status);
    show("waitpid after WNOWAIT", waitpid(pid, &status, 0) == pid);
    printf("WIFSIGNALED %d sig %d\n", WIFSIGNALED(status), WTERMSIG(status));
    pid = fork();
    if (pid == 0) _exit(7);
    show("waitid P_PGID", waitid(P_PGID, 0, &info, WEXITED));
    printf("code %d status %d pid ok %d\n", info.si_code, info.si_status, info.si_pid == pid);
    show("waitid bad options", waitid(P_ALL, 0, &info, WNOHANG));
    show("waitid bad idtype", waitid(7, 0, &info, WEXITED));
    show("waitid echild", waitid(P_PID, 12345, &info, WEXITED));
    pid = fork();
    if (pid == 0) _exit(1);
    show("waitid efault", syscall(SYS_waitid, P_PID, pid, BAD, WEXITED, NULL));
    waitpid(pid, NULL, 0);

    /* personality, capabilities, robust lists */
    show("personality query", personality(0xffffffff));
    show("personality linux", personality(PER_LINUX));
    struct { unsigned version; int pid; } hdr = {0x20080522, 0};
    unsigned data[6] = {1, 1, 1, 1, 1, 1};
    show("capget", syscall(SYS_capget, &hdr, data));
    printf("caps %u %u %u %u %u %u\n", data[0], data[1], data[2], data[3], data[4], data[5]);
    hdr.version = 1;
    show("capget bad version", syscall(SYS_capget, &hdr, data));
    printf("version now %x\n", hdr.version);
    hdr.version = 0x20080522;
    show("capget probe", syscall(SYS_capget, &hdr, NULL));
    show("capget efault", syscall(SYS_capget, BAD, data));

    /* the parent's death signal: a grandchild asks for SIGUSR1 when its parent ends
     * (last: the orphan is Lind's tree's first cage's child, natively init's) */
    int ready[2], said[2];
    pipe(ready);
    pipe(said);
    pid = fork();
    if (pid == 0) {
        pid_t g = fork();
        if (g == 0) {
            prctl(PR_SET_PDEATHSIG, SIGUSR1);
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, SIGUSR1);
            sigprocmask(SIG_BLOCK, &s, NULL);
            write(ready[1], "r", 1);
            int got = 0;
            sigwait(&s, &got);
            char msg = (char)got;
            write(said[1], &msg, 1);
            _exit(0);
        }
        char r;
        read(ready[0], &r, 1);
        _exit(0);
    }
    close(said[1]);
    char got = 0;
    read(said[0], &got, 1);
    printf("grandchild got signal %d\n", got);
    waitpid(pid, NULL, 0);
    return 0;
}
