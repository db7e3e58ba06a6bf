/* Shared by the attacks on kept instances (fork_leftovers, fresh_leftovers): a mark
 * made at run time from a salt (so it is nowhere in a program's data), and a scan of
 * the whole linear memory for it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define MARK 64

static unsigned salt;

static uint8_t mark_byte(unsigned i)
{
	return (uint8_t)((i * 73u + 19u) ^ salt);
}

static void fill(volatile uint8_t *at, size_t len)
{
	for (size_t i = 0; i < len; i++)
		at[i] = mark_byte((unsigned)(i % MARK));
}

/* Marks 512 KiB of heap and a 128 KiB anonymous mapping, and gives both back. */
static void mark_heap_and_mapping(void)
{
	uint8_t *heap = malloc(1 << 19);
	fill(heap, 1 << 19);
	free(heap);
	uint8_t *mapped = mmap(NULL, 1 << 17, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mapped != MAP_FAILED) {
		fill(mapped, 1 << 17);
		munmap(mapped, 1 << 17);
	}
}

/* How many places of this cage's whole linear memory start a mark (at most 100). */
static int scan(void)
{
	int found = 0;
#ifdef __wasm__
	size_t size = __builtin_wasm_memory_size(0) * 65536;
	for (size_t at = 4096; at + MARK <= size; at++) {
		const volatile uint8_t *p = (const uint8_t *)at;
		unsigned i = 0;
		while (i < MARK && p[i] == mark_byte(i))
			i++;
		found += i == MARK;
	}
#endif
	return found > 100 ? 100 : found;
}
