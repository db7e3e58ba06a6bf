/* wasm32-lind: there is no dynamic linker; these names only keep musl's
 * headers that mention them compilable. */
#define LDSO_ARCH "wasm32-lind"
#define TPOFF_K 0
