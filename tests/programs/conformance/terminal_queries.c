/* What isatty, tcgetattr and TIOCGWINSZ say of files that are no terminal (the
 * trampoline answers them for the files it serves; stdio asks at its first write):
 * ENOTTY for a file, a directory, both ends of a pipe, a socket, /dev/null and the
 * program's own stdout (a pipe or a file here); EBADF for fds that are not open. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

static const char *name(int err)
{
    return err == ENOTTY ? "ENOTTY" : err == EBADF ? "EBADF" : err ? strerror(err) : "-";
}

static void ask(const char *what, int fd)
{
    struct termios t;
    struct winsize w;
    errno = 0;
    int tty = isatty(fd);
    int tty_errno = errno;
    errno = 0;
    int get = tcgetattr(fd, &t);
    int get_errno = errno;
    errno = 0;
    int size = ioctl(fd, TIOCGWINSZ, &w);
    printf("%s: isatty %d %s, tcgetattr %d %s, TIOCGWINSZ %d %s\n", what, tty,
           name(tty_errno), get, name(get_errno), size, name(errno));
}

int main(void)
{
    int file = open("plain.txt", O_CREAT | O_RDWR | O_TRUNC, 0600);
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    int ends[2], pair[2];
    if (file < 0 || dir < 0 || pipe(ends) || socketpair(AF_UNIX, SOCK_STREAM, 0, pair)) {
        perror("setup");
        return 1;
    }
    int devnull = open("/dev/null", O_RDWR);
    ask("file", file);
    ask("directory", dir);
    ask("pipe read end", ends[0]);
    ask("pipe write end", ends[1]);
    ask("socket", pair[0]);
    ask("/dev/null", devnull);
    ask("stdout", 1);
    int dup = fcntl(ends[1], F_DUPFD, 600);
    ask("a pipe's dup at 600", dup);
    close(dup);
    ask("closed fd", dup);
    ask("fd 5000", 5000);
    ask("fd -1", -1);
    return 0;
}
