/* Every way to change the time zone database a cage is given read-only at
 * /usr/share/zoneinfo (the host's): as root in the cage, each must be EROFS; reading it
 * works.  Prints "WHAT RESULT ERRNO" lines, and "read TZif" when the read worked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define DIR "/usr/share/zoneinfo"

static void report(const char *what, long r)
{
    printf("%s %ld %d\n", what, r < 0 ? -1L : r, r < 0 ? errno : 0);
    errno = 0;
}

int main(void)
{
    int fd = open(DIR "/UTC", O_RDONLY);
    char head[5] = {0};
    if (fd >= 0 && read(fd, head, 4) == 4)
        printf("read %s\n", head);
    close(fd);
    report("open_write", open(DIR "/UTC", O_WRONLY));
    report("open_trunc", open(DIR "/UTC", O_RDWR | O_TRUNC));
    report("create", open(DIR "/planted", O_WRONLY | O_CREAT, 0644));
    report("truncate", truncate(DIR "/UTC", 0));
    report("chmod", chmod(DIR "/UTC", 0777));
    report("chown", chown(DIR "/UTC", 1000, 1000));
    report("unlink", unlink(DIR "/UTC"));
    report("rename", rename(DIR "/UTC", DIR "/moved"));
    report("mkdir", mkdir(DIR "/made", 0755));
    report("symlink", symlink("/etc/passwd", DIR "/link"));
    report("link", link(DIR "/UTC", DIR "/hard"));
    report("utimes", utimes(DIR "/UTC", NULL));
    report("rmdir", rmdir(DIR));
    return 0;
}
