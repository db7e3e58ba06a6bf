/* Exec a chain of distinct programs: each step copies its own module with a custom
 * section naming the step appended (new bytes, so a new cache entry), and execs it.
 * Usage: exec_chain SELF_PATH STEPS [STEP] */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int steps = atoi(argv[2]), step = argc > 3 ? atoi(argv[3]) : 0;
    if (step == steps) {
        printf("done %d\n", step);
        return 0;
    }
    int in = open(argv[1], O_RDONLY);
    if (in < 0)
        return 3;
    static char module[4 << 20];
    ssize_t n = read(in, module, sizeof module - 64);
    close(in);
    if (n <= 8)
        return 4;
    /* custom section: id 0, size, name "step", payload: the step number */
    char payload[16];
    int plen = snprintf(payload, sizeof payload, "%d", step);
    char *at = module + n;
    *at++ = 0;
    *at++ = (char)(1 + 4 + plen);
    *at++ = 4;
    memcpy(at, "step", 4);
    at += 4;
    memcpy(at, payload, plen);
    at += plen;
    char path[32], next[16];
    snprintf(path, sizeof path, "/m%d.wasm", step);
    snprintf(next, sizeof next, "%d", step + 1);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (out < 0 || write(out, module, at - module) != at - module)
        return 5;
    close(out);
    execl(path, path, "/exec_chain.wasm", argv[2], next, (char *)0);
    printf("exec %s\n", strerror(errno));
    return 1;
}
