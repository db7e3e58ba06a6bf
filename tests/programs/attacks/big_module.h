/* Shared by the attacks on compiling (compile_bomb, compile_hog): a module of `functions`
 * empty functions, written by bomb() into `out` (~4 bytes a function), which costs
 * Cranelift out of all proportion to its size. */
#include <stddef.h>
#include <string.h>

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
