/* ftw() for wasm32-lind.  musl's passes the caller's three-argument function to nftw
 * cast to nftw's four-argument type, relying on a native call ignoring the extra
 * argument; WebAssembly checks the type of every indirect call, so that ended the
 * program with SIGSEGV.  Here nftw calls an adapter of its own type, which calls the
 * caller's function with the three arguments it takes.  The function is kept per
 * thread and restored afterwards, so ftw may be called from inside a callback. */
#include <ftw.h>

static _Thread_local int (*ftw_fn)(const char *, const struct stat *, int);

static int ftw_adapter(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	return ftw_fn(path, st, type);
}

int ftw(const char *path, int (*fn)(const char *, const struct stat *, int), int fd_limit)
{
	int (*outer)(const char *, const struct stat *, int) = ftw_fn;
	ftw_fn = fn;
	int r = nftw(path, ftw_adapter, fd_limit, FTW_PHYS);
	ftw_fn = outer;
	return r;
}
