/* wasm32-lind: the structure the host fills in for stat(4), fstat(5),
 * lstat(6) and newfstatat(262).  It is exactly the Linux x86_64 kernel's
 * struct stat (144 bytes), spelled with fixed-width types; musl's fstatat()
 * converts it to the user-visible struct stat. */

#include <stdint.h>

struct kstat {
	uint64_t st_dev;         /*   0 */
	uint64_t st_ino;         /*   8 */
	uint64_t st_nlink;       /*  16 */
	uint32_t st_mode;        /*  24 */
	uint32_t st_uid;         /*  28 */
	uint32_t st_gid;         /*  32 */
	uint32_t __pad0;         /*  36 */
	uint64_t st_rdev;        /*  40 */
	int64_t st_size;         /*  48 */
	int64_t st_blksize;      /*  56 */
	int64_t st_blocks;       /*  64 */
	int64_t st_atime_sec;    /*  72 */
	int64_t st_atime_nsec;   /*  80 */
	int64_t st_mtime_sec;    /*  88 */
	int64_t st_mtime_nsec;   /*  96 */
	int64_t st_ctime_sec;    /* 104 */
	int64_t st_ctime_nsec;   /* 112 */
	int64_t __unused[3];     /* 120 */
};

_Static_assert(sizeof(struct kstat) == 144, "struct kstat must match x86_64");
