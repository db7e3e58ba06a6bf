/* wasm32-lind: running signal handlers in guest code.
 *
 * The host keeps each cage's dispositions, mask and pending set; handlers
 * run here, in the cage's own code, so that no host frame sits between a
 * handler and the code it interrupted (siglongjmp out of a handler is an
 * ordinary longjmp).
 *
 *   1022 signal_word(&mine, &any) at the start of each thread: the host
 *                                 sets the thread's `mine` to 1 while a
 *                                 caught signal it does not block is
 *                                 pending for it, and the process's `any`
 *                                 while one is for any of its threads;
 *                                 back to 0 when none is left.
 *   1023 next_signal(&s)          takes the lowest such signal: fills `s`,
 *                                 blocks sa_mask (and the signal itself
 *                                 unless SA_NODEFER), resets the action if
 *                                 SA_RESETHAND; answers the signal number,
 *                                 or 0 if none is left.
 *
 * When a handler returns, rt_sigprocmask(SIG_SETMASK) puts back the mask
 * from its ucontext's uc_sigmask (which a handler may change, as on Linux).
 *
 * Each thread takes the signals sent to it (tkill, raise, its faults) and those
 * sent to the process that the host gave it (the first that does not block it).
 * Signals are looked for after every system call (__lind_syscall_and_deliver),
 * at the top of every loop of a program that can fork or longjmp
 * (__lind_safepoint), and, for code that makes none, by the host between two
 * instructions: it calls the export __lind_deliver_signals from its epoch tick. */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "pthread_impl.h"   /* MC_PC */
#include "syscall.h"

/* What next_signal (1023) writes; 152 bytes. */
struct lind_signal {
	int signo;
	uint32_t handler;              /* function-table index */
	uint32_t flags;                /* SA_* */
	uint32_t stack_top;            /* SA_ONSTACK: the alternate stack's top, or 0 */
	uint64_t restore_mask;         /* the mask to put back after the handler */
	siginfo_t info;
};

_Static_assert(offsetof(struct lind_signal, restore_mask) == 16, "restore_mask");
_Static_assert(offsetof(struct lind_signal, info) == 24, "info");
_Static_assert(sizeof(siginfo_t) == 128, "siginfo_t");

/* Written by the host only. The process's word is what the system-call path
 * and loop safepoints read (one fixed address, see syscall_arch.h); the
 * thread's says whether this thread has a signal to take. */
volatile int __lind_signal_pending;
static _Thread_local volatile int thread_signal_pending;

/* After the calling thread's TLS block is in place (start.c, clone.c). */
void __lind_signals_init(void)
{
	__lind_syscall(__LIND_SYS_signal_word, (unsigned long)&thread_signal_pending,
		(unsigned long)&__lind_signal_pending, 0, 0, 0, 0);
}

__attribute__((noinline))
static void call_handler(struct lind_signal *s, ucontext_t *uc)
{
	if (s->flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))(uintptr_t)s->handler)(
			s->signo, &s->info, uc);
	else
		((void (*)(int))(uintptr_t)s->handler)(s->signo);
}

/* SA_ONSTACK: the handler's frames go on the alternate stack (sigaltstack);
 * the shadow-stack pointer comes back when it returns.  A longjmp out of the
 * handler restores the stack pointer its setjmp saved. */
__attribute__((noinline))
static void call_handler_on(uint32_t top, struct lind_signal *s, ucontext_t *uc)
{
	uint32_t saved;
	__asm__ volatile("global.get __stack_pointer\n\tlocal.set %0" : "=r"(saved));
	__asm__ volatile("local.get %0\n\tglobal.set __stack_pointer" : : "r"(top & ~15u));
	call_handler(s, uc);
	__asm__ volatile("local.get %0\n\tglobal.set __stack_pointer" : : "r"(saved));
}

/* Set while this thread's run_handlers is between handlers: a safepoint in
 * its own loop must not start another round (it would recurse before
 * next_signal takes the signal). A handler runs with it clear, so a loop in
 * the handler is interrupted as any other; a longjmp out of a handler leaves
 * it clear, as it should. */
static _Thread_local int in_delivery;

/* `pc` is what the handlers' ucontext says of where the code they interrupted
 * stands (MC_PC): a cancellation point's __cp_begin, or 0 (see
 * src/thread/syscall_cp.c).  Returns it as the handlers left it. */
__attribute__((noinline))
static uintptr_t run_handlers(uintptr_t pc)
{
	struct lind_signal s;
	ucontext_t uc;
	int outer = in_delivery;

	in_delivery = 1;
	while (thread_signal_pending && __lind_syscall(__LIND_SYS_next_signal,
			(unsigned long)&s, 0, 0, 0, 0, 0) > 0) {
		memset(&uc, 0, sizeof uc);
		uc.uc_mcontext.MC_PC = pc;
		memcpy(&uc.uc_sigmask, &s.restore_mask, sizeof s.restore_mask);
		in_delivery = 0;
		if (s.stack_top)
			call_handler_on(s.stack_top, &s, &uc);
		else
			call_handler(&s, &uc);
		in_delivery = 1;
		__lind_syscall(SYS_rt_sigprocmask, SIG_SETMASK,
			(unsigned long)&uc.uc_sigmask, 0, _NSIG/8, 0, 0);
		pc = uc.uc_mcontext.MC_PC;
	}
	in_delivery = outer;
	return pc;
}

/* clang lets a wasm32 leaf function keep up to 128 bytes of locals below
 * __stack_pointer without moving it.  When the host calls in between two
 * instructions of such a function, the handlers' frames must start below
 * those bytes. */
#define RED_ZONE 128

/* Out of line, so that the system-call path does not pay for the skip. */
__attribute__((noinline))
void __lind_deliver_signals(void)
{
	char *skipped = __builtin_alloca(RED_ZONE);
	__asm__ volatile("" : : "r"(skipped) : "memory");
	run_handlers(0);
}

/* From a cancellation point (src/thread/syscall_cp.c). */
uintptr_t __lind_deliver_signals_at(uintptr_t pc)
{
	return run_handlers(pc);
}

/* Called from the top of every loop of a program that can fork or longjmp, when
 * __lind_signal_pending is set (lind cc puts the check there, see
 * toolchain/safepoints.py): the handlers then run in the program's own frames, so
 * they may fork or longjmp. */
void __lind_safepoint(void)
{
	if (!in_delivery)
		__lind_deliver_signals();
}

/* The slow path of __lind_syscall_and_deliver (syscall_arch.h): run the
 * handlers, and make the call again while it answers -ERESTARTSYS. */
long __lind_deliver_then_restart(long r, long n, long long a, long long b,
	long long c, long long d, long long e, long long f)
{
	for (;;) {
		if (__lind_signal_pending)
			__lind_deliver_signals();
		if (r != -__LIND_ERESTARTSYS)
			return r;
		r = __lind_syscall(n, a, b, c, d, e, f);
	}
}
