/* Writes argv[1] (default 2) programs into its root, each a module of nearly a million
 * empty functions (4 MB; the function counts differ, so no cache holds one), and execs
 * them from as many children at once: compiling one took 5.3 GiB of the host's memory
 * and 18 s of CPU in the Lind process. Each child prints "execN RESULT ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned char *put_leb(unsigned char *at, unsigned long n)
{
	do {
		unsigned char byte = n & 0x7f;
		n >>= 7;
		*at++ = byte | (n ? 0x80 : 0);
	} while (n);
	return at;
}

/* A section: its id, its size, then a vector count and `count` copies of `item`. */
static unsigned char *put_section(unsigned char *at, int id, unsigned long count,
				  const unsigned char *item, size_t item_size)
{
	unsigned char count_bytes[8];
	size_t count_size = put_leb(count_bytes, count) - count_bytes;
	*at++ = id;
	at = put_leb(at, count_size + count * item_size);
	memcpy(at, count_bytes, count_size);
	at += count_size;
	for (unsigned long i = 0; i < count; i++, at += item_size)
		memcpy(at, item, item_size);
	return at;
}

static size_t bomb(unsigned char *out, unsigned long functions)
{
	static const unsigned char header[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
	static const unsigned char no_params_no_results[] = {0x60, 0, 0};
	static const unsigned char of_type_0[] = {0};
	static const unsigned char empty_body[] = {2, 0, 0x0b};
	unsigned char *at = out;
	memcpy(at, header, sizeof header);
	at += sizeof header;
	at = put_section(at, 1, 1, no_params_no_results, sizeof no_params_no_results);
	at = put_section(at, 3, functions, of_type_0, sizeof of_type_0);
	at = put_section(at, 10, functions, empty_body, sizeof empty_body);
	return at - out;
}

int main(int argc, char **argv)
{
	int programs = argc > 1 ? atoi(argv[1]) : 2;
	unsigned char *module = malloc(5 << 20);
	for (int i = 0; i < programs; i++) {
		char path[32];
		snprintf(path, sizeof path, "/bomb%d.wasm", i);
		size_t size = bomb(module, 1000000 - i);
		int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0755);
		if (fd < 0 || write(fd, module, size) != (ssize_t)size || close(fd) != 0) {
			printf("write %s failed: errno %d\n", path, errno);
			return 1;
		}
	}
	for (int i = 0; i < programs; i++) {
		if (fork() == 0) {
			char path[32];
			snprintf(path, sizeof path, "/bomb%d.wasm", i);
			char *args[] = {path, NULL};
			int r = execv(path, args);
			printf("exec%d %d %d\n", i, r, errno);
			fflush(stdout);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	printf("done\n");
	return 0;
}
