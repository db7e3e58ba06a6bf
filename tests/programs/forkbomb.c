/* Forks until fork fails; reports the errno, then reaps everything. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int gate[2];
    pipe(gate);
    int made = 0, err = 0;
    for (;;) {
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            char c;
            close(gate[1]);
            read(gate[0], &c, 1);  /* wait for EOF: parent closes the write end */
            _exit(0);
        }
        made++;
        if (made > 100000)
            break;
    }
    close(gate[1]);
    int reaped = 0;
    while (wait(NULL) > 0)
        reaped++;
    printf("made=%d reaped=%d error=%s\n", made, reaped, strerror(err));
    return 0;
}
