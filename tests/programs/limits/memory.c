/* Memory limits: "malloc" and "mmap" allocate 1 MiB (touched) until refused;
 * "fork N" allocates N MiB then forks; "rawfork N" grows the memory N MiB with
 * memory.grow itself then forks; "exec PATH" execs PATH. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every block is chained from here, so the compiler cannot drop the allocations. */
static void *volatile chain;

static void *keep(void *p)
{
    if (p) {
        memset(p, 1, 1 << 20);
        *(void **)p = chain;
        chain = p;
    }
    return p;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "malloc";
    int mib = 0;
    if (strcmp(mode, "malloc") == 0) {
        char *p;
        while ((p = keep(malloc(1 << 20))) != NULL)
            mib++;
        printf("malloc %d MiB then %s\n", mib, errno == ENOMEM ? "ENOMEM" : "other");
    } else if (strcmp(mode, "mmap") == 0) {
        void *p;
        while ((p = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) != MAP_FAILED) {
            keep(p);
            mib++;
        }
        printf("mmap %d MiB then %s\n", mib, errno == ENOMEM ? "ENOMEM" : "other");
    } else if (strcmp(mode, "fork") == 0) {
        int want = atoi(argv[2]);
        for (; mib < want; mib++)
            if (!keep(malloc(1 << 20)))
                return 3;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(7);
        if (pid < 0) {
            printf("fork %s\n", errno == ENOMEM ? "ENOMEM" : "other");
        } else {
            int st;
            waitpid(pid, &st, 0);
            printf("fork ok %d\n", WEXITSTATUS(st));
        }
        /* After the failed fork, memory is still usable and a small child still fits. */
    } else if (strcmp(mode, "rawfork") == 0) {
        /* Grow the memory with the wasm instruction, not brk/mmap, then fork at once. */
        if (__builtin_wasm_memory_grow(0, atoi(argv[2]) * 16) < 0)
            return 3;
        pid_t pid = fork();
        if (pid == 0)
            _exit(7);
        printf("rawfork %s\n", pid < 0 && errno == ENOMEM ? "ENOMEM" : "ok");
    } else if (strcmp(mode, "exec") == 0) {
        execl(argv[2], argv[2], (char *)0);
        printf("exec %s\n", errno == ENOMEM ? "ENOMEM" : strerror(errno));
    }
    return 0;
}
