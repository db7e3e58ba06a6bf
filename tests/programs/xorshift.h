/* Marsaglia's 64-bit xorshift: the same pseudo-random cases under gcc and in a cage.
 * Each program that includes it starts from this seed. */
#include <stdint.h>

static uint64_t xorshift_state = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    xorshift_state ^= xorshift_state << 13;
    xorshift_state ^= xorshift_state >> 7;
    xorshift_state ^= xorshift_state << 17;
    return xorshift_state;
}
