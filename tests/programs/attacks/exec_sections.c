/* Writes /sections.wasm: a valid program (it exits 7) followed by argv[1] empty custom
 * sections (3 bytes each; default 2,000,000) and a section naming it anew, so no cache
 * holds it, and execs it. Wasmtime checks such a file in a fraction of a second, but
 * the host then walked every section in Python about ten times (seconds per few MB,
 * minutes for a large file), out of reach of the cage's kill and of a run's timeout.
 * Prints "exec RESULT ERRNO" when the exec fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* (module (import "lind" "syscall" (func (param i32 i64 i64 i64 i64 i64 i64) (result i64)))
 *  (memory (export "memory") 1)
 *  (func (export "_start") (drop (call 0 (i32.const 231) (i64.const 7) (i64.const 0) ...)))) */
static const unsigned char program[] = {
	0, 'a', 's', 'm', 1, 0, 0, 0,
	1, 15, 2, 0x60, 7, 0x7f, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 1, 0x7e, 0x60, 0, 0,
	2, 16, 1, 4, 'l', 'i', 'n', 'd', 7, 's', 'y', 's', 'c', 'a', 'l', 'l', 0, 0,
	3, 2, 1, 1,
	5, 3, 1, 0, 1,
	7, 19, 2, 6, 'm', 'e', 'm', 'o', 'r', 'y', 2, 0, 6, '_', 's', 't', 'a', 'r', 't', 0, 1,
	10, 22, 1, 20, 0, 0x41, 0xe7, 1, 0x42, 7, 0x42, 0, 0x42, 0, 0x42, 0, 0x42, 0, 0x42, 0,
	0x10, 0, 0x1a, 0x0b,
};

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 2000000;
	size_t size = sizeof program + 3 * count + 11;
	unsigned char *module = malloc(size), *at = module + sizeof program;
	if (!module) {
		printf("no memory\n");
		return 1;
	}
	memcpy(module, program, sizeof program);
	for (long i = 0; i < count; i++, at += 3)
		memcpy(at, "\0\1\0", 3);
	char salt[16];
	snprintf(salt, sizeof salt, "%08ld", (long)(time(NULL) ^ getpid()) % 100000000);
	memcpy(at, "\0\x09\x08", 3);
	memcpy(at + 3, salt, 8);
	int fd = open("/sections.wasm", O_CREAT | O_WRONLY | O_TRUNC, 0755);
	if (fd < 0 || write(fd, module, size) != (ssize_t)size || close(fd) != 0) {
		printf("write failed: errno %d\n", errno);
		return 1;
	}
	char *args[] = {"/sections.wasm", NULL};
	int r = execv("/sections.wasm", args);
	printf("exec %d %d\n", r, errno);
	return 0;
}
