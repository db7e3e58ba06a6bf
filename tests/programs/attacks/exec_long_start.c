/* Writes /long_start.wasm and execs it: a valid program (it exits 7) with a passive data
 * segment and a start function of argv[1] (default 2,500,000) `i32.const -63; drop`,
 * 7.5 MB of the 7.6 MB Wasmtime allows one function. Cranelift compiles it in well
 * under a second; the host then looked at every byte of that start function in Python
 * for where it puts the segment (~4 s, which no stop interrupts). The module's name
 * section differs from run to run, so no cache holds it. Prints "exec RESULT ERRNO"
 * when the exec fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "big_module.h"     /* put_leb */

static unsigned char *put(unsigned char *at, const void *bytes, size_t size)
{
	memcpy(at, bytes, size);
	return at + size;
}

static const unsigned char head[] = {
	0, 'a', 's', 'm', 1, 0, 0, 0,
	1, 15, 2, 0x60, 7, 0x7f, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 1, 0x7e, 0x60, 0, 0,
	2, 16, 1, 4, 'l', 'i', 'n', 'd', 7, 's', 'y', 's', 'c', 'a', 'l', 'l', 0, 0,
	3, 3, 2, 1, 1,
	5, 3, 1, 0, 1,
	7, 19, 2, 6, 'm', 'e', 'm', 'o', 'r', 'y', 2, 0, 6, '_', 's', 't', 'a', 'r', 't', 0, 2,
	8, 1, 1,
};
/* _start: exit(7) */
static const unsigned char exit_body[] = {
	20, 0, 0x41, 0xe7, 1, 0x42, 7, 0x42, 0, 0x42, 0, 0x42, 0, 0x42, 0, 0x42, 0,
	0x10, 0, 0x1a, 0x0b,
};
static const unsigned char data[] = {11, 4, 1, 1, 1, 'x'};

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 2500000;
	unsigned long start_size = 1 + 3 * count + 1;
	unsigned char sizes[16], *end = put_leb(sizes, start_size);
	unsigned long code_size = 1 + (end - sizes) + start_size + sizeof exit_body;
	unsigned char *module = malloc(sizeof head + 16 + code_size + sizeof data + 32), *at;
	if (!module) {
		printf("no memory\n");
		return 1;
	}
	at = put(module, head, sizeof head);
	*at++ = 10;
	at = put_leb(at, code_size);
	*at++ = 2;
	at = put_leb(at, start_size);
	*at++ = 0;
	for (long i = 0; i < count; i++)
		at = put(at, "\x41\x41\x1a", 3);
	*at++ = 0x0b;
	at = put(at, exit_body, sizeof exit_body);
	at = put(at, data, sizeof data);
	char salt[16];
	snprintf(salt, sizeof salt, "%08ld", (long)(time(NULL) ^ getpid()) % 100000000);
	at = put(at, "\0\x09\x08", 3);
	at = put(at, salt, 8);
	int fd = open("/long_start.wasm", O_CREAT | O_WRONLY | O_TRUNC, 0755);
	if (fd < 0 || write(fd, module, at - module) != at - module || close(fd) != 0) {
		printf("write failed: errno %d\n", errno);
		return 1;
	}
	char *args[] = {"/long_start.wasm", NULL};
	int r = execv("/long_start.wasm", args);
	printf("exec %d %d\n", r, errno);
	return 0;
}
