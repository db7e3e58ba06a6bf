/* RLIMIT_NOFILE inside a cage, Linux's semantics. Prints one line per check. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what)
{
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    printf("%s %llu %llu\n", what, (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max);
}

static const char *err(int rc)
{
    return rc >= 0 ? "ok" : errno == EMFILE ? "EMFILE" : errno == EINVAL ? "EINVAL"
         : errno == EPERM ? "EPERM" : errno == EBADF ? "EBADF" : errno == ENFILE ? "ENFILE" : "other";
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        show("after-exec");
        return 0;
    }
    show("default");
    int opened = 0, fd, last = -1;
    while ((fd = open("/data", O_RDONLY)) >= 0) {
        opened++;
        last = fd;
    }
    printf("open-until-fail %d last %d %s\n", opened, last, err(-1));
    for (int i = 3; i <= last; i++)
        close(i);

    struct rlimit r = {64, 4096};
    printf("lower %s\n", err(setrlimit(RLIMIT_NOFILE, &r)));
    show("now");
    for (opened = 0; (fd = open("/data", O_RDONLY)) >= 0; opened++)
        last = fd;
    printf("open %d last %d %s\n", opened, last, err(-1));
    printf("dup %s\n", err(dup(0)));
    int p[2];
    printf("pipe %s\n", err(pipe(p)));
    printf("fcntl-dupfd-10 %s\n", err(fcntl(0, F_DUPFD, 10)));
    printf("fcntl-dupfd-64 %s\n", err(fcntl(0, F_DUPFD, 64)));
    printf("dup2-100 %s\n", err(dup2(0, 100)));
    printf("close-63 %s\n", err(close(63)));

    r.rlim_cur = 32;
    setrlimit(RLIMIT_NOFILE, &r);
    printf("close-above-limit %s\n", err(close(40)));
    printf("reuse-above-limit %s\n", err(open("/data", O_RDONLY)));

    r.rlim_cur = 4096;
    printf("raise-soft %s\n", err(setrlimit(RLIMIT_NOFILE, &r)));
    r.rlim_max = 8192;
    printf("raise-hard %s\n", err(setrlimit(RLIMIT_NOFILE, &r)));
    r.rlim_cur = 100; r.rlim_max = 50;
    printf("soft-above-hard %s\n", err(setrlimit(RLIMIT_NOFILE, &r)));
    r.rlim_cur = 200; r.rlim_max = 2000;
    printf("lower-hard %s\n", err(setrlimit(RLIMIT_NOFILE, &r)));
    r.rlim_max = 3000;
    printf("raise-hard-again %s\n", err(setrlimit(RLIMIT_NOFILE, &r)));

    struct rlimit st, as;
    getrlimit(RLIMIT_STACK, &st);
    st.rlim_cur /= 2;
    printf("stack-lower %s\n", err(setrlimit(RLIMIT_STACK, &st)));
    getrlimit(RLIMIT_AS, &as);
    as.rlim_cur = 64 << 20;
    printf("as-lower %s\n", err(setrlimit(RLIMIT_AS, &as)));
    as.rlim_max = as.rlim_max + 1;
    printf("as-raise %s\n", err(setrlimit(RLIMIT_AS, &as)));

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        show("child");
        fflush(stdout);
        execl("/nofile.wasm", "nofile", "exec", (char *)0);
        printf("exec failed %d\n", errno);
        return 1;
    }
    int status;
    waitpid(pid, &status, 0);
    return 0;
}
