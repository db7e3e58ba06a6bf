/* wasm32-lind: __floatscan, which scanf, strtod and wcstod call, sends float and double
 * to musl's scanner built in double arithmetic (__lind_floatscan_double.c) and long
 * double to the original (src/internal/floatscan.c, renamed by sysroot.FILE_DEFINES). */
#include "floatscan.h"

hidden double __lind_floatscan_double(FILE *, int, int);
hidden long double __lind_floatscan_quad(FILE *, int, int);

long double __floatscan(FILE *f, int prec, int pok)
{
	return prec < 2 ? __lind_floatscan_double(f, prec, pok) : __lind_floatscan_quad(f, prec, pok);
}
