/* wasm32-lind: no machine registers are visible to C code. */
#undef __WORDSIZE
#define __WORDSIZE 32
