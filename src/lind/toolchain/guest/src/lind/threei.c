/* wasm32-lind: the grate API of <lind_syscall.h>, as calls into 3i.
 *
 * The 3i operations are entries of the cage's own table (numbers 1001-1007),
 * made like any system call. make_threei_call has more arguments than a call
 * carries, so it passes them in a block (Lind-private number 1004). */

#include <errno.h>
#include <stdint.h>
#include "../../include/lind_syscall.h"
#include "syscall.h"

#define __LIND_SYS_make_threei_call 1004

void __lind_deliver_signals(void);

void __lind_become_threaded(int count);

/* A program that uses the grate API may have its handlers run beside its own thread
 * (__lind_threaded.c): it is threaded from the start, before anything could run beside. */
__attribute__((constructor)) static void grate_is_threaded(void)
{
	__lind_become_threaded(1);
}

/* ... and stays so in a fork's child (process/_Fork.c). */
const int __lind_keeps_locks = 1;

static int to_errno(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return (int)r;
}

int make_threei_call(unsigned int callnumber, uint64_t callname,
                     uint64_t self_cageid, uint64_t target_cageid,
                     uint64_t arg1, uint64_t arg1cageid,
                     uint64_t arg2, uint64_t arg2cageid,
                     uint64_t arg3, uint64_t arg3cageid,
                     uint64_t arg4, uint64_t arg4cageid,
                     uint64_t arg5, uint64_t arg5cageid,
                     uint64_t arg6, uint64_t arg6cageid,
                     int translate_errno)
{
	(void)callname;
	uint64_t block[15] = {
		callnumber, self_cageid, target_cageid,
		arg1, arg1cageid, arg2, arg2cageid, arg3, arg3cageid,
		arg4, arg4cageid, arg5, arg5cageid, arg6, arg6cageid,
	};
	/* The result is the target cage's. An -ERESTARTSYS asks the target to run its
	 * signal handler and make its call again: it goes back up as it is. Restarted
	 * here (as __syscall1 would), the call would block again in the grate with the
	 * target's handler never run. The grate's own handlers still run. */
	long r = __lind_syscall(__LIND_SYS_make_threei_call, (long long)(uintptr_t)block,
		0, 0, 0, 0, 0);
	if (__lind_signal_pending)
		__lind_deliver_signals();
	return translate_errno ? to_errno(r) : (int)r;
}

int register_handler(uint64_t targetcage, uint64_t targetcallnum,
                     uint64_t this_grate_id, uint64_t in_grate_fn_ptr_u64)
{
	return to_errno(__syscall4(REGISTER_HANDLER_SYSCALL, (long long)targetcage,
		(long long)targetcallnum, (long long)this_grate_id,
		(long long)in_grate_fn_ptr_u64));
}

int copy_data_between_cages(uint64_t thiscage, uint64_t targetcage,
                            uint64_t srcaddr, uint64_t srccage,
                            uint64_t destaddr, uint64_t destcage,
                            uint64_t len, uint64_t copytype)
{
	(void)thiscage;
	(void)targetcage;
	long r = __syscall6(COPY_DATA_BETWEEN_CAGES_SYSCALL, (long long)srcaddr,
		(long long)srccage, (long long)destaddr, (long long)destcage,
		(long long)len, (long long)copytype);
	return r < 0 ? to_errno(r) : 0;
}

int copy_handler_table_to_cage(uint64_t srccage, uint64_t targetcage)
{
	return to_errno(__syscall2(COPY_HANDLER_TABLE_TO_CAGE_SYSCALL,
		(long long)srccage, (long long)targetcage));
}

int pin_fds(uint64_t targetcage, int count, int fd1, int fd2, int fd3)
{
	return to_errno(__syscall5(PIN_FDS_SYSCALL, (long long)targetcage, count, fd1, fd2,
		fd3));
}

int unpin_fds(uint64_t targetcage)
{
	return to_errno(__syscall1(UNPIN_FDS_SYSCALL, (long long)targetcage));
}
