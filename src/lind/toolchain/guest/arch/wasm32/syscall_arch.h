/* wasm32-lind: how musl makes a system call.
 *
 * Every system call is one call to the host import lind.syscall:
 *
 *   (import "lind" "syscall"
 *      (func (param i32 i64 i64 i64 i64 i64 i64) (result i64)))
 *
 * nr is a Linux x86_64 system-call number.  Each argument is widened to 64
 * bits: signed integers are sign-extended, unsigned integers and pointers
 * (32-bit linear-memory offsets) are zero-extended; unused arguments are 0.
 * The result is >= 0 on success or -errno (Linux errno values). */

#define __SYSCALL_LL_E(x) (x)
#define __SYSCALL_LL_O(x) (x)

/* Widen one argument.  __builtin_classify_type() is 5 for pointers (and
 * for arrays, which decay): those go through unsigned long so that an
 * address above 2 GiB is not sign-extended. */
#define __scc(X) (__builtin_classify_type(X) == 5 \
	? (long long)(unsigned long)(X) : (long long)(X))
typedef long long syscall_arg_t;

__attribute__((__import_module__("lind"), __import_name__("syscall")))
long long __lind_syscall(int nr, long long a1, long long a2, long long a3,
	long long a4, long long a5, long long a6);

/* The few calls that may suspend and resume the cage's wasm stack (fork,
 * execve, setjmp, longjmp) go through a second import of the same type:
 *
 *   (import "lind" "syscall_unwind"
 *      (func (param i32 i64 i64 i64 i64 i64 i64) (result i64)))
 *
 * `lind cc` instruments a program with Binaryen's Asyncify for this import
 * only, and only when the program uses it, so every other program is left
 * as it was.  Call it directly from the frame that must be resumed. */
__attribute__((__import_module__("lind"), __import_name__("syscall_unwind")))
long long __lind_syscall_unwind(int nr, long long a1, long long a2, long long a3,
	long long a4, long long a5, long long a6);

/* Lind-private call numbers.  setjmp and longjmp go through syscall_unwind;
 * the others through the ordinary import (see src/lind/signals.c and
 * src/process/posix_spawn.c). */
#define __LIND_SYS_function_type  1017  /* a table entry's (params << 8 | results) */
#define __LIND_SYS_spawn          1018  /* a child starting this program at its spawn entry */
#define __LIND_SYS_spawn_plan     1019  /* that child fetches what it must do (posix_spawn.c) */
#define __LIND_SYS_setjmp         1020
#define __LIND_SYS_longjmp        1021
#define __LIND_SYS_signal_word    1022  /* register the address of the pending flag */
#define __LIND_SYS_next_signal    1023  /* take the next caught signal, apply its mask */

/* A blocking call interrupted by a caught signal whose handler has
 * SA_RESTART answers -ERESTARTSYS (Linux's internal value): after the
 * handler has run the call is made again, so the program never sees it. */
#define __LIND_ERESTARTSYS 512

/* Every system call of libc: the call, then, if the host has flagged a
 * caught signal as pending, its handler (in guest code, so that
 * siglongjmp out of it works like any longjmp), then the restart on
 * -ERESTARTSYS.  The check is one load and compare in line; what it
 * guards is out of line (src/lind/signals.c). */
extern volatile int __lind_signal_pending;
long __lind_deliver_then_restart(long r, long n, long long a, long long b,
	long long c, long long d, long long e, long long f);

static __inline long __lind_syscall_and_deliver(long n, long long a, long long b,
	long long c, long long d, long long e, long long f)
{
	long r = __lind_syscall(n, a, b, c, d, e, f);
	if (__builtin_expect(__lind_signal_pending || r == -__LIND_ERESTARTSYS, 0))
		return __lind_deliver_then_restart(r, n, a, b, c, d, e, f);
	return r;
}

static __inline long __syscall0(long n)
{
	return __lind_syscall_and_deliver(n, 0, 0, 0, 0, 0, 0);
}

static __inline long __syscall1(long n, long long a)
{
	return __lind_syscall_and_deliver(n, a, 0, 0, 0, 0, 0);
}

static __inline long __syscall2(long n, long long a, long long b)
{
	return __lind_syscall_and_deliver(n, a, b, 0, 0, 0, 0);
}

static __inline long __syscall3(long n, long long a, long long b, long long c)
{
	return __lind_syscall_and_deliver(n, a, b, c, 0, 0, 0);
}

static __inline long __syscall4(long n, long long a, long long b, long long c,
	long long d)
{
	return __lind_syscall_and_deliver(n, a, b, c, d, 0, 0);
}

static __inline long __syscall5(long n, long long a, long long b, long long c,
	long long d, long long e)
{
	return __lind_syscall_and_deliver(n, a, b, c, d, e, 0);
}

static __inline long __syscall6(long n, long long a, long long b, long long c,
	long long d, long long e, long long f)
{
	return __lind_syscall_and_deliver(n, a, b, c, d, e, f);
}

/* The x86_64 kernel's time-related calls already use 64-bit time_t and
 * 64-bit longs in their structures.  Announce them under the *_time64 names
 * musl looks for, so that musl's 32-bit code passes its 64-bit time
 * structures (and, for getrusage/wait4, a 64-bit struct rusage) straight
 * through instead of squeezing them into 32-bit longs. */
#define SYS_clock_gettime64             SYS_clock_gettime
#define SYS_clock_settime64             SYS_clock_settime
#define SYS_clock_adjtime64             SYS_clock_adjtime
#define SYS_clock_getres_time64         SYS_clock_getres
#define SYS_clock_nanosleep_time64      SYS_clock_nanosleep
#define SYS_timer_gettime64             SYS_timer_gettime
#define SYS_timer_settime64             SYS_timer_settime
#define SYS_timerfd_gettime64           SYS_timerfd_gettime
#define SYS_timerfd_settime64           SYS_timerfd_settime
#define SYS_utimensat_time64            SYS_utimensat
#define SYS_pselect6_time64             SYS_pselect6
#define SYS_ppoll_time64                SYS_ppoll
#define SYS_recvmmsg_time64             SYS_recvmmsg
#define SYS_mq_timedsend_time64         SYS_mq_timedsend
#define SYS_mq_timedreceive_time64      SYS_mq_timedreceive
#define SYS_semtimedop_time64           SYS_semtimedop
#define SYS_rt_sigtimedwait_time64      SYS_rt_sigtimedwait
#define SYS_futex_time64                SYS_futex
#define SYS_sched_rr_get_interval_time64 SYS_sched_rr_get_interval
#define SYS_getrusage_time64            SYS_getrusage
#define SYS_wait4_time64                SYS_wait4

/* x86_64 semantics for System V IPC: no IPC_64 flag in the command. */
#define IPC_64 0

/* Issue the calls glibc issues on x86_64, so that a grate or policy written for
 * what strace shows of a Linux program sees the same: open is openat, stat and
 * lstat are newfstatat (musl picks those when the old numbers are missing).
 * Only libc's own code sees this; programs keep every SYS_* name. */
#undef SYS_open
#undef SYS_stat
#undef SYS_lstat
