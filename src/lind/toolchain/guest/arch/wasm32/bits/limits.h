/* wasm32-lind: the page size reported to programs (sysconf(_SC_PAGESIZE),
 * getpagesize(), AT_PAGESZ) and used by malloc and mmap is 4096 bytes, as on
 * Linux x86_64, even though wasm memory grows in 64 KiB units: the host does
 * brk/mmap bookkeeping at 4 KiB granularity inside the linear memory. */
#define PAGESIZE 4096
