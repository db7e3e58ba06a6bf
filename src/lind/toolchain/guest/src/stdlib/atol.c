/* wasm32-lind: atol, a file of its own (ato.h). */
#include <stdlib.h>
#include "ato.h"

long atol(const char *s)
{
	return __lind_ato(s);
}
