/* Files: create, read, write, seek, positioned and vectored I/O, stat, truncate, rename. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "check.h"

static int slurp(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return (int)n;
}

/* Vectored I/O until done: a runtime may move fewer bytes than asked (wasmtime does
 * only the first non-empty buffer per call). `off` < 0: use the file position. */
static ssize_t all(int fd, struct iovec *iov, int cnt, int writing, off_t off) {
    ssize_t total = 0;
    while (cnt > 0) {
        ssize_t n = off < 0 ? (writing ? writev(fd, iov, cnt) : readv(fd, iov, cnt))
                            : (writing ? pwritev(fd, iov, cnt, off + total)
                                       : preadv(fd, iov, cnt, off + total));
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        total += n;
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= n;
        }
    }
    return total;
}

int main(void) {
    char buf[256];
    struct stat st;

    int fd = open("f.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 3);
    CHECK(write(fd, "hello world\n", 12) == 12);
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 12);
    printf("nlink=%ld recent=%d\n", (long)st.st_nlink, st.st_mtime > 1600000000);
    CHECK(close(fd) == 0);
    SHOW("close again", close(fd));

    fd = open("f.txt", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(read(fd, buf, sizeof buf) == 12);
    printf("content=%.12s", buf);
    CHECK(lseek(fd, 6, SEEK_SET) == 6);
    CHECK(read(fd, buf, 5) == 5);
    printf("at 6: %.5s\n", buf);
    printf("end=%ld cur-3=%ld\n", (long)lseek(fd, 0, SEEK_END), (long)lseek(fd, -3, SEEK_CUR));
    SHOW("seek before start", lseek(fd, -100, SEEK_SET));
    SHOW("write to O_RDONLY", write(fd, "x", 1));
    CHECK(pread(fd, buf, 5, 0) == 5);
    printf("pread: %.5s\n", buf);
    SHOW("pread past end", pread(fd, buf, 5, 100));
    close(fd);

    fd = open("f.txt", O_RDWR);
    CHECK(fd >= 0);
    CHECK(pwrite(fd, "WORLD", 5, 6) == 5);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);
    int fl = fcntl(fd, F_GETFL);
    printf("accmode rdwr=%d append=%d\n", (fl & O_ACCMODE) == O_RDWR, !!(fl & O_APPEND));
    CHECK(fcntl(fd, F_SETFL, fl | O_APPEND) == 0);
    fl = fcntl(fd, F_GETFL);
    printf("after F_SETFL append=%d\n", !!(fl & O_APPEND));
    CHECK(write(fd, "tail\n", 5) == 5);
    CHECK(fsync(fd) == 0 && fdatasync(fd) == 0);
    close(fd);
    CHECK(slurp("f.txt", buf, sizeof buf) == 17);
    printf("now: %s", buf);

    fd = open("f.txt", O_WRONLY);
    SHOW("read from O_WRONLY", read(fd, buf, 1));
    fl = fcntl(fd, F_GETFL);
    printf("accmode wronly=%d\n", (fl & O_ACCMODE) == O_WRONLY);
    CHECK(ftruncate(fd, 5) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 5);
    CHECK(ftruncate(fd, 10) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 10);
    close(fd);
    CHECK(truncate("f.txt", 5) == 0);
    CHECK(slurp("f.txt", buf, sizeof buf) == 5);
    printf("truncated: %s\n", buf);

    fd = open("f.txt", O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "+app", 4) == 4);
    close(fd);
    CHECK(slurp("f.txt", buf, sizeof buf) == 9);
    printf("appended: %s\n", buf);

    SHOW("O_EXCL on existing", open("f.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
    SHOW("open missing", open("missing.txt", O_RDONLY));
    SHOW("open missing dir component", open("no/such/file", O_RDONLY));
    SHOW("stat missing", stat("missing.txt", &st));
    SHOW("access existing", access("f.txt", F_OK));
    SHOW("access missing", access("missing.txt", F_OK));
    CHECK(mkdir("adir", 0755) == 0);
    SHOW("open dir for writing", open("adir", O_WRONLY));
    SHOW("open file as directory", open("f.txt", O_RDONLY | O_DIRECTORY));
    SHOW("open file below a file", open("f.txt/x", O_RDONLY));
    fd = open("adir", O_RDONLY);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode));
    close(fd);
    CHECK(stat("/", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("/f.txt", &st) == 0 && st.st_size == 9);

    /* vectored I/O */
    fd = open("v.txt", O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);
    struct iovec out[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    CHECK(all(fd, out, 3, 1, -1) == 8);
    char a[2], b[4], c[8];
    struct iovec in[3] = {{a, 2}, {b, 4}, {c, 8}};
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(all(fd, in, 3, 0, -1) == 8);
    printf("readv: %.2s|%.4s|%.2s\n", a, b, c);
    struct iovec pin[2] = {{a, 2}, {b, 4}};
    CHECK(all(fd, pin, 2, 0, 1) == 6);
    printf("preadv: %.2s|%.4s\n", a, b);
    struct iovec pout[2] = {{"XY", 2}, {"Z", 1}};
    CHECK(all(fd, pout, 2, 1, 6) == 3);
    memset(c, 0, sizeof c);
    CHECK(pread(fd, c, 8, 1) == 8);
    printf("after pwritev: %.8s\n", c);
    close(fd);

    /* a larger file, written and read back in chunks */
    fd = open("big.bin", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    static unsigned char chunk[7000];
    unsigned long sum = 0;
    for (int i = 0; i < 40; i++) {
        for (int j = 0; j < (int)sizeof chunk; j++) {
            chunk[j] = (unsigned char)(i * 31 + j * 7);
            sum += chunk[j];
        }
        CHECK(write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk);
    }
    close(fd);
    CHECK(stat("big.bin", &st) == 0 && st.st_size == 40 * 7000);
    fd = open("big.bin", O_RDONLY);
    unsigned long back = 0;
    ssize_t n;
    while ((n = read(fd, chunk, 4096)) > 0)
        for (ssize_t j = 0; j < n; j++)
            back += chunk[j];
    CHECK(n == 0 && back == sum);
    close(fd);
    printf("big sum ok=%d\n", back == sum);

    /* stdio streams */
    FILE *f = fopen("s.txt", "w+");
    CHECK(f != NULL);
    for (int i = 0; i < 5; i++)
        fprintf(f, "line %d\n", i);
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    int lines = 0;
    while (fgets(buf, sizeof buf, f))
        lines++;
    printf("stdio lines=%d tell=%ld\n", lines, ftell(f));
    fclose(f);
    printf("fopen missing: %s\n", fopen("nope/x", "r") ? "opened" : strerror(errno));

    CHECK(rename("f.txt", "g.txt") == 0);
    SHOW("stat renamed-away", stat("f.txt", &st));
    CHECK(stat("g.txt", &st) == 0 && st.st_size == 9);
    CHECK(rename("v.txt", "g.txt") == 0);   /* replaces */
    CHECK(stat("g.txt", &st) == 0 && st.st_size == 9);
    SHOW("unlink", unlink("g.txt"));
    SHOW("unlink again", unlink("g.txt"));
    SHOW("rename missing", rename("missing", "other"));
    SHOW("isatty(stdout)", isatty(1));
    printf("done\n");
    return 0;
}
