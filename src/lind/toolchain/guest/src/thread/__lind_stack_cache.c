/* wasm32-lind: thread stacks kept for the next thread, as glibc keeps them.
 *
 * musl maps each thread's stack (with its TLS block and descriptor on top) in
 * pthread_create and unmaps it in pthread_join.  In a cage each of those calls,
 * and the mprotect of the guard, is a call into the microvisor's Python while
 * the thread that just ended is still being wound down there: three calls and
 * their hand-offs of the host's interpreter lock per thread.  sysroot.py builds
 * musl's pthread_create.c and pthread_join.c with __mmap, __mprotect and
 * __munmap renamed to the functions below, so a joined thread's mapping is kept
 * here (a few, within a budget) and handed to the next thread of its size.
 *
 * What musl expects of a fresh anonymous mapping is restored: the part above
 * the stack (TLS block, thread descriptor, TSD slots) is zeroed; the stack is
 * reused as it is, as glibc does.  The guard's mprotect is skipped for a kept
 * mapping: Lind keeps no page protection in linear memory (mprotect is only
 * checked), so the mapping is as the first mprotect left it.  An mmap that
 * fails for lack of memory gives the kept mappings back and tries again, so a
 * program never runs short because of them.  A detached thread still unmaps its
 * own stack (__unmapself.c). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "pthread_impl.h"
#include "libc.h"
#include "lock.h"

#define KEEP_MAX 8                        /* mappings kept at once, at most */
#define KEEP_BYTES (8u << 20)             /* and their bytes together */

static struct kept { void *map; size_t len; } kept[KEEP_MAX];
static int kept_count;
static size_t kept_bytes;
static volatile int kept_lock[1];

/* The mapping this thread last took from `kept`: its guard needs no mprotect. */
static _Thread_local void *taken_map;
static _Thread_local size_t taken_len;

static void *take(size_t len)
{
	void *map = 0;
	LOCK(kept_lock);
	for (int i = kept_count - 1; i >= 0; i--) {
		if (kept[i].len != len)
			continue;
		map = kept[i].map;
		kept[i] = kept[--kept_count];
		kept_bytes -= len;
		break;
	}
	UNLOCK(kept_lock);
	return map;
}

/* Unmap every kept mapping; whether there was one. */
static int give_back(void)
{
	struct kept all[KEEP_MAX];
	LOCK(kept_lock);
	int n = kept_count;
	memcpy(all, kept, sizeof all);
	kept_count = 0;
	kept_bytes = 0;
	UNLOCK(kept_lock);
	for (int i = 0; i < n; i++)
		__munmap(all[i].map, all[i].len);
	return n > 0;
}

hidden void *__lind_stack_map(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	taken_map = 0;
	if (!addr && fd == -1 && flags == (MAP_PRIVATE|MAP_ANON)) {
		void *map = take(len);
		if (map) {
			size_t top = libc.tls_size + __pthread_tsd_size;
			if (top > len)
				top = len;
			memset((char *)map + len - top, 0, top);
			taken_map = map;
			taken_len = len;
			return map;
		}
	}
	void *map = __mmap(addr, len, prot, flags, fd, off);
	if (map == MAP_FAILED && errno == ENOMEM && give_back())
		map = __mmap(addr, len, prot, flags, fd, off);
	return map;
}

hidden int __lind_stack_protect(void *addr, size_t len, int prot)
{
	char *map = taken_map;
	if (map && (char *)addr >= map && (char *)addr + len <= map + taken_len) {
		taken_map = 0;
		return 0;
	}
	return __mprotect(addr, len, prot);
}

hidden int __lind_stack_unmap(void *map, size_t len)
{
	if (map == taken_map)
		taken_map = 0;
	LOCK(kept_lock);
	if (kept_count < KEEP_MAX && len <= KEEP_BYTES - kept_bytes) {
		kept[kept_count++] = (struct kept){ map, len };
		kept_bytes += len;
		UNLOCK(kept_lock);
		return 0;
	}
	UNLOCK(kept_lock);
	return __munmap(map, len);
}
