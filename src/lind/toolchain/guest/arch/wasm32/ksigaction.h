/* wasm32-lind: the structure rt_sigaction(13) reads and writes, in the
 * x86_64 kernel's field order with the guest's 32-bit words:
 *
 *   offset 0  u32 handler    (a function-table index, or SIG_DFL/SIG_IGN)
 *   offset 4  u32 flags      (SA_* values of x86_64)
 *   offset 8  u32 restorer   (unused: no SA_RESTORER, contents unspecified)
 *   offset 12 u32 mask[2]    (the 64-bit kernel sigset_t, sigsetsize 8)
 *
 * 20 bytes.  There is no SA_RESTORER because handlers run in guest code
 * (see bits/signal.h). */
#include <features.h>

struct k_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned mask[2];
};

hidden void __restore(), __restore_rt();
