/* crt1's start-up imports (lind.args_get and friends) called by the program itself, with
 * addresses the trampoline must check: past the end of memory, wrapping around it,
 * straddling its last byte, in the guarded null page. Each answers -EFAULT (the host
 * writes nothing outside the cage's memory and goes on); then a fair call answers what
 * crt1 got. Prints one line per call: "NAME RESULT". */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LIND_IMPORT(name) __attribute__((import_module("lind"), import_name(#name)))
LIND_IMPORT(args_sizes_get) int args_sizes(uint32_t count, uint32_t bytes);
LIND_IMPORT(args_get) int args_get(uint32_t pointers, uint32_t strings);
LIND_IMPORT(environ_sizes_get) int environ_sizes(uint32_t count, uint32_t bytes);
LIND_IMPORT(environ_get) int environ_get(uint32_t pointers, uint32_t strings);

static char strings[4096];
static uint32_t pointers[64];

int main(int argc, char **argv)
{
    uint32_t end = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
    uint32_t count = 0, bytes = 0, ok = (uint32_t)(uintptr_t)&count;
    printf("sizes_wrapping %d\n", args_sizes(0xfffffff0u, ok));
    printf("sizes_past_end %d\n", args_sizes(ok, end));
    printf("sizes_straddling %d\n", args_sizes(end - 2, ok));
    printf("sizes_null_page %d\n", environ_sizes(16, ok));
    printf("get_strings_straddling %d\n",
           args_get((uint32_t)(uintptr_t)pointers, end - 3));
    printf("get_pointers_straddling %d\n",
           args_get(end - 4, (uint32_t)(uintptr_t)strings));
    printf("get_strings_wrapping %d\n",
           environ_get((uint32_t)(uintptr_t)pointers, 0xffffffffu));
    printf("sizes %d\n", args_sizes((uint32_t)(uintptr_t)&count, (uint32_t)(uintptr_t)&bytes));
    printf("argc %u %d bytes %u\n", count, argc, bytes);
    memset(pointers, 0, sizeof pointers);
    printf("get %d\n", args_get((uint32_t)(uintptr_t)pointers, (uint32_t)(uintptr_t)strings));
    for (uint32_t i = 0; i < count && i < 64; i++)
        printf("argv %u %s %s\n", i, (char *)(uintptr_t)pointers[i],
               strcmp((char *)(uintptr_t)pointers[i], argv[i]) ? "differs" : "same");
    return 0;
}
