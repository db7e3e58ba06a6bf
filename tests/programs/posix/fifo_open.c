/* Opens the FIFO "f" for reading ("r") or writing ("w") and waits there for ever:
 * nobody opens the other end. */
#include <fcntl.h>
#include <stdio.h>

int main(int argc, char **argv) {
    int fd = open("f", argc > 1 && argv[1][0] == 'w' ? O_WRONLY : O_RDONLY);
    printf("opened %d\n", fd);
    return 0;
}
