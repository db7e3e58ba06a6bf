/* wasm32-lind: musl's __towrite, which also settles stdout's buffering before the
 * first byte goes into its buffer. C has stdout fully buffered when it is not a
 * terminal; musl decided so only in its first write (__stdout_write), so the first
 * line was already out, line-buffered: a program that printed a line and forked had
 * it once where glibc's children repeat it, and it came before what went to stderr
 * since (blosc's fork tests print so). */
#include "stdio_impl.h"
#include <sys/ioctl.h>

int __towrite(FILE *f)
{
	f->mode |= f->mode-1;
	if (f->flags & F_NOWR) {
		f->flags |= F_ERR;
		return EOF;
	}
	if (f->write == __stdout_write) {
		struct winsize wsz;
		f->write = __stdio_write;
		if (!(f->flags & F_SVB) && __syscall(SYS_ioctl, f->fd, TIOCGWINSZ, &wsz))
			f->lbf = -1;
	}
	/* Clear read buffer (easier than summoning nasal demons) */
	f->rpos = f->rend = 0;

	/* Activate write through the buffer. */
	f->wpos = f->wbase = f->buf;
	f->wend = f->buf + f->buf_size;

	return 0;
}

hidden void __towrite_needs_stdio_exit()
{
	__stdio_exit_needed();
}
