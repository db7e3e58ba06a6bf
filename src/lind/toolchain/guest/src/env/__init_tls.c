/* wasm32-lind: thread-local storage is WebAssembly's.
 *
 * wasm-ld keeps the initial TLS image in a passive data segment; its
 * __wasm_init_tls(block) copies the image into `block` and points the calling
 * instance's __tls_base there.  Every thread is an instance of its own, so each
 * runs it once, on a block of its own: the main thread here, a new thread in
 * __lind_thread_start (src/thread/clone.c).  musl's bookkeeping is kept (one TLS
 * module, sized and aligned by the linker) so that pthread_create reserves the
 * block beside the thread descriptor as it does on Linux; __copy_tls only lays
 * the area out (the image has no bytes here to copy: len is 0).  The thread
 * pointer itself is a TLS variable (see __set_thread_area.c), set after the block
 * is in place. */
#include <errno.h>
#include <limits.h>
#include <sys/mman.h>
#include <string.h>
#include <stddef.h>
#include "pthread_impl.h"
#include "libc.h"
#include "atomic.h"
#include "syscall.h"

extern void __wasm_init_tls(void *block);

volatile int __thread_list_lock;

int __init_tp(void *p)
{
	pthread_t td = p;
	td->self = td;
	int r = __set_thread_area(TP_ADJ(p));
	if (r < 0) return -1;
	if (!r) libc.can_do_threads = 1;
	td->detach_state = DT_JOINABLE;
	td->tid = __syscall(SYS_set_tid_address, &__thread_list_lock);
	td->locale = &libc.global_locale;
	td->robust_list.head = &td->robust_list.head;
	td->sysinfo = __sysinfo;
	td->next = td->prev = td;
	return 0;
}

static struct builtin_tls {
	char c;
	struct pthread pt;
	void *space[16];
} builtin_tls[1];
#define MIN_TLS_ALIGN offsetof(struct builtin_tls, pt)

static struct tls_module main_tls;

/* Below the thread pointer, as musl lays TLS out when TLS_ABOVE_TP is not set. */
void *__copy_tls(unsigned char *mem)
{
	pthread_t td;
	struct tls_module *p;
	size_t i;
	uintptr_t *dtv = (uintptr_t *)mem;

	mem += libc.tls_size - sizeof(struct pthread);
	mem -= (uintptr_t)mem & (libc.tls_align-1);
	td = (pthread_t)mem;
	for (i=1, p=libc.tls_head; p; i++, p=p->next)
		dtv[i] = (uintptr_t)(mem - p->offset) + DTP_OFFSET;
	dtv[0] = libc.tls_cnt;
	td->dtv = dtv;
	return td;
}

/* The block a thread (described by `td`) runs __wasm_init_tls on. */
hidden void *__lind_tls_block(pthread_t td)
{
	return (void *)(td->dtv[1] - DTP_OFFSET);
}

static void static_init_tls(size_t *aux)
{
	void *mem;
	pthread_t td;

	main_tls.size = __builtin_wasm_tls_size();
	main_tls.align = __builtin_wasm_tls_align();
	main_tls.size += -main_tls.size & (main_tls.align-1);
	main_tls.offset = main_tls.size;
	libc.tls_cnt = 1;
	libc.tls_head = &main_tls;
	if (main_tls.align < MIN_TLS_ALIGN) main_tls.align = MIN_TLS_ALIGN;

	libc.tls_align = main_tls.align;
	libc.tls_size = 2*sizeof(void *) + sizeof(struct pthread)
		+ main_tls.size + main_tls.align
		+ MIN_TLS_ALIGN-1 & -MIN_TLS_ALIGN;

	if (libc.tls_size > sizeof builtin_tls) {
		mem = (void *)__syscall(SYS_mmap, 0, libc.tls_size, PROT_READ|PROT_WRITE,
			MAP_ANONYMOUS|MAP_PRIVATE, -1, 0);
		if ((uintptr_t)mem > -4096UL) a_crash();
	} else {
		mem = builtin_tls;
	}

	td = __copy_tls(mem);
	__wasm_init_tls(__lind_tls_block(td));
	/* Failure to initialize thread pointer is always fatal. */
	if (__init_tp(td) < 0)
		a_crash();
}

weak_alias(static_init_tls, __init_tls);

void __lind_become_threaded(int count);

/* Locks that know their owner by thread id (recursive and error-checking mutexes,
 * stdio's FILE locks) must tell workers from each other and from the grate's threads,
 * but a worker's calls are made as the grate's: gettid gives every worker the id of
 * the grate's own thread. Workers number themselves from here instead, far above any
 * id Lind gives a cage or a thread (counted from 1 in each runtime) and below the
 * owner bits a mutex keeps (microvisor/sys_signals.py's sys_tkill knows them too). */
#define WORKER_TIDS 0x30000000
static volatile int workers_started;

/* An instance the host starts without pthread_create: a wasm grate's handler worker
 * (cage/grate_worker.py). It gets a thread descriptor, a TLS block and thread-specific
 * data (pthread_getspecific) of its own, so that errno and the like of handlers running
 * at once stay apart. 0, or -ENOMEM. */
__attribute__((export_name("__lind_worker_start")))
int __lind_worker_start(void)
{
	size_t tsd_size = sizeof(void *) * PTHREAD_KEYS_MAX;
	unsigned char *mem = (void *)__syscall(SYS_mmap, 0, libc.tls_size + tsd_size,
		PROT_READ|PROT_WRITE, MAP_ANONYMOUS|MAP_PRIVATE, -1, 0);
	if ((uintptr_t)mem > -4096UL)
		return -ENOMEM;
	pthread_t td = __copy_tls(mem);
	__wasm_init_tls(__lind_tls_block(td));
	td->tsd = (void **)(mem + libc.tls_size);
	td->self = td;
	td->detach_state = DT_DETACHED;
	td->tid = WORKER_TIDS + a_fetch_add(&workers_started, 1);
	td->locale = &libc.global_locale;
	td->robust_list.head = &td->robust_list.head;
	td->sysinfo = __sysinfo;
	td->next = td->prev = td;
	int r = __set_thread_area(td);
	__lind_become_threaded(0);   /* a grate that did not start so (see threei.c) */
	return r;
}
