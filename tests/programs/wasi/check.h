/* Shared by the WASI test programs: CHECK prints FAIL with the line and errno. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CHECK(x)                                                                      \
    do {                                                                              \
        if (!(x)) {                                                                   \
            printf("FAIL line %d: %s (errno %d %s)\n", __LINE__, #x, errno,           \
                   strerror(errno));                                                  \
            fflush(stdout);                                                           \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

/* Print the outcome of a call that returns -1 and sets errno on failure. */
#define SHOW(label, expr)                                                             \
    do {                                                                              \
        errno = 0;                                                                    \
        long r_ = (long)(expr);                                                       \
        printf("%s: %ld %s\n", label, r_, r_ < 0 ? strerror(errno) : "ok");           \
    } while (0)
