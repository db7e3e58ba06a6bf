/* Symbolic and hard links. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"

int main(void) {
    struct stat st;
    char buf[64];

    int fd = open("target.txt", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && write(fd, "target\n", 7) == 7 && close(fd) == 0);
    CHECK(symlink("target.txt", "ln") == 0);
    SHOW("symlink over existing", symlink("target.txt", "ln"));
    memset(buf, 0, sizeof buf);
    SHOW("readlink", readlink("ln", buf, sizeof buf));
    printf("link text=%s\n", buf);
    memset(buf, 0, sizeof buf);
    SHOW("readlink short buffer", readlink("ln", buf, 4));
    printf("truncated=%s\n", buf);
    SHOW("readlink on a file", readlink("target.txt", buf, sizeof buf));
    SHOW("readlink missing", readlink("missing", buf, sizeof buf));
    CHECK(lstat("ln", &st) == 0);
    printf("lstat: link=%d size=%ld\n", S_ISLNK(st.st_mode), (long)st.st_size);
    CHECK(stat("ln", &st) == 0);
    printf("stat: reg=%d size=%ld\n", S_ISREG(st.st_mode), (long)st.st_size);
    fd = open("ln", O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 7);
    close(fd);
    SHOW("open O_NOFOLLOW on a link", open("ln", O_RDONLY | O_NOFOLLOW));

    CHECK(symlink("nowhere", "dangling") == 0);
    SHOW("stat dangling", stat("dangling", &st));
    SHOW("lstat dangling", lstat("dangling", &st));
    CHECK(symlink("loop2", "loop1") == 0 && symlink("loop1", "loop2") == 0);
    SHOW("open a loop", open("loop1", O_RDONLY));

    CHECK(mkdir("d", 0755) == 0);
    CHECK(symlink("../target.txt", "d/up") == 0);
    CHECK(stat("d/up", &st) == 0 && st.st_size == 7);
    CHECK(symlink("d", "dirlink") == 0);
    CHECK(stat("dirlink/up", &st) == 0 && st.st_size == 7);

    CHECK(link("target.txt", "hard") == 0);
    CHECK(stat("target.txt", &st) == 0);
    printf("nlink after link=%ld\n", (long)st.st_nlink);
    SHOW("link over existing", link("target.txt", "hard"));
    SHOW("link missing", link("missing", "hard2"));
    CHECK(unlink("target.txt") == 0);
    CHECK(stat("hard", &st) == 0);
    printf("nlink after unlink=%ld size=%ld\n", (long)st.st_nlink, (long)st.st_size);
    SHOW("stat link to removed", stat("ln", &st));
    CHECK(unlink("ln") == 0 && unlink("dangling") == 0);
    SHOW("lstat removed link", lstat("ln", &st));
    printf("done\n");
    return 0;
}
