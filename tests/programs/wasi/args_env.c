/* Arguments, environment and the exit status. */
#include <stdlib.h>
#include "check.h"

extern char **environ;

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=[%s]\n", i, argv[i]);
    int n = 0;
    while (environ[n])
        n++;
    char **sorted = malloc(sizeof(char *) * (n + 1));
    for (int i = 0; i < n; i++)
        sorted[i] = environ[i];
    qsort(sorted, n, sizeof(char *), cmp);
    printf("environ has %d entries\n", n);
    for (int i = 0; i < n; i++)
        printf("env %s\n", sorted[i]);
    const char *g = getenv("GREETING");
    printf("GREETING=%s\n", g ? g : "(unset)");
    printf("MISSING=%s\n", getenv("MISSING") ? "set" : "(unset)");
    CHECK(setenv("NEW", "value", 1) == 0);
    printf("NEW=%s\n", getenv("NEW"));
    fflush(stdout);
    if (argc > 2 && strcmp(argv[1], "exit") == 0)
        exit(atoi(argv[2]));
    if (argc > 2 && strcmp(argv[1], "_exit") == 0)
        _Exit(atoi(argv[2]));
    if (argc > 2 && strcmp(argv[1], "return") == 0)
        return atoi(argv[2]);
    if (argc > 1 && strcmp(argv[1], "abort") == 0)
        abort();
    return 0;
}
