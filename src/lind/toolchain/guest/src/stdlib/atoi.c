/* wasm32-lind: atoi, a file of its own (ato.h). */
#include <stdlib.h>
#include "ato.h"

int atoi(const char *s)
{
	return __lind_ato(s);
}
