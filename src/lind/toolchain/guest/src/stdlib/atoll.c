/* wasm32-lind: atoll, a file of its own (ato.h). */
#include <stdlib.h>
#include "ato.h"

long long atoll(const char *s)
{
	return __lind_ato(s);
}
