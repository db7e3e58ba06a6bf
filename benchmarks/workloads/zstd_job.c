/* A compression job on zstd's library (the single-file zstd.c the `zstandard` sdist
 * ships): MIB MiB of generated text compressed at LEVEL, decompressed and checked.
 * Prints the sizes and a checksum of the compressed bytes, the same natively and in a
 * cage.   zstd_job LEVEL MIB */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zstd.h"

static uint64_t state = 0x9E3779B97F4A7C15ull;

static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)state;
}

/* Words from a small vocabulary, skewed towards the first ones, with numbers between:
 * compresses about as well as English text. */
static void generate(char *out, size_t size)
{
    static const char *words[] = {
        "the", "of", "and", "a", "to", "in", "is", "you", "that", "it", "he", "was",
        "for", "on", "are", "as", "with", "his", "they", "at", "be", "this", "have",
        "from", "or", "one", "had", "by", "word", "but", "not", "what", "all", "were",
        "we", "when", "your", "can", "said", "there", "use", "an", "each", "which",
        "sandbox", "cage", "grate", "system", "call", "kernel", "memory", "process",
    };
    size_t n = sizeof words / sizeof *words, at = 0;
    while (at < size) {
        char piece[32];
        uint32_t r = next();
        int len = (r & 15) == 0 ? snprintf(piece, sizeof piece, "%u ", r >> 12)
                                : snprintf(piece, sizeof piece, "%s%s", words[(r >> 4) % n % ((r >> 20 & 1) ? n : 12)],
                                           (r >> 24) % 11 == 0 ? ".\n" : " ");
        for (int i = 0; i < len && at < size; i++)
            out[at++] = piece[i];
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s LEVEL MIB\n", argv[0]);
        return 2;
    }
    int level = atoi(argv[1]);
    size_t size = (size_t)atoi(argv[2]) << 20;
    char *text = malloc(size), *back = malloc(size);
    size_t bound = ZSTD_compressBound(size);
    char *packed = malloc(bound);
    if (!text || !back || !packed) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    generate(text, size);
    size_t packed_size = ZSTD_compress(packed, bound, text, size, level);
    if (ZSTD_isError(packed_size)) {
        fprintf(stderr, "compress: %s\n", ZSTD_getErrorName(packed_size));
        return 1;
    }
    size_t back_size = ZSTD_decompress(back, size, packed, packed_size);
    if (ZSTD_isError(back_size) || back_size != size || memcmp(back, text, size) != 0) {
        fprintf(stderr, "decompress: not what was compressed\n");
        return 1;
    }
    uint64_t sum = 14695981039346656037ull;     /* FNV-1a of the compressed bytes */
    for (size_t i = 0; i < packed_size; i++)
        sum = (sum ^ (unsigned char)packed[i]) * 1099511628211ull;
    printf("%zu bytes -> %zu at level %d, checksum %016llx, round trip ok\n", size,
           packed_size, level, (unsigned long long)sum);
    return 0;
}
