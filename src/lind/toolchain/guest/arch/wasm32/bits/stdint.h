/* wasm32-lind: pointer-sized types are long (as clang's wasm32 target
 * defines size_t, intptr_t and ptrdiff_t); fast types are 32-bit. */
typedef int32_t int_fast16_t;
typedef int32_t int_fast32_t;
typedef uint32_t uint_fast16_t;
typedef uint32_t uint_fast32_t;

#define INT_FAST16_MIN  INT32_MIN
#define INT_FAST32_MIN  INT32_MIN

#define INT_FAST16_MAX  INT32_MAX
#define INT_FAST32_MAX  INT32_MAX

#define UINT_FAST16_MAX UINT32_MAX
#define UINT_FAST32_MAX UINT32_MAX

#define INTPTR_MIN      (-1-__LONG_MAX)
#define INTPTR_MAX      __LONG_MAX
#define UINTPTR_MAX     (2UL*__LONG_MAX+1)
#define PTRDIFF_MIN     (-1-__LONG_MAX)
#define PTRDIFF_MAX     __LONG_MAX
#define SIZE_MAX        (2UL*__LONG_MAX+1)
