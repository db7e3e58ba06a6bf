/* The heap grows around Lind's scratch page: allocate and verify many blocks while
 * making calls that use the scratch page (stat, readdir, path copies). */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"

#define BLOCKS 400

int main(void) {
    static unsigned char *blocks[BLOCKS];
    static size_t sizes[BLOCKS];
    struct stat st;
    CHECK(mkdir("d", 0755) == 0);
    for (int i = 0; i < BLOCKS; i++) {
        sizes[i] = 1000 + (size_t)i * 997 % 150000;
        blocks[i] = malloc(sizes[i]);
        CHECK(blocks[i] != NULL);
        memset(blocks[i], i & 0xFF, sizes[i]);
        if (i % 20 == 0) {
            char name[64];
            snprintf(name, sizeof name, "d/file-%d", i);
            int fd = open(name, O_CREAT | O_WRONLY, 0644);
            CHECK(fd >= 0);
            CHECK(write(fd, blocks[i], 100) == 100);
            close(fd);
            CHECK(stat(name, &st) == 0 && st.st_size == 100);
            DIR *d = opendir("d");
            CHECK(d != NULL);
            while (readdir(d))
                ;
            closedir(d);
        }
    }
    size_t total = 0;
    for (int i = 0; i < BLOCKS; i++) {
        for (size_t j = 0; j < sizes[i]; j++)
            CHECK(blocks[i][j] == (i & 0xFF));
        total += sizes[i];
        if (i % 2)
            free(blocks[i]);
    }
    unsigned char *big = malloc(32 << 20);
    CHECK(big != NULL);
    memset(big, 0x5A, 32 << 20);
    CHECK(big[(32 << 20) - 1] == 0x5A);
    for (int i = 0; i < BLOCKS; i += 2)
        for (size_t j = 0; j < sizes[i]; j += 4096)
            CHECK(blocks[i][j] == (i & 0xFF));
    printf("allocated %zu bytes in %d blocks, all intact\n", total, BLOCKS);
    return 0;
}
