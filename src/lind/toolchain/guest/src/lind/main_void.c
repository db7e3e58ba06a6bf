/* wasm32-lind: the program declared int main(int, char **, char **).
 * (See main_argc_argv.c; this file is linked only when nothing else
 * defines __main_void.) */
#include <unistd.h>
#include "libc.h"

extern hidden int __lind_argc;
extern hidden char **__lind_argv;

int main(int, char **, char **);

weak int __main_void(void)
{
	return main(__lind_argc, __lind_argv, __environ);
}
