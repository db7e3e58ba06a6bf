/* Directories: mkdir, readdir across several fd_readdir calls, seekdir, rmdir, chdir. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

/* Names in `path`, sorted, with the type of each; returns the count or -1. */
static int list(const char *path, int verbose) {
    DIR *d = opendir(path);
    if (!d)
        return -1;
    char *names[512];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512) {
        char *s = malloc(strlen(e->d_name) + 3);
        const char *t = e->d_type == DT_DIR ? "/" : e->d_type == DT_REG ? "" :
                        e->d_type == DT_LNK ? "@" : "?";
        strcpy(s, e->d_name);
        strcat(s, t);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    if (verbose) {
        printf("%s:", path);
        for (int i = 0; i < n; i++)
            printf(" %s", names[i]);
        printf("\n");
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    return n;
}

int main(void) {
    struct stat st;
    char name[300], cwd[256];

    CHECK(mkdir("top", 0755) == 0);
    SHOW("mkdir existing", mkdir("top", 0755));
    SHOW("mkdir below missing", mkdir("nope/sub", 0755));
    CHECK(mkdir("top/sub", 0755) == 0);
    int fd = open("top/file", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(symlink("file", "top/link") == 0);
    printf("top has %d entries\n", list("top", 1));

    /* Enough long names that readdir needs several fd_readdir calls (4 KiB buffer). */
    CHECK(mkdir("many", 0755) == 0);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "many/entry-with-a-long-name-number-%04d.txt", i);
        fd = open(name, O_CREAT | O_WRONLY, 0644);
        CHECK(fd >= 0);
        close(fd);
    }
    printf("many has %d entries\n", list("many", 0));

    /* telldir/seekdir: read on, go back, read the same names again. */
    DIR *d = opendir("many");
    CHECK(d != NULL);
    for (int i = 0; i < 150; i++)
        CHECK(readdir(d) != NULL);
    long pos = telldir(d);
    char first[5][300];
    for (int i = 0; i < 5; i++) {
        struct dirent *e = readdir(d);
        CHECK(e != NULL);
        strcpy(first[i], e->d_name);
    }
    for (int i = 0; i < 100; i++)
        CHECK(readdir(d) != NULL);
    seekdir(d, pos);
    int same = 1;
    for (int i = 0; i < 5; i++) {
        struct dirent *e = readdir(d);
        CHECK(e != NULL);
        same &= strcmp(first[i], e->d_name) == 0;
    }
    printf("seekdir resumes at the same entry: %d\n", same);
    rewinddir(d);
    int again = 0;
    while (readdir(d))
        again++;
    printf("after rewinddir: %d entries\n", again);
    closedir(d);

    SHOW("rmdir non-empty", rmdir("many"));
    SHOW("rmdir a file", rmdir("top/file"));
    SHOW("rmdir missing", rmdir("missing"));
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "many/entry-with-a-long-name-number-%04d.txt", i);
        CHECK(unlink(name) == 0);
    }
    printf("many now has %d entries\n", list("many", 1));
    CHECK(rmdir("many") == 0);
    SHOW("stat removed dir", stat("many", &st));
    printf("opendir on a file: %s\n", opendir("top/file") ? "opened" : strerror(errno));
    printf("opendir missing: %s\n", opendir("missing") ? "opened" : strerror(errno));

    CHECK(rename("top/sub", "top/moved") == 0);
    CHECK(stat("top/moved", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(mkdir("top/moved/deeper", 0700) == 0);

    /* wasi-libc keeps the working directory itself; paths stay relative to fd 3 */
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    printf("cwd=%s\n", cwd);
    CHECK(chdir("top/moved") == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    printf("cwd=%s\n", cwd);
    CHECK(stat("deeper", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("../file", &st) == 0 && S_ISREG(st.st_mode));
    fd = open("here.txt", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(chdir("/") == 0);
    CHECK(stat("top/moved/here.txt", &st) == 0);
    SHOW("chdir to a file", chdir("top/file"));
    printf("root:"); fflush(stdout);
    printf(" %d entries\n", list("/", 1));
    printf("done\n");
    return 0;
}
