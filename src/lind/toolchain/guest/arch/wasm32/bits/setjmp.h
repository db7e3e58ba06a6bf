/* wasm32-lind: the machine part of jmp_buf.
 *
 * setjmp/longjmp are system calls through lind.syscall_unwind (see
 * guest/src/setjmp/setjmp.c); the host keeps the saved wasm stack under a
 * token it writes into the first 8 of these 64 bytes (offset 0 of jmp_buf
 * and sigjmp_buf), so a copy of a jmp_buf's bytes jumps where the original
 * would; libc never reads them.  musl's <setjmp.h> follows them with `unsigned long
 * __fl` (offset 64: sigsetjmp's savemask) and `unsigned long __ss[32]`
 * (offset 68: the saved signal mask), 200 bytes in all, 8-byte aligned. */
typedef unsigned long long __jmp_buf[8];
