/* lind_syscall.h: the grate API of Lind (3i), for programs built with `lind cc`.
 *
 * A grate is a cage program that handles other cages' system calls. The usual
 * life of one: it forks; the child registers handlers for its own cage id that
 * point at functions of the grate, then execs the program named in argv (the
 * handler table survives exec and is inherited by fork); the grate waits.
 *
 * When a cage makes a call routed to a grate, 3i calls the grate's exported
 * dispatcher, which every grate defines:
 *
 *   int (or long long) pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid,
 *       uint64_t arg1, uint64_t arg1cage, ... uint64_t arg6, uint64_t arg6cage);
 *
 * fn_ptr is the value given to register_handler; cageid is the calling cage;
 * argNcage names the cage whose memory argN points into (the caller for a
 * call it made itself). The handler's return value is the call's result:
 * >= 0, or -errno.
 *
 * Handlers run on the calling cage's thread, in worker instances that share
 * the grate's memory, so handlers for different cages may run at the same
 * time: keep per-call state on the stack, and write output with one write()
 * per line rather than through a shared stdio buffer.
 *
 * Every function below returns 0 (or the call's result) on success; on error
 * -1 with errno set, except make_threei_call without translate_errno, which
 * returns -errno as the call did.
 */
#ifndef _LIND_SYSCALL_H
#define _LIND_SYSCALL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* OR-ed into an argument's cage id: the pointer is into the grate's own memory. */
#define GRATE_MEMORY_FLAG (1ULL << 63)

/* register_handler's this_grate_id value that puts the default (the microvisor)
 * back for that call. */
#define THREEI_DEREGISTER 500

/* copy_data_between_cages copy types. */
#define COPY_RAW 0
#define COPY_STRING 1   /* stop after the NUL, which must come within len */

/* -THREEI_CAGE_ENDED from make_threei_call: the cage the call was made for was
 * ended during it (a grate below killed it, or a fatal signal came). There is no
 * result, and that cage never sees one; strace shows such a call as "= ?". */
#define THREEI_CAGE_ENDED 4095

/* The 3i operations' own call numbers (a grate may handle these too). */
#define REGISTER_HANDLER_SYSCALL 1001
#define COPY_DATA_BETWEEN_CAGES_SYSCALL 1002
#define COPY_HANDLER_TABLE_TO_CAGE_SYSCALL 1003
#define HARSH_EXIT_SYSCALL 1005
#define PIN_FDS_SYSCALL 1006
#define UNPIN_FDS_SYSCALL 1007

/* Make call `callnumber` on behalf of `target_cageid`, through the caller's own
 * table (so it reaches whatever lies below the calling grate). `callname` is
 * unused; `self_cageid` is the caller. */
int make_threei_call(unsigned int callnumber, uint64_t callname,
                     uint64_t self_cageid, uint64_t target_cageid,
                     uint64_t arg1, uint64_t arg1cageid,
                     uint64_t arg2, uint64_t arg2cageid,
                     uint64_t arg3, uint64_t arg3cageid,
                     uint64_t arg4, uint64_t arg4cageid,
                     uint64_t arg5, uint64_t arg5cageid,
                     uint64_t arg6, uint64_t arg6cageid,
                     int translate_errno);

/* Route `targetcallnum` of `targetcage` to the function `in_grate_fn_ptr_u64`
 * of grate `this_grate_id` (the caller or one of its ancestors). Only the
 * target itself or an ancestor may change its table. */
int register_handler(uint64_t targetcage, uint64_t targetcallnum,
                     uint64_t this_grate_id, uint64_t in_grate_fn_ptr_u64);

/* Copy len bytes (or a NUL-terminated string of at most len bytes) from one
 * cage's memory to another's; both must be the caller or its descendants. */
int copy_data_between_cages(uint64_t thiscage, uint64_t targetcage,
                            uint64_t srcaddr, uint64_t srccage,
                            uint64_t destaddr, uint64_t destcage,
                            uint64_t len, uint64_t copytype);

/* Give `targetcage` a copy of `srccage`'s whole handler table. */
int copy_handler_table_to_cage(uint64_t srccage, uint64_t targetcage);

/* Until unpin_fds, on the calling thread, `count` (1 to 3) fds of `targetcage` are
 * the files they are now (one not open stays closed) for every call made for that
 * cage, this grate's own look at them (readlink of /proc/self/fd/N) and the call it
 * passes down included: another thread's dup2 or close in between cannot make the
 * call act on a file this grate did not judge. A pin an enclosing grate made stands.
 * Pins nest: unpin_fds lets go of the latest. */
int pin_fds(uint64_t targetcage, int count, int fd1, int fd2, int fd3);
int unpin_fds(uint64_t targetcage);

#ifdef __cplusplus
}
#endif

#endif
