/* A null pointer dereference is SIGSEGV, as on Linux: loads and stores, the bulk
 * copies memset/memcpy compile to, a handler that exits or longjmps out, an ignored
 * or blocked SIGSEGV (still fatal), a forked child; and a null buffer handed to a
 * system call is EFAULT, not a fault. Usage: null_page MODE. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

char *volatile nul;               /* the compiler cannot see that it is null */
static volatile size_t n = 64;
static char buf[256];
static sigjmp_buf back;

static void say(const char *text)
{
    printf("%s\n", text);
    fflush(stdout);
}

static int deref(const char *how)
{
    if (!strcmp(how, "read"))
        return *(volatile int *)nul;
    if (!strcmp(how, "write"))
        return *(volatile int *)(nul + 8) = 1;
    if (!strcmp(how, "memset")) {
        memset(nul, 1, n);
        return nul[3];
    }
    if (!strcmp(how, "memcpy_from")) {
        memcpy(buf, nul, n);
        return buf[3];
    }
    if (!strcmp(how, "memcpy_to")) {
        memcpy(nul, buf, n);
        return nul[3];
    }
    say("unknown mode");
    exit(2);
}

static void exit_from_handler(int sig, siginfo_t *info, void *context)
{
    (void)context;
    char line[80];
    int len = snprintf(line, sizeof line, "caught %d code=%d addr_null=%d\n", sig, info->si_code,
                       info->si_addr == NULL);
    write(1, line, (size_t)len);
    _exit(3);
}

static void jump_from_handler(int sig)
{
    siglongjmp(back, sig);
}

static void report(const char *what, long result)
{
    printf("%s: %ld %s\n", what, result, result < 0 ? strerror(errno) : "");
}

static void system_calls(void)
{
    int fd = open("/dev/zero", O_RDONLY);
    report("read into NULL", read(fd, nul, 4));
    report("write from NULL, 0 bytes", write(1, nul, 0));
    report("write from NULL", write(1, nul, 4));
    report("open(NULL)", open(nul, O_RDONLY));
    report("newfstatat into NULL", syscall(SYS_newfstatat, AT_FDCWD, "/", nul, 0));
    /* musl reads variadic arguments these callers need not pass (a null va_list) */
    report("fcntl(F_GETFL) without an argument", fcntl(fd, F_GETFL) & O_ACCMODE);
    report("syscall(SYS_getpid) without arguments is getpid", syscall(SYS_getpid) == getpid());
    report("prctl(PR_GET_DUMPABLE) without arguments", prctl(PR_GET_DUMPABLE) >= 0);
    close(fd);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    const char *how = argc > 2 ? argv[2] : "read";
    if (!strcmp(mode, "syscalls")) {
        system_calls();
        return 0;
    }
    if (!strcmp(mode, "plain")) {
        say("before");
        deref(how);
    } else if (!strcmp(mode, "ignored")) {
        signal(SIGSEGV, SIG_IGN);
        say("ignored");
        deref(how);
    } else if (!strcmp(mode, "blocked")) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGSEGV);
        sigprocmask(SIG_BLOCK, &set, NULL);
        say("blocked");
        deref(how);
    } else if (!strcmp(mode, "handler_exit")) {
        struct sigaction sa = {0};
        sa.sa_sigaction = exit_from_handler;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sa, NULL);
        deref(how);
    } else if (!strcmp(mode, "handler_longjmp")) {
        signal(SIGSEGV, jump_from_handler);
        for (int round = 0; round < 3; round++) {
            int sig = sigsetjmp(back, 1);
            if (sig) {
                printf("round %d: back from signal %d\n", round, sig);
                continue;
            }
            deref(how);
            say("not reached");
        }
        /* the page is still guarded after the handler ran */
        signal(SIGSEGV, SIG_DFL);
        say("again, with the default action");
        deref(how);
    } else if (!strcmp(mode, "child")) {
        pid_t pid = fork();
        if (pid == 0) {
            deref(how);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        printf("child: signaled=%d sig=%d\n", WIFSIGNALED(status), WTERMSIG(status));
        fflush(stdout);
        deref(how);           /* the parent's own page is still guarded */
    }
    say("survived");
    return 0;
}
