/* Opens the trampoline serves (plain ones of files that exist, for reading and for
 * writing), aimed out of the root.
 *   reach CANARY   each way out once, opened, stat'd and opened for writing (appending
 *                  "x", emptying it, creating it), as "NAME RESULT ERRNO",
 *                  "NAME_stat RESULT ERRNO" (and the size stat found), "NAME_write RESULT
 *                  ERRNO", "NAME_trunc RESULT ERRNO" and "NAME_create RESULT ERRNO"; a new
 *                  file made through the link to the host directory ("made_outside_create");
 *                  then two threads open (every fourth time
 *                  for reading and appending "x") a
 *                  path a third thread keeps rewriting among those ways (so the path
 *                  may change while it is read), while a fourth dups and closes the
 *                  numbers they get; prints "raced escaped=N opened=M": N reads that
 *                  returned the canary or a neighbour's secret.
 *   hold N         opens N files, creates /ready, and waits to be killed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROUNDS 20000

static const char *ways[8];
static int nways;
static char shared_path[256];
static volatile int stop;
static long escaped, opened;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static int leaked(int fd)
{
    char buf[128] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    return n > 0 && (strstr(buf, "canary") || strstr(buf, "SECRET"));
}

/* Each way stays a few microseconds (about an open's time), and the flipper gives way
 * now and then. Rewriting without a pause, the successful opens of a run varied from
 * none to half of them: on a loaded machine CI saw 40,000 opens without one
 * ("opened=none"). Now thousands succeed, and the path still changes while opens read it. */
static void *flipper(void *arg)
{
    for (unsigned i = 0; !stop; i++) {
        strcpy(shared_path, ways[i % nways]);
        for (volatile int dwell = 0; dwell < 1000; dwell++)
            ;
        if (i % 256 == 255)
            sched_yield();
    }
    return NULL;
}

static void *opener(void *arg)
{
    long mine_escaped = 0, mine_opened = 0;
    for (int i = 0; i < ROUNDS; i++) {
        int appending = i % 4 == 3;
        int fd = open(shared_path, (appending ? O_RDWR | O_APPEND : O_RDONLY) |
                                   (i & 1 ? O_CLOEXEC : 0));
        if (fd < 0)
            continue;
        mine_opened++;
        mine_escaped += leaked(fd);
        if (appending && write(fd, "x", 1) != 1)
            perror("append");
        close(fd);
    }
    pthread_mutex_lock(&count_lock);
    escaped += mine_escaped;
    opened += mine_opened;
    pthread_mutex_unlock(&count_lock);
    return NULL;
}

static void *shuffler(void *arg)
{
    while (!stop) {
        for (int fd = 3; fd < 12; fd++) {
            int d = dup(fd);
            if (d >= 0) {
                if (leaked(d))
                    __atomic_add_fetch(&escaped, 1, __ATOMIC_RELAXED);
                close(d);
            }
        }
    }
    return NULL;
}

static int reach(const char *canary)
{
    const char *names[] = {"inside", "abs_link", "rel_link", "dir_link", "canary_path",
                           "tenant", "tenant_via_link"};
    char via_link[512];
    snprintf(via_link, sizeof via_link, "dir_link/trees-tenant-root/tenant_secret.txt");
    ways[0] = "inside.txt";
    ways[1] = "abs_link";
    ways[2] = "rel_link";
    ways[3] = "dir_link/canary.txt";
    ways[4] = canary;
    ways[5] = "/tenant_secret.txt";
    ways[6] = via_link;
    nways = 7;
    for (int i = 0; i < nways; i++) {
        errno = 0;
        int fd = open(ways[i], O_RDONLY);
        printf("%s %d %d\n", names[i], fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
        if (fd >= 0) {
            if (leaked(fd))
                printf("ESCAPED through %s\n", names[i]);
            close(fd);
        }
        struct stat st;
        errno = 0;
        int r = stat(ways[i], &st);
        printf("%s_stat %d %d %lld\n", names[i], r, r < 0 ? errno : 0,
               r < 0 ? -1LL : (long long)st.st_size);
    }
    for (int i = 0; i < nways; i++) {
        errno = 0;
        int fd = open(ways[i], O_WRONLY | O_APPEND);
        printf("%s_write %d %d\n", names[i], fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
        if (fd >= 0) {
            if (write(fd, "x", 1) != 1)
                perror("write");
            close(fd);
        }
        if (i == 0)
            continue;             /* the file the race below reads */
        errno = 0;
        fd = open(ways[i], O_RDWR | O_TRUNC);
        printf("%s_trunc %d %d\n", names[i], fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
        if (fd >= 0)
            close(fd);
        errno = 0;
        fd = open(ways[i], O_WRONLY | O_CREAT | O_TRUNC, 0666);
        printf("%s_create %d %d\n", names[i], fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
        if (fd >= 0)
            close(fd);
    }
    errno = 0;
    int made = open("dir_link/made_outside.txt", O_WRONLY | O_CREAT | O_EXCL, 0666);
    printf("made_outside_create %d %d\n", made < 0 ? -1 : 0, made < 0 ? errno : 0);
    strcpy(shared_path, ways[0]);
    pthread_t f, s, o[2];
    pthread_create(&f, NULL, flipper, NULL);
    pthread_create(&s, NULL, shuffler, NULL);
    for (int i = 0; i < 2; i++)
        pthread_create(&o[i], NULL, opener, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(o[i], NULL);
    stop = 1;
    pthread_join(f, NULL);
    pthread_join(s, NULL);
    printf("raced escaped=%ld opened=%s\n", escaped, opened > 0 ? "some" : "none");
    return 0;
}

static int hold(int n)
{
    for (int i = 0; i < n; i++) {
        if (open("inside.txt", O_RDONLY) < 0) {
            perror("open");
            return 1;
        }
    }
    close(open("ready", O_WRONLY | O_CREAT, 0600));
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "reach"))
        return reach(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "hold"))
        return hold(atoi(argv[2]));
    fprintf(stderr, "usage: %s reach CANARY | hold N\n", argv[0]);
    return 2;
}
