/* wasm32-lind: the guest's memory allocator.
 *
 * zig's copy of musl ships without musl's malloc, so the lind guest brings
 * its own.  It gets memory only through system calls, so that the host's
 * brk/mmap bookkeeping stays the single authority over the linear memory:
 *
 *   - small and medium blocks come from heap segments obtained with brk(12)
 *     (or, when brk is refused, with anonymous mmap(9));
 *   - blocks of MMAP_THRESHOLD bytes or more get a mapping of their own,
 *     released with munmap(11) on free.
 *
 * The public functions are weak so that a program may supply its own
 * allocator; it must then replace the whole family (malloc, free, calloc,
 * realloc, and the aligned variants it uses), since blocks cannot move
 * between two allocators.
 *
 * Heap segments are carved into chunks with boundary tags (dlmalloc style):
 *
 *   chunk:  [psize][csize|flags][payload ...]
 *
 * The chunk header is two size_t words, payloads are 16-byte aligned (the
 * alignment of max_align_t, which holds a 128-bit long double), and chunk
 * sizes are multiples of 16.  psize holds the size of the previous chunk
 * when that one is free.  Free chunks sit in segregated, doubly linked bins;
 * a bitmap of non-empty bins finds the next larger bin quickly.  Each
 * segment ends in a zero-sized in-use "fencepost" chunk so coalescing never
 * runs off its end. */

#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include "syscall.h"
#include "lock.h"
#include "libc.h"

#define ALIGN 16u
#define HDR (2*sizeof(size_t))
#define MIN_CHUNK 16u
#define PINUSE 1u   /* previous chunk is in use */
#define CINUSE 2u   /* this chunk is in use */
#define MMAPPED 4u  /* this chunk is a mapping of its own */
#define FLAGS 7u

#define MMAP_THRESHOLD (256u << 10)
#define GROW_MIN (256u << 10)
#define PAGE 4096u

struct chunk {
	size_t psize;
	size_t csize;
	struct chunk *next, *prev; /* only while free */
};

#define SIZE(c) ((c)->csize & ~(size_t)FLAGS)
#define MEM(c) ((void *)((char *)(c) + HDR))
#define CHUNK(p) ((struct chunk *)((char *)(p) - HDR))
#define NEXT(c) ((struct chunk *)((char *)(c) + SIZE(c)))
#define PREV(c) ((struct chunk *)((char *)(c) - (c)->psize))

/* Bins 0..63 hold exact sizes 16..1023 (16 apart); bins 64.. are
 * logarithmic, four per power of two. */
#define NSMALL 64
#define NBINS 128

static struct {
	struct chunk *bins[NBINS];
	uint32_t map[NBINS/32];
	uintptr_t brk_cur;      /* current program break, 0 before first use */
	struct chunk *brk_fence; /* fencepost of the brk segment, if any */
	int no_brk;             /* brk failed: use mmap for heap segments */
} heap;

static volatile int lock[1];

static unsigned bin_index(size_t size)
{
	if (size < NSMALL*ALIGN) return size / ALIGN;
	unsigned lg = 31 - __builtin_clz((unsigned)size);      /* >= 10 */
	unsigned sub = (unsigned)(size >> (lg - 2)) & 3;
	unsigned i = NSMALL + (lg - 10) * 4 + sub;
	return i < NBINS ? i : NBINS - 1;
}

static void bin_insert(struct chunk *c)
{
	unsigned i = bin_index(SIZE(c));
	c->prev = 0;
	c->next = heap.bins[i];
	if (c->next) c->next->prev = c;
	heap.bins[i] = c;
	heap.map[i/32] |= 1u << (i%32);
}

static void bin_remove(struct chunk *c)
{
	unsigned i = bin_index(SIZE(c));
	if (c->prev) c->prev->next = c->next;
	else heap.bins[i] = c->next;
	if (c->next) c->next->prev = c->prev;
	if (!heap.bins[i]) heap.map[i/32] &= ~(1u << (i%32));
}

/* Mark free chunk c (already out of its bin) in use; split off the tail
 * beyond `size` when it is big enough to be a chunk of its own. */
static void *take(struct chunk *c, size_t size)
{
	size_t have = SIZE(c);
	if (have - size >= MIN_CHUNK) {
		struct chunk *rest = (struct chunk *)((char *)c + size);
		rest->csize = (have - size) | PINUSE;
		NEXT(rest)->psize = have - size;
		c->csize = size | (c->csize & PINUSE) | CINUSE;
		bin_insert(rest);
	} else {
		c->csize |= CINUSE;
		NEXT(c)->csize |= PINUSE;
	}
	return MEM(c);
}

/* Return an in-use heap chunk to the bins, merging with free neighbours. */
static void release(struct chunk *c)
{
	size_t size = SIZE(c);
	struct chunk *n = NEXT(c);
	if (!(n->csize & CINUSE)) {
		bin_remove(n);
		size += SIZE(n);
	}
	if (!(c->csize & PINUSE)) {
		struct chunk *p = PREV(c);
		bin_remove(p);
		size += SIZE(p);
		c = p;
	}
	c->csize = size | PINUSE; /* the chunk before a free chunk is in use */
	n = NEXT(c);
	n->psize = size;
	n->csize &= ~(size_t)PINUSE;
	bin_insert(c);
}

static struct chunk *find(size_t size)
{
	unsigned i = bin_index(size);
	if (i >= NSMALL) {
		/* Logarithmic bins are not sorted: first fit within the bin. */
		for (struct chunk *c = heap.bins[i]; c; c = c->next)
			if (SIZE(c) >= size) return c;
		i++;
	}
	for (unsigned w = i/32; w < NBINS/32; w++) {
		uint32_t m = heap.map[w];
		if (w == i/32) m &= ~0u << (i%32);
		if (m) return heap.bins[w*32 + __builtin_ctz(m)];
	}
	return 0;
}

/* Lay out a fresh segment [a, b) as one free chunk plus a fencepost. */
static struct chunk *segment(uintptr_t a, uintptr_t b)
{
	uintptr_t f = ((a + HDR + ALIGN - 1) & -(uintptr_t)ALIGN) - HDR;
	uintptr_t e = ((b - 2*HDR) & -(uintptr_t)ALIGN) + HDR;
	if (e + HDR > b) e -= ALIGN;
	if (e <= f || e - f < MIN_CHUNK) return 0;
	struct chunk *c = (struct chunk *)f, *fence = (struct chunk *)e;
	c->csize = (e - f) | PINUSE | CINUSE;
	fence->csize = CINUSE;
	release(c);
	return fence;
}

static void *map(size_t len)
{
	long p = __syscall(SYS_mmap, 0, len, PROT_READ|PROT_WRITE,
		MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	return (unsigned long)p > -4096UL ? 0 : (void *)p;
}

/* Get at least `need` more bytes of heap. */
static int grow(size_t need)
{
	size_t len = need + 4*HDR + ALIGN;
	if (len < GROW_MIN) len = GROW_MIN;
	len = (len + PAGE - 1) & -(size_t)PAGE;

	if (!heap.no_brk) {
		/* Asked every time: the program may have moved the break itself (sbrk);
		 * then the new segment is simply not contiguous with the last one. */
		long r = __syscall(SYS_brk, 0);
		if (r <= 0 && r > -4096) heap.no_brk = 1;
		else heap.brk_cur = (unsigned long)r;
	}
	uintptr_t old = heap.brk_cur;
	if (!heap.no_brk && old + len > old) {
		uintptr_t now = (unsigned long)__syscall(SYS_brk, old + len);
		if (now == old + len) {
			heap.brk_cur = now;
			struct chunk *fence = heap.brk_fence;
			uintptr_t fend = (uintptr_t)fence + HDR;
			if (fence && fend <= old && old - fend < 2*ALIGN) {
				/* Contiguous: the old fencepost becomes the start
				 * of the new free space. */
				uintptr_t e = ((now - 2*HDR) & -(uintptr_t)ALIGN) + HDR;
				struct chunk *nf = (struct chunk *)e;
				fence->csize = (e - (uintptr_t)fence)
					| (fence->csize & PINUSE) | CINUSE;
				nf->csize = CINUSE;
				heap.brk_fence = nf;
				release(fence);
				return 0;
			}
			struct chunk *nf = segment(old, now);
			if (nf) { heap.brk_fence = nf; return 0; }
		} else {
			heap.no_brk = 1;
		}
	}
	/* brk refused (or not contiguous): an anonymous mapping instead. */
	void *m = map(len);
	if (!m) return -1;
	return segment((uintptr_t)m, (uintptr_t)m + len) ? 0 : -1;
}

static size_t chunk_size(size_t n)
{
	if (n > SIZE_MAX/2) return 0;
	size_t s = (n + HDR + ALIGN - 1) & -(size_t)ALIGN;
	return s < MIN_CHUNK ? MIN_CHUNK : s;
}

/* A block with a mapping of its own; its payload is aligned to `align`. */
static void *alloc_mapped(size_t size, size_t align)
{
	size_t len = (size + align + HDR + PAGE - 1) & -(size_t)PAGE;
	if (len < size) return 0;
	char *base = map(len);
	if (!base) return 0;
	uintptr_t p = ((uintptr_t)base + HDR + align - 1) & -(uintptr_t)align;
	struct chunk *c = CHUNK(p);
	c->psize = (char *)c - base;
	c->csize = (len - c->psize) | MMAPPED | CINUSE;
	return (void *)p;
}

static void *alloc(size_t n, size_t align)
{
	size_t size = chunk_size(n);
	if (!size) { errno = ENOMEM; return 0; }
	if (size >= MMAP_THRESHOLD) {
		void *p = alloc_mapped(size, align);
		if (!p) errno = ENOMEM;
		return p;
	}
	size_t want = align > ALIGN ? size + align + MIN_CHUNK : size;
	LOCK(lock);
	struct chunk *c = find(want);
	if (!c) {
		if (grow(want) < 0) { UNLOCK(lock); errno = ENOMEM; return 0; }
		c = find(want);
	}
	bin_remove(c);
	if (align > ALIGN) {
		uintptr_t p = ((uintptr_t)MEM(c) + align - 1) & -(uintptr_t)align;
		if (p != (uintptr_t)MEM(c)) {
			/* The leading gap becomes a free chunk of its own. */
			if (p - (uintptr_t)MEM(c) < MIN_CHUNK) p += align;
			struct chunk *a = CHUNK(p);
			size_t gap = (char *)a - (char *)c;
			a->csize = (SIZE(c) - gap) | PINUSE | CINUSE;
			c->csize = gap | (c->csize & PINUSE) | CINUSE;
			release(c);
			a->csize &= ~(size_t)CINUSE; /* free, unbinned: for take() */
			c = a;
		}
	}
	void *p = take(c, size);
	UNLOCK(lock);
	return p;
}

weak void *malloc(size_t n)
{
	return alloc(n, ALIGN);
}

weak void free(void *p)
{
	if (!p) return;
	struct chunk *c = CHUNK(p);
	if (c->csize & MMAPPED) {
		__syscall(SYS_munmap, (char *)c - c->psize, c->psize + SIZE(c));
		return;
	}
	LOCK(lock);
	release(c);
	UNLOCK(lock);
}

weak void *calloc(size_t m, size_t n)
{
	if (n && m > SIZE_MAX/n) { errno = ENOMEM; return 0; }
	n *= m;
	void *p = malloc(n);
	/* Fresh mappings are already zero. */
	if (p && !(CHUNK(p)->csize & MMAPPED)) memset(p, 0, n);
	return p;
}

weak size_t malloc_usable_size(void *p)
{
	return p ? SIZE(CHUNK(p)) - HDR : 0;
}

weak void *realloc(void *p, size_t n)
{
	if (!p) return malloc(n);
	size_t size = chunk_size(n);
	if (!size) { errno = ENOMEM; return 0; }
	struct chunk *c = CHUNK(p);
	size_t have = SIZE(c);
	if (!(c->csize & MMAPPED) && size < MMAP_THRESHOLD) {
		LOCK(lock);
		struct chunk *nx = NEXT(c);
		if (have < size && !(nx->csize & CINUSE) && have + SIZE(nx) >= size) {
			/* Grow in place into the free neighbour. */
			bin_remove(nx);
			have += SIZE(nx);
			c->csize = have | (c->csize & FLAGS);
			NEXT(c)->csize |= PINUSE;
		}
		if (have >= size) {
			if (have - size >= MIN_CHUNK) {
				struct chunk *rest = (struct chunk *)((char *)c + size);
				rest->csize = (have - size) | PINUSE | CINUSE;
				c->csize = size | (c->csize & FLAGS);
				release(rest);
			}
			UNLOCK(lock);
			return p;
		}
		UNLOCK(lock);
	} else if (c->csize & MMAPPED && have >= size && size >= MMAP_THRESHOLD/2) {
		return p;
	}
	void *q = malloc(n);
	if (!q) return 0;
	size_t keep = have - HDR < n ? have - HDR : n;
	memcpy(q, p, keep);
	free(p);
	return q;
}

weak void *reallocarray(void *p, size_t m, size_t n)
{
	if (n && m > SIZE_MAX/n) { errno = ENOMEM; return 0; }
	return realloc(p, m * n);
}

weak void *aligned_alloc(size_t align, size_t n)
{
	if (!align || (align & (align - 1))) { errno = EINVAL; return 0; }
	return alloc(n, align < ALIGN ? ALIGN : align);
}

weak int posix_memalign(void **res, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1))) return EINVAL;
	void *p = alloc(n, align < ALIGN ? ALIGN : align);
	if (!p) return ENOMEM;
	*res = p;
	return 0;
}

weak void *memalign(size_t align, size_t n)
{
	return aligned_alloc(align, n);
}

weak void *valloc(size_t n)
{
	return alloc(n, PAGE);
}

weak void *pvalloc(size_t n)
{
	return alloc((n + PAGE - 1) & -(size_t)PAGE, PAGE);
}

/* fork(): keep the allocator consistent in both processes. musl's fork calls this with
 * -1 before the fork, then with !ret: 0 in the parent, which lets go of the lock as
 * any holder does (waking a thread that waits for it), 1 in the child, whose only
 * thread is this one, so the lock (and the count of waiters copied with it) is simply
 * cleared. The two were once the other way round: the parent cleared the lock under a
 * thread asleep on it, which then slept for good. */
void __malloc_atfork(int who)
{
	if (who < 0) LOCK(lock);
	else if (who == 0) UNLOCK(lock);
	else lock[0] = 0;
}
