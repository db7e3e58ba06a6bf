/* The README's first program: prints who it is and what it was given. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    printf("hello from cage %d (euid %d), %d argument(s)\n", (int)getpid(), (int)geteuid(), argc - 1);
    for (int i = 1; i < argc; i++)
        printf("  %s\n", argv[i]);
    return 0;
}
