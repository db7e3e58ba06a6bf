/* set*id permutations starting as root: privileged changes, then what the unprivileged
 * ids allow (real, effective and saved ids differing). */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0) printf("%s = -1 errno %d\n", what, errno);
    else printf("%s = %ld\n", what, r);
}

static void ids(void) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("  uid %u %u %u gid %u %u %u getuid agrees %d\n", r, e, s, gr, ge, gs,
           getuid() == r && geteuid() == e && getgid() == gr && getegid() == ge);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    gid_t g[2] = {5, 6};
    show("setgroups", setgroups(2, g));
    gid_t out[4];
    show("getgroups", getgroups(4, out));
    printf("  groups %u %u\n", out[0], out[1]);
    show("getgroups small", getgroups(1, out));
    show("setresgid 100 200 300", setresgid(100, 200, 300));
    ids();
    show("setresuid 1000 2000 0", setresuid(1000, 2000, 0));
    ids();
    show("setgroups unprivileged", setgroups(0, NULL));
    show("setresgid unprivileged", setresgid(100, 100, 7));
    show("setresgid own ids", setresgid(300, 100, 200));
    ids();
    show("seteuid 0 (saved)", seteuid(0));
    ids();
    show("setreuid -1 1000", setreuid(-1, 1000));
    ids();
    show("setreuid 2000 -1", setreuid(2000, -1));
    ids();
    show("setreuid 3000 -1", setreuid(3000, -1));
    show("setuid 0", setuid(0));
    show("setresuid 2000 -1 -1", setresuid(2000, -1, -1));
    show("setresuid -1 2000 2000", setresuid(-1, 2000, 2000));
    ids();
    pid_t pid = fork();
    if (pid == 0) {
        printf("child:");
        ids();
        show("child setuid 0", setuid(0));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    show("setuid 1000", setuid(1000));
    show("setuid 2000", setuid(2000));
    ids();
    return 0;
}
