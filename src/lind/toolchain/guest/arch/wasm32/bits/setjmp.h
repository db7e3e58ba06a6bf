/* wasm32-lind: room for the state a (future, Asyncify based) setjmp keeps:
 * 64 bytes, 8-byte aligned. */
typedef unsigned long long __jmp_buf[8];
