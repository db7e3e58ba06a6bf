/* A cage's address space is its 4 GiB linear memory: mappings at its very top, calls
 * whose range ends exactly there or one page past, the last page of the memory as it
 * is now, and a MAP_FIXED over the program's own data (below the heap: refused). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096
#define TOP 0x100000000ULL
#define CHUNK 0x10000

static char data[3 * PAGE] = "the program's own data";

static void say(const char *what, long r)
{
	printf("%s: %ld errno %d\n", what, r < 0 ? -1L : r == 0 ? 0L : 1L, r < 0 ? errno : 0);
}

static long map(uintptr_t at, size_t len, int flags)
{
	void *p = mmap((void *)at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	return p == MAP_FAILED ? -1 : (long)((uintptr_t)p == at);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1) {   /* "brk": a break the memory limit refuses leaves it where it was */
		uintptr_t now = (uintptr_t)sbrk(0);
		long r = syscall(SYS_brk, now + (128 << 20));
		printf("raw brk past the limit returns the old break: %d\n", (uintptr_t)r == now);
		return 0;
	}
	/* a page freed between two mappings is what the next mmap of its size gets */
	char *a = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *c = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(b, PAGE);
	char *again = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("the freed page is reused: %d (%d)\n", again == b, a < b && b < c);
	uintptr_t top = (uintptr_t)(TOP - CHUNK), below = top - CHUNK;
	say("map the 64 KiB below the last", map(below, CHUNK, MAP_FIXED));
	void *grown = mremap((void *)below, CHUNK, 2 * CHUNK, 0);
	say("grow it in place up to the top", grown == MAP_FAILED ? -1 : grown == (void *)below);
	munmap((void *)below, 2 * CHUNK);
	say("map the last 64 KiB", map(top, CHUNK, MAP_FIXED));
	((volatile char *)top)[CHUNK - 1] = 1;
	say("mlock up to the top", mlock((void *)top, CHUNK));
	say("map 128 KiB there", map(top, 2 * CHUNK, MAP_FIXED));
	say("map past the top", map(top + CHUNK, PAGE, MAP_FIXED));
	say("munmap ending at the top", munmap((void *)(top + CHUNK - PAGE), PAGE));
	say("munmap one page past it", munmap((void *)(top + CHUNK - PAGE), 2 * PAGE));
	say("mlock ending at the top", mlock((void *)top, CHUNK - PAGE));
	say("mlock one page past it", mlock((void *)top, CHUNK + PAGE));
	say("mremap growing past the top", mremap((void *)top, PAGE, CHUNK + PAGE, 0) == MAP_FAILED ? -1 : 0);
	uintptr_t size = (uintptr_t)__builtin_wasm_memory_size(0) * 65536;
	say("mprotect the memory's last page", mprotect((void *)(size - PAGE), PAGE, PROT_READ));
	say("mprotect one page past it (the top, not mapped)", mprotect((void *)(size - PAGE), 2 * PAGE, PROT_READ));
	say("MAP_FIXED over the program's data",
	    map((uintptr_t)data / PAGE * PAGE + PAGE, PAGE, MAP_FIXED));
	printf("data kept: %s\n", data);
	say("length of 4 GiB", map(0, (size_t)TOP - 1, 0));
	return 0;
}
