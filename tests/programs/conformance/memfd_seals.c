/* memfd_create and its seals: a file named nowhere (0777, no links), F_ADD_SEALS only
 * adds (F_SEAL_GROW stops writes past the end and growing truncates, F_SEAL_SHRINK
 * shrinking ones, F_SEAL_WRITE every write, F_SEAL_SEAL more seals), F_GET_SEALS of a
 * plain file and bad flags EINVAL. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
static void say(const char *w, long r) { printf("%s: %ld %d\n", w, r < 0 ? -1L : r, r < 0 ? errno : 0); }
int main(void) {
    int m = memfd_create("sealed", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    say("write", write(m, "hello", 5));
    struct stat st; fstat(m, &st);
    printf("mode %o size %ld links %ld\n", st.st_mode, (long)st.st_size, (long)st.st_nlink);
    say("cloexec", fcntl(m, F_GETFD));
    say("seal grow", fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
    say("write in place", pwrite(m, "J", 1, 0));
    say("write past end", pwrite(m, "!", 1, 5));
    say("truncate up", ftruncate(m, 10));
    say("truncate down", ftruncate(m, 2));
    say("seal shrink|write", fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_WRITE));
    say("write sealed", pwrite(m, "x", 1, 0));
    say("seals", fcntl(m, F_GET_SEALS));
    say("seal seal", fcntl(m, F_ADD_SEALS, F_SEAL_SEAL));
    say("more seals", fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
    say("bad seal", fcntl(m, F_ADD_SEALS, 0x100));
    char buf[8] = {0};
    say("read", pread(m, buf, 7, 0));
    printf("data %s\n", buf);
    int f = open("plainfile", O_CREAT | O_RDWR, 0600);
    say("seals of a plain file", fcntl(f, F_GET_SEALS));
    unlink("plainfile");
    say("bad flags", memfd_create("x", 0x100));
    return 0;
}
