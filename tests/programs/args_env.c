/* argv, environment and exit status reach the program as on Linux. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    printf("MISSING=%s\n", getenv("MISSING") ? "set" : "(unset)");
    return argc > 1 ? atoi(argv[1]) : 0;
}
