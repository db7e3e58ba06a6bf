/* access and faccessat as Linux answers them to a user other than root: the trampoline
 * answers a path it resolves itself (the kernel's check of the file it found, with the
 * cage's ids; W_OK where the mount takes writes), the microvisor the rest (a dirfd,
 * /dev, a name ending in '/'); both must agree on every mode bit, link and error. Natively the
 * program is root at first and becomes uid 1000 in a directory of its own, as
 * permission_checks.c does (a cage is uid 1000 already). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "as_user_1000.h"

static void check(const char *path)
{
    static const int modes[] = {F_OK, R_OK, W_OK, X_OK, R_OK | X_OK, R_OK | W_OK};
    printf("%-16s", path);
    for (int i = 0; i < 6; i++) {
        errno = 0;
        int r = access(path, modes[i]);
        printf(" %d", r < 0 ? errno : 0);
    }
    errno = 0;
    int r = faccessat(AT_FDCWD, path, R_OK, 0);
    printf(" | at %d\n", r < 0 ? errno : 0);
}

int main(void)
{
    become_user_1000();
    static const struct { const char *name; mode_t mode; } files[] = {
        {"none", 0000}, {"r", 0400}, {"rx", 0500}, {"rwx", 0700}, {"rw_r", 0644},
        {"x_other", 0001}, {"group_r", 0040},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        close(open(files[i].name, O_CREAT | O_WRONLY, 0600));
        chmod(files[i].name, files[i].mode);
    }
    mkdir("d", 0755);
    close(open("d/in", O_CREAT | O_WRONLY, 0644));
    mkdir("closed", 0755);
    close(open("closed/in", O_CREAT | O_WRONLY, 0644));
    chmod("closed", 0000);
    mkdir("search_only", 0755);
    close(open("search_only/in", O_CREAT | O_WRONLY, 0644));
    chmod("search_only", 0111);
    symlink("r", "to_r");
    symlink("missing", "dangling");
    symlink("loop_b", "loop_a");
    symlink("loop_a", "loop_b");
    symlink("d/../rx", "through_dir");

    static const char *const paths[] = {
        "none", "r", "rx", "rwx", "rw_r", "x_other", "group_r", "d", "d/in", "./d/../r",
        "closed", "closed/in", "search_only", "search_only/in", "to_r", "dangling",
        "loop_a", "through_dir", "missing", "r/x", "d/", "/dev/null", "",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        check(paths[i]);
    int r;
    for (int mode = 8; mode <= 64; mode *= 2) {
        errno = 0;
        r = access("r", mode);
        printf("mode %d: %d errno %d\n", mode, r, errno);
    }
    errno = 0;
    r = access("missing", 8);
    printf("bad mode, missing file: %d errno %d\n", r, errno);
    int dir = open("d", O_RDONLY | O_DIRECTORY);
    errno = 0;
    r = faccessat(dir, "in", R_OK, 0);
    printf("faccessat dirfd: %d errno %d\n", r, errno);
    close(dir);
    char long_name[300];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    errno = 0;
    r = access(long_name, F_OK);
    printf("long name: %d errno %d\n", r, errno);
    chmod("closed", 0755);
    chmod("search_only", 0755);
    return 0;
}
