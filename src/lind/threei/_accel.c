/*
 * The 3i trampoline: the host side of the cage's `lind.syscall` import.
 *
 * Wasmtime calls `lind_syscall_entry` directly (an "unchecked" host function),
 * so a system call from a cage costs a C call plus a table lookup.  Entries
 * marked fast are answered here without the GIL (identity calls, calls that
 * only validate their arguments); all others enter Python with the GIL held.
 *
 * The Wasmtime C API is not linked against: Python passes the addresses of the
 * few functions needed, taken from the shared library wasmtime-py loaded.
 *
 * Types exported to Python:
 *   Memory  - bounds-checked access to one cage's linear memory.
 *   Ptr     - an address together with the Memory it refers to.
 *   Slot    - one cage's 3i table and the state the fast handlers read.
 *   Grate   - a wasm grate's worker instance, entered from any cage's thread.
 *   GrateHandler - one handler (function pointer) inside a Grate: a table entry.
 */
#define _GNU_SOURCE        /* preadv2, RWF_NOWAIT */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>   /* T_UINT, T_BOOL */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <linux/futex.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>

#define NSYSCALLS 1024

/* Wasmtime C API shapes (stable across releases). */
typedef struct {
    struct {
        uint64_t store_id;
        uint32_t private1;
    } inner;
    uint32_t private2;
} wt_memory_t;

typedef union {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    uint8_t v128[16];
    uint32_t ref;
} wt_val_raw_t;

typedef struct {
    uint64_t store_id;
    void *private1;
} wt_func_t;

typedef size_t (*wt_memory_data_size_fn)(const void *ctx, const wt_memory_t *mem);
typedef uint8_t *(*wt_memory_data_fn)(const void *ctx, const wt_memory_t *mem);
typedef size_t (*wt_sharedmemory_data_size_fn)(const void *shared);
typedef uint8_t *(*wt_sharedmemory_data_fn)(const void *shared);
typedef void *(*wt_trap_new_fn)(const char *msg, size_t len);
typedef void *(*wt_func_call_unchecked_fn)(void *ctx, const wt_func_t *func, wt_val_raw_t *vals,
                                           size_t nvals, void **trap);

static wt_memory_data_size_fn memory_data_size;
static wt_memory_data_fn memory_data;
static wt_sharedmemory_data_size_fn sharedmemory_data_size;
static wt_sharedmemory_data_fn sharedmemory_data;
static wt_trap_new_fn trap_new;
typedef void (*wt_delete_fn)(void *);
typedef void (*wt_epoch_callback_set_fn)(void *store, void *callback, void *data,
                                          void (*finalizer)(void *));
typedef void (*wt_set_epoch_deadline_fn)(void *ctx, uint64_t ticks);
static wt_delete_fn error_delete, trap_delete;
static wt_epoch_callback_set_fn epoch_callback_set;
static wt_set_epoch_deadline_fn set_epoch_deadline;
/* The stop trap the trampoline last made on this host thread (a thread's exit, or the
 * cage's stop with its message) and for which slot: call_export reports a failed call
 * of that slot's instance as this stop without reading Wasmtime's error back, which
 * cost more than the rest of a thread's exit. (A grate's stop met on the way is the
 * grate's slot's: it never passes for the calling cage's.) */
enum { STOP_NONE, STOP_THREAD, STOP_CAGE };
static __thread int stop_made;
static __thread const void *stop_slot;
static __thread PyObject *stop_text;
static wt_func_call_unchecked_fn func_call_unchecked;

/* How a table entry is served. */
enum {
    FAST_NONE = 0,  /* call the Python handler */
    FAST_GETPID,
    FAST_GETPPID,
    FAST_GETUID,
    FAST_GETEUID,
    FAST_GETGID,
    FAST_GETEGID,
    FAST_CLOSE,     /* negative or out-of-range fd: -EBADF; else Python */
    FAST_READ,      /* read/write/pread/pwrite/lseek on a mirrored host fd: done here; */
    FAST_WRITE,     /* any other fd goes to the Python handler */
    FAST_PREAD,
    FAST_PWRITE,
    FAST_LSEEK,
    FAST_GRATE,     /* the handler is a GrateHandler: run it in its wasm grate, here */
    FAST_THREEI_CALL, /* make_threei_call: served here when the next layer is a wasm
                       * grate or an identity call, so grate stacks stay out of Python */
    FAST_SENDTO,    /* sendto/recvfrom without an address on a mirrored socket: done */
    FAST_RECVFROM,  /* here; anything else goes to the Python handler */
    FAST_EPOLL_PWAIT, /* epoll_pwait without a signal mask on a mirrored epoll fd */
    FAST_FUTEX,     /* futex WAIT, WAKE, REQUEUE: the host kernel's futex on the word */
    FAST_OPEN,      /* open/openat of a host file for reading: opened and numbered here */
    FAST_OPENAT,    /* (see "file opens"); anything else goes to the Python handler */
    FAST_FSTAT,     /* fstat of a mirrored host fd: done here; any other fd: Python */
    FAST_NEWFSTATAT, /* stat/lstat by a path resolved as FAST_OPEN's: done here */
    FAST_SIGPROCMASK, /* rt_sigprocmask of a cage thread while its cage has no signal
                       * pending: done here (see "signal masks"); else Python */
    FAST_READV,     /* readv/writev of a few buffers on a mirrored host fd: done here */
    FAST_WRITEV,    /* (what stdio's reads and writes are); any other: Python */
    FAST_CLOCK_GETTIME, /* clock_gettime of a clock every cage reads alike: the host's,
                         * here; the CPU-time clocks (per cage) are Python's */
    FAST_GETRANDOM, /* getrandom: the host's, into the cage's buffer */
    FAST_NANOSLEEP, /* nanosleep and clock_nanosleep of the realtime, monotonic and boot */
    FAST_CLOCK_NANOSLEEP, /* clocks: here until woken (see "sleeps"); others Python's */
    FAST_SETJMP,    /* setjmp and longjmp through Asyncify, in an instance entered by */
    FAST_LONGJMP,   /* Unwinder.enter (see "setjmp and longjmp"); else Python */
    FAST_FORK,      /* fork: unwound and rewound here, the child made by Python (idem) */
    FAST_IOCTL,     /* a terminal's request (stdio asks at its first write) on a mirrored
                     * fd that is no terminal: ENOTTY here; any other: Python */
    FAST_POLL,      /* poll of a few mirrored fds: the host's poll beside the wake fd */
    FAST_ACCESS,    /* access/faccessat of a path resolved as FAST_OPEN's (W_OK: as its opens) */
    FAST_FACCESSAT,
    FAST_READLINK,  /* readlink/readlinkat of a path resolved as FAST_OPEN's: done here */
    FAST_READLINKAT,
    FAST_PSELECT6,  /* select (musl's is pselect6) of up to 64 mirrored fds, as FAST_POLL */
    FAST_UNLINK,    /* unlink/rmdir/unlinkat/rename/renameat of paths resolved as */
    FAST_RMDIR,     /* FAST_OPEN's, under a mount that takes writes: done here (see */
    FAST_UNLINKAT,  /* "names removed, moved"); anything else goes to Python */
    FAST_RENAME,
    FAST_RENAMEAT,
    FAST_COUNT
};

/* ------------------------------------------------------------------ Memory */

/* One cage's linear memory, seen from the host. Every host access to a cage's
 * memory goes through these methods, which check bounds against the memory's
 * current size; nothing else computes host addresses from guest values.
 *
 * Lifetime: `owner` (the Store) keeps the pages mapped. An operation that uses
 * `base` with the GIL released pins the Memory first (and a memoryview over it
 * counts as a pin), so a cage that ends meanwhile cannot have its pages freed
 * under that operation: `release()` marks the Memory detached (every later
 * access fails with ESRCH) and drops the owner only once the last pin is gone.
 *
 * A snapshot is a read-only Memory over host bytes that stands for guest
 * addresses [lo, size): what a grate inspected, handed to the layer below so a
 * cage cannot change it between the check and the use. */
typedef struct {
    PyObject_HEAD
    const void *ctx;     /* wasmtime_context_t* of the owning store; NULL: a snapshot
                          * or a shared memory */
    wt_memory_t mem;
    const void *shared;  /* wasmtime_sharedmemory_t*: the memory every thread of a cage
                          * (and every worker of a grate) imports; NULL: `mem` */
    uint8_t *base;       /* host address of guest address 0 */
    uint64_t lo;         /* lowest valid guest address (0 but for snapshots) */
    uint64_t size;       /* one past the highest valid address; refreshed on a miss */
    PyObject *owner;     /* keeps the pages alive: the Store, or a snapshot's bytes */
    Py_ssize_t pins;     /* operations using `base` without the GIL, exported buffers */
    int detached;        /* the cage ended: every access fails with ESRCH */
    int discarding;      /* released with discard: the pages go with the owner */
    int readonly;        /* a snapshot: writes fail with EFAULT */
    int guard;           /* 1 + its slot in `guarded` while page 0 is a null guard */
    int nprot;           /* ranges in `prot` (see "protected pages"): 0 on every hot path */
    int pslot;           /* 1 + its slot in `protected_lo` while it has any */
    struct ProtRange *prot;
    struct RangeShareObject *share;   /* its tree's count of ranges (strong; NULL: none) */
} MemoryObject;

/* RangeShare(): the mprotect ranges one process tree's memories hold together, so that
 * one tree cannot take every range of the process (a tenant's forks, each inheriting
 * its ranges, left every other tenant's mprotect ENOMEM). With the GIL. */
typedef struct RangeShareObject {
    PyObject_HEAD
    int ranges;
} RangeShareObject;

/* A range of guest pages mprotect took rights from: [start, end), page-aligned. */
typedef struct ProtRange {
    uint64_t start, end;
    int prot;            /* PROT_NONE or PROT_READ (PROT_READ|PROT_WRITE is no range) */
} ProtRange;

static PyTypeObject MemoryType;

/* ------------------------------------------------------------ the null page
 *
 * A program `lind cc` linked keeps nothing in its first page (the far end of its
 * stack, which grows down towards 0). Made inaccessible, a load or store there
 * from wasm is a fault in Wasmtime's compiled code, which Wasmtime turns into a
 * trap: the cage ends with SIGSEGV, as a null pointer dereference does on Linux.
 * Host accesses through Memory never reach the page (`lo` is past it: EFAULT, as
 * the kernel answers for a bad pointer). What is left are Wasmtime's library
 * calls (memory.fill, memory.copy, memory.init), which run in host code: a fault
 * there would kill the whole process, so it reaches on_host_fault below, which
 * opens the page again (the copy then finishes inside the cage's own memory) and
 * marks the cage, which gets SIGSEGV at its next system call or epoch tick.
 *
 * The handler must come after Wasmtime's in the chain (Wasmtime passes on the
 * faults that are not in compiled code): it is installed when this module is
 * imported, and threei creates Lind's engine right after (Wasmtime installs its
 * handlers then) and calls note_fault_order.
 *
 * A handler an embedder installs later (faulthandler.enable(), a profiler) would
 * come before both and take every fault first: a cage's out-of-bounds load,
 * `unreachable` (abort) or division by zero, and the bulk instructions above,
 * would then end the whole process. keep_fault_order, called at each cage start
 * and each epoch tick, puts on_fault_first on top of such a newcomer: it offers
 * the fault to Wasmtime and Lind first, and what neither takes goes on to the
 * newcomer, as if it had been alone. (The newcomer's own predecessor, which it
 * may call or restore and raise again, is Wasmtime's: that way back reaches
 * what was there before Lind, not the newcomer a second time.) */
#define GUARD_SLOTS 4096
static uintptr_t guarded[GUARD_SLOTS];   /* host address of a guarded page; 0: free */
static int guard_hit[GUARD_SLOTS];       /* the host touched it: the cage is owed a SIGSEGV */
static int guard_hits;                   /* how many guard_hit are set (the fast check) */
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t host_page;

#define FAULT_SIGNALS 4                  /* the ones Wasmtime's traps and the guard raise */
static const int fault_signals[FAULT_SIGNALS] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
static struct sigaction before_lind[FAULT_SIGNALS];   /* what on_host_fault was installed over */
static struct sigaction engine_top[FAULT_SIGNALS];    /* the top once the engine existed */
static int fault_order_known;
static struct sigaction newcomer[FAULT_SIGNALS][2];   /* published in turn: newcomer_at */
static int newcomer_at[FAULT_SIGNALS];
static pthread_mutex_t fault_order_lock = PTHREAD_MUTEX_INITIALIZER;

/* Where this thread's fault is in on_fault_first's round (thread-local without
 * allocation, so that a signal handler may touch it). */
enum { FAULT_ALONE, FAULT_OFFERED, FAULT_DECLINED, FAULT_PASSED_ON };
static __thread int fault_round __attribute__((tls_model("initial-exec")));

static int fault_index(int sig)
{
    for (int i = 0; i < FAULT_SIGNALS; i++)
        if (fault_signals[i] == sig)
            return i;
    return 0;
}

static void (*handler_of(const struct sigaction *a))(void)
{
    return a->sa_flags & SA_SIGINFO ? (void (*)(void))a->sa_sigaction : (void (*)(void))a->sa_handler;
}

/* As the kernel would have run `next` had it been installed. */
static void pass_fault_to(const struct sigaction *next, int sig, siginfo_t *info, void *context)
{
    if (next->sa_flags & SA_SIGINFO) {
        next->sa_sigaction(sig, info, context);
    } else if (next->sa_handler == SIG_DFL || next->sa_handler == SIG_IGN) {
        sigaction(sig, next, NULL);   /* the fault repeats and takes its default course */
    } else {
        next->sa_handler(sig);
    }
}

/* ------------------------------------------------------------ protected pages
 *
 * mprotect in a cage is the host's mprotect on the cage's pages (Memory.protect): a
 * load or store there from wasm traps as page 0's do, and the cage gets SIGSEGV. Each
 * Memory keeps its ranges (sorted, disjoint, at most PROT_RANGES_MAX; every host
 * process shares the kernel's map count, vm.max_map_count, so one cage must not be able
 * to spend it: ENOMEM past the cap, as Linux answers past its own) and host accesses
 * through Memory check them: EFAULT, as the kernel answers a system call given such a
 * pointer. What host code touches without a check (Wasmtime's memory.copy/fill, a view
 * written into) faults: on_host_fault finds the page in `protected_lo`/`protected_hi`
 * (the memory's host span of ranges), opens it and marks the cage, which gets SIGSEGV at
 * its next system call or epoch tick; the ranges are applied again when it does. */
#define PROT_RANGES_MAX 1024         /* per memory, at most (prot_ranges_each) */
/* Each range costs the process about two host mappings: all memories' ranges together
 * may take an eighth of vm.max_map_count (as the shared regions of limits.py may), one
 * memory's a quarter of that. Set once, from the host's setting, when the handler is. */
static int prot_ranges_all_max = 4096, prot_ranges_each = PROT_RANGES_MAX;
static int prot_ranges_tree = 2048;   /* a tree's memories together: half of all */
static uintptr_t protected_lo[GUARD_SLOTS];   /* host span of a memory's ranges; 0: free */
static uintptr_t protected_hi[GUARD_SLOTS];
static int protected_hit[GUARD_SLOTS];        /* the host touched one: SIGSEGV owed */
static int protected_guard_open[GUARD_SLOTS]; /* open_protected_page opened page 0 too */
static int prot_ranges_all;                   /* with the GIL */

/* Pages made accessible again just before their slot is freed (a cage's end, exec, its
 * protections cleared) may have faulted an instant before, in host code on another
 * thread whose handler then looks for the slot once it is gone: that fault is not the
 * process's own. `pages_opened` counts such openings (bumped after the mprotect, before
 * the slot goes); a fault no slot claims is tried again once for each thread that has
 * not seen the count as it is, and passed on only if it comes back. */
static unsigned pages_opened;
static __thread unsigned pages_opened_seen __attribute__((tls_model("initial-exec")));

static void note_pages_opened(void)
{
    __atomic_add_fetch(&pages_opened, 1, __ATOMIC_ACQ_REL);
}

/* A free slot taken (with guard_lock): a hit the handler marked there as the slot's last
 * owner let it go (it had found the slot an instant before) is not the new owner's. */
static void drop_stale_hit(int *hit)
{
    if (__atomic_exchange_n(hit, 0, __ATOMIC_ACQ_REL))
        __atomic_sub_fetch(&guard_hits, 1, __ATOMIC_RELEASE);
}

/* Whether `page` is a memory's guarded page 0 (safe in a signal handler). */
static int is_guarded(uintptr_t page)
{
    for (int i = 0; i < GUARD_SLOTS; i++)
        if (__atomic_load_n(&guarded[i], __ATOMIC_ACQUIRE) == page)
            return 1;
    return 0;
}

static int open_protected_page(uintptr_t at)
{
    for (int i = 0; i < GUARD_SLOTS; i++) {
        uintptr_t lo = __atomic_load_n(&protected_lo[i], __ATOMIC_ACQUIRE);
        if (lo && at >= lo && at < __atomic_load_n(&protected_hi[i], __ATOMIC_ACQUIRE)) {
            int saved = errno;
            /* One page opened splits a mapping: past the process's map count that is
             * ENOMEM, and the access would fault again for ever; then the whole span
             * until the ranges are put back (mappings joined, not split). Never page 0
             * while it is the null guard (`lo` is the memory's base): the span starts
             * past it, and only if page 0 and the first range are one mapping that
             * cannot be split is page 0 opened too, and closed again (zeroed) with the
             * ranges at the cage's next system call or tick (protected_guard_open). */
            if (mprotect((void *)(at & ~(host_page - 1)), host_page, PROT_READ | PROT_WRITE)) {
                uintptr_t hi = __atomic_load_n(&protected_hi[i], __ATOMIC_ACQUIRE);
                int guarded_lo = is_guarded(lo);
                uintptr_t from = guarded_lo ? lo + host_page : lo;
                if (from < hi && mprotect((void *)from, hi - from, PROT_READ | PROT_WRITE) &&
                    guarded_lo) {
                    __atomic_store_n(&protected_guard_open[i], 1, __ATOMIC_RELEASE);
                    mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE);
                }
            }
            errno = saved;
            if (!__atomic_exchange_n(&protected_hit[i], 1, __ATOMIC_ACQ_REL))
                __atomic_add_fetch(&guard_hits, 1, __ATOMIC_RELEASE);
            return 1;
        }
    }
    return 0;
}

static int open_guarded_page(uintptr_t at)
{
    for (int i = 0; i < GUARD_SLOTS; i++) {
        uintptr_t page = __atomic_load_n(&guarded[i], __ATOMIC_ACQUIRE);
        if (page && at - page < host_page) {
            int saved = errno;
            mprotect((void *)page, host_page, PROT_READ | PROT_WRITE);
            errno = saved;
            if (!__atomic_exchange_n(&guard_hit[i], 1, __ATOMIC_ACQ_REL))
                __atomic_add_fetch(&guard_hits, 1, __ATOMIC_RELEASE);
            return 1;
        }
    }
    return 0;
}

static void on_host_fault(int sig, siginfo_t *info, void *context)
{
    if ((sig == SIGSEGV || sig == SIGBUS) && open_guarded_page((uintptr_t)info->si_addr))
        return;
    if (sig == SIGSEGV && info->si_code == SEGV_ACCERR) {
        if (open_protected_page((uintptr_t)info->si_addr))
            return;
        unsigned opened = __atomic_load_n(&pages_opened, __ATOMIC_ACQUIRE);
        if (opened != pages_opened_seen) {    /* a page opened since: try it again */
            pages_opened_seen = opened;
            return;
        }
    }
    if (fault_round == FAULT_OFFERED) {
        fault_round = FAULT_DECLINED;   /* on_fault_first passes it on to the newcomer */
        return;
    }
    pass_fault_to(&before_lind[fault_index(sig)], sig, info, context);
}

static void on_fault_first(int sig, siginfo_t *info, void *context)
{
    int i = fault_index(sig);
    if (fault_round != FAULT_ALONE) {   /* the newcomer passed it back: Wasmtime's, then Lind's way */
        fault_round = FAULT_PASSED_ON;
        pass_fault_to(&engine_top[i], sig, info, context);
        return;
    }
    fault_round = FAULT_OFFERED;
    pass_fault_to(&engine_top[i], sig, info, context);
    if (fault_round == FAULT_DECLINED) {
        fault_round = FAULT_PASSED_ON;
        struct sigaction next = newcomer[i][__atomic_load_n(&newcomer_at[i], __ATOMIC_ACQUIRE)];
        pass_fault_to(&next, sig, info, context);
    }
    fault_round = FAULT_ALONE;
}

static void set_fault_action(struct sigaction *action, void (*handler)(int, siginfo_t *, void *))
{
    memset(action, 0, sizeof *action);
    action->sa_sigaction = handler;
    action->sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action->sa_mask);
}

static int install_fault_handler(void)
{
    struct sigaction action;
    set_fault_action(&action, on_host_fault);
    host_page = (uintptr_t)sysconf(_SC_PAGESIZE);
    FILE *setting = fopen("/proc/sys/vm/max_map_count", "re");
    long maps = 65530;
    if (setting) {
        if (fscanf(setting, "%ld", &maps) != 1)
            maps = 65530;
        fclose(setting);
    }
    prot_ranges_all_max = maps / 16 > 256 ? (int)(maps / 16) : 256;
    prot_ranges_each = prot_ranges_all_max / 4 > 64 ? prot_ranges_all_max / 4 : 64;
    if (prot_ranges_each > PROT_RANGES_MAX)
        prot_ranges_each = PROT_RANGES_MAX;
    prot_ranges_tree = prot_ranges_all_max / 2;
    for (int i = 0; i < FAULT_SIGNALS; i++)
        if (sigaction(fault_signals[i], &action, &before_lind[i]))
            return -1;
    return 0;
}

static PyObject *protection_limits(PyObject *self, PyObject *unused)
{
    return Py_BuildValue("(iiii)", prot_ranges_each, prot_ranges_all_max, prot_ranges_all,
                         prot_ranges_tree);
}

/* note_fault_order(): the engine exists; its handlers are the top to keep. False when
 * Wasmtime's came before Lind's (an engine made before this module was imported):
 * then Lind's handler is on top, and the order is left as it is. */
static PyObject *note_fault_order(PyObject *self, PyObject *unused)
{
    pthread_mutex_lock(&fault_order_lock);
    for (int i = 0; i < FAULT_SIGNALS; i++)
        sigaction(fault_signals[i], NULL, &engine_top[i]);
    fault_order_known = handler_of(&engine_top[0]) != (void (*)(void))on_host_fault;
    pthread_mutex_unlock(&fault_order_lock);
    return PyBool_FromLong(fault_order_known);
}

/* keep_fault_order(): on_fault_first over any handler installed since (see "the
 * null page"); True if the order is known and kept. */
static PyObject *keep_fault_order(PyObject *self, PyObject *unused)
{
    if (!__atomic_load_n(&fault_order_known, __ATOMIC_ACQUIRE))
        Py_RETURN_FALSE;
    pthread_mutex_lock(&fault_order_lock);
    struct sigaction first;
    set_fault_action(&first, on_fault_first);
    for (int i = 0; i < FAULT_SIGNALS; i++) {
        struct sigaction top;
        sigaction(fault_signals[i], NULL, &top);
        if (handler_of(&top) == handler_of(&engine_top[i]) ||
            handler_of(&top) == (void (*)(void))on_fault_first)
            continue;
        int spare = !__atomic_load_n(&newcomer_at[i], __ATOMIC_RELAXED);
        newcomer[i][spare] = top;
        __atomic_store_n(&newcomer_at[i], spare, __ATOMIC_RELEASE);
        sigaction(fault_signals[i], &first, NULL);
    }
    pthread_mutex_unlock(&fault_order_lock);
    Py_RETURN_TRUE;
}

/* m's page 0 is no longer guarded: made accessible first when `opening` (its pages still
 * mapped: whatever runs over them later, a grate's handler still finishing in a worker
 * after the grate ended, must not meet a PROT_NONE page no slot knows of), then its slot
 * freed. 0, or -1 if the page could not be opened (then it stays guarded). */
static int guard_forget(MemoryObject *m, int opening)
{
    if (!m->guard)
        return 0;
    if (opening) {
        if (mprotect(m->base, host_page, PROT_READ | PROT_WRITE) != 0)
            return -1;
        note_pages_opened();
    }
    int slot = m->guard - 1;
    pthread_mutex_lock(&guard_lock);
    __atomic_store_n(&guarded[slot], 0, __ATOMIC_RELEASE);
    if (__atomic_exchange_n(&guard_hit[slot], 0, __ATOMIC_ACQ_REL))
        __atomic_sub_fetch(&guard_hits, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&guard_lock);
    m->guard = 0;
    return 0;
}

/* Whether the host touched m's guarded page (1) or a protected one (2) since the last
 * look; then it is closed again, under Python's lock: release() and mprotect change the
 * page and the ranges under it, and ranges put back while prot_clear_all opened them
 * and freed their slot stayed inaccessible with no slot to find them (the next host
 * access there ended the process). Callable without the GIL. */
static void prot_apply_all(MemoryObject *m);

static int guard_taken(MemoryObject *m)
{
    int guard = m->guard && __atomic_exchange_n(&guard_hit[m->guard - 1], 0, __ATOMIC_ACQ_REL);
    int ranges = m->pslot && __atomic_exchange_n(&protected_hit[m->pslot - 1], 0,
                                                 __ATOMIC_ACQ_REL);
    if (!guard && !ranges)
        return 0;
    __atomic_sub_fetch(&guard_hits, guard + ranges, __ATOMIC_RELEASE);
    PyGILState_STATE gil = PyGILState_Ensure();
    if (guard && m->guard && !m->detached) {
        memset(m->base, 0, host_page);
        mprotect(m->base, host_page, PROT_NONE);
    }
    if (ranges && m->pslot && !m->detached) {
        if (__atomic_exchange_n(&protected_guard_open[m->pslot - 1], 0, __ATOMIC_ACQ_REL) &&
            m->guard) {       /* page 0 went with the span: a null guard again */
            memset(m->base, 0, host_page);
            mprotect(m->base, host_page, PROT_NONE);
        }
        prot_apply_all(m);    /* the page opened for the host is closed again */
    }
    PyGILState_Release(gil);
    return guard ? 1 : 2;
}

/* Bounds check without touching Python state (safe without the GIL, on the
 * cage's own thread or with the Memory pinned: then the owner is alive). */
static void memory_refresh(MemoryObject *m)
{
    if (!m->owner)              /* a released memory is gone */
        return;
    if (m->shared) {            /* grown by any thread: the engine keeps its length */
        m->size = sharedmemory_data_size(m->shared);
        m->base = sharedmemory_data(m->shared);
    } else if (m->ctx) {        /* a snapshot never changes */
        m->size = memory_data_size(m->ctx, &m->mem);
        m->base = memory_data(m->ctx, &m->mem);
    }
}

/* Whether [addr, addr+len) meets a protected range that refuses the access: any range
 * when `writing`, else a PROT_NONE one. Safe without the GIL: `prot` is never freed
 * while the memory lives and never holds more than PROT_RANGES_MAX (a racing
 * mprotect may be seen half done: then the fault handler is what stops the host). */
__attribute__((noinline)) static int prot_denies(MemoryObject *m, uint64_t addr,
                                                  uint64_t len, int writing)
{
    int n = __atomic_load_n(&m->nprot, __ATOMIC_ACQUIRE);
    if (!n || !len || !m->prot)
        return 0;
    if (n > PROT_RANGES_MAX)
        n = PROT_RANGES_MAX;
    uint64_t end = addr + len;
    int lo = 0, hi = n;        /* the first range ending past addr */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (m->prot[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int i = lo; i < n && m->prot[i].start < end; i++)
        if (writing || m->prot[i].prot == PROT_NONE)
            return 1;
    return 0;
}

/* How many bytes from addr (readable) up to `avail` may be read before a PROT_NONE
 * range: a string's scan stops there (safe without the GIL, as prot_denies). */
static uint64_t readable_span(MemoryObject *m, uint64_t addr, uint64_t avail)
{
    int n = __atomic_load_n(&m->nprot, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n && i < PROT_RANGES_MAX && m->prot; i++)
        if (m->prot[i].prot == PROT_NONE && m->prot[i].end > addr)
            return m->prot[i].start > addr && m->prot[i].start - addr < avail
                ? m->prot[i].start - addr : m->prot[i].start > addr ? avail : 0;
    return avail;
}

/* Inside the memory, whatever the protections. */
static int memory_in_range(MemoryObject *m, uint64_t addr, uint64_t len)
{
    if ((addr >= m->lo || !len) && addr + len >= addr && addr + len <= m->size)
        return 1;
    memory_refresh(m);
    return (addr >= m->lo || !len) && addr + len >= addr && addr + len <= m->size;
}

/* memory_in_bounds past its first look: the size refreshed, or protections to check. */
__attribute__((noinline)) static int memory_in_bounds_slow(MemoryObject *m, uint64_t addr,
                                                           uint64_t len)
{
    if (!((addr >= m->lo || !len) && addr + len >= addr && addr + len <= m->size))
        memory_refresh(m);
    return (addr >= m->lo || !len) && addr + len >= addr && addr + len <= m->size &&
        !prot_denies(m, addr, len, 0);
}

/* Inside the memory and readable. An empty range may start anywhere up to the end
 * (write(fd, NULL, 0) is no fault). */
static inline int memory_in_bounds(MemoryObject *m, uint64_t addr, uint64_t len)
{
    if (__builtin_expect(!m->nprot, 1) && (addr >= m->lo || !len) && addr + len >= addr &&
        addr + len <= m->size)
        return 1;
    return memory_in_bounds_slow(m, addr, len);
}

/* Inside the memory and writable (what the trampoline stores a result into). */
static int memory_writable(MemoryObject *m, uint64_t addr, uint64_t len)
{
    return memory_in_bounds(m, addr, len) &&
        (__builtin_expect(!m->nprot, 1) || !prot_denies(m, addr, len, 1));
}

static PyObject *set_errno(int err)
{
    errno = err;
    return PyErr_SetFromErrno(PyExc_OSError);
}

/* With the GIL: 0 if [addr, addr+len) may be used (written, when `writing`). */
static int memory_check(MemoryObject *m, uint64_t addr, uint64_t len, int writing)
{
    if (m->detached) {
        set_errno(ESRCH);
        return -1;
    }
    if (memory_in_bounds(m, addr, len) && !(writing && m->readonly) &&
        !(writing && m->nprot && prot_denies(m, addr, len, 1)))
        return 0;
    set_errno(EFAULT);
    return -1;
}

/* Pin before releasing the GIL around a use of `base`; unpin with the GIL. */
static void memory_pin(MemoryObject *m)
{
    Py_INCREF(m);
    m->pins++;
}

static void memory_let_go(MemoryObject *m);

static void memory_unpin(MemoryObject *m)
{
    if (--m->pins == 0 && m->detached)
        memory_let_go(m);
    Py_DECREF(m);
}

/* An address argument: a plain int is in `self`; an int subclass carrying a
 * `memory` attribute (threei.Address) names another cage's memory. */
static int resolve(MemoryObject *self, PyObject *obj, MemoryObject **mem, uint64_t *addr)
{
    if (!PyLong_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "address must be an int");
        return -1;
    }
    *mem = self;
    if (!PyLong_CheckExact(obj)) {
        PyObject *other = PyObject_GetAttrString(obj, "memory");
        if (!other)
            return -1;
        if (!PyObject_TypeCheck(other, &MemoryType)) {
            Py_DECREF(other);
            PyErr_SetString(PyExc_TypeError, "Address.memory must be a Memory");
            return -1;
        }
        *mem = (MemoryObject *)other;
        Py_DECREF(other);  /* kept alive by the Address */
    }
    *addr = PyLong_AsUnsignedLongLongMask(obj);
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *Memory_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    unsigned long long ctx;
    Py_buffer raw;
    PyObject *owner;
    if (!PyArg_ParseTuple(args, "Ky*O", &ctx, &raw, &owner))
        return NULL;
    if (raw.len != sizeof(wt_memory_t) || !ctx) {
        PyBuffer_Release(&raw);
        PyErr_SetString(PyExc_ValueError, "wasmtime_memory_t has an unexpected size");
        return NULL;
    }
    MemoryObject *m = (MemoryObject *)type->tp_alloc(type, 0);
    if (!m) {
        PyBuffer_Release(&raw);
        return NULL;
    }
    m->ctx = (const void *)(uintptr_t)ctx;
    memcpy(&m->mem, raw.buf, sizeof m->mem);
    PyBuffer_Release(&raw);
    m->owner = Py_NewRef(owner);
    m->size = memory_data_size(m->ctx, &m->mem);
    m->base = memory_data(m->ctx, &m->mem);
    return (PyObject *)m;
}

/* Memory.shared(sharedmemory_address, owner): a shared memory, `owner` keeping it. */
static PyObject *Memory_shared(PyTypeObject *type, PyObject *args)
{
    unsigned long long shared;
    PyObject *owner;
    if (!PyArg_ParseTuple(args, "KO", &shared, &owner))
        return NULL;
    if (!shared) {
        PyErr_SetString(PyExc_ValueError, "no shared memory");
        return NULL;
    }
    MemoryObject *m = (MemoryObject *)type->tp_alloc(type, 0);
    if (!m)
        return NULL;
    m->shared = (const void *)(uintptr_t)shared;
    m->owner = Py_NewRef(owner);
    memory_refresh(m);
    return (PyObject *)m;
}

/* Memory.snapshot(data, origin): read-only, guest addresses [origin, origin+len). */
static PyObject *Memory_snapshot(PyTypeObject *type, PyObject *args)
{
    PyObject *data;
    unsigned long long origin;
    if (!PyArg_ParseTuple(args, "SK", &data, &origin))
        return NULL;
    uint64_t len = (uint64_t)PyBytes_GET_SIZE(data);
    if (origin + len < origin) {
        PyErr_SetString(PyExc_ValueError, "snapshot wraps around");
        return NULL;
    }
    MemoryObject *m = (MemoryObject *)type->tp_alloc(type, 0);
    if (!m)
        return NULL;
    m->owner = Py_NewRef(data);
    m->base = (uint8_t *)((uintptr_t)PyBytes_AS_STRING(data) - (uintptr_t)origin);
    m->lo = origin;
    m->size = origin + len;
    m->readonly = 1;
    return (PyObject *)m;
}

/* The host protection of a range's `prot`. */
static int host_prot(int prot)
{
    return prot == PROT_NONE ? PROT_NONE : prot == PROT_READ ? PROT_READ : PROT_READ | PROT_WRITE;
}

/* Every range of m put on the host pages again (after the fault handler opened one). */
static void prot_apply_all(MemoryObject *m)
{
    int n = __atomic_load_n(&m->nprot, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n && i < PROT_RANGES_MAX; i++)
        mprotect(m->base + m->prot[i].start, (size_t)(m->prot[i].end - m->prot[i].start),
                 host_prot(m->prot[i].prot));
}

static void prot_push(ProtRange *out, int *n, uint64_t start, uint64_t end, int prot)
{
    if (start >= end)
        return;
    if (*n && out[*n - 1].end == start && out[*n - 1].prot == prot) {
        out[*n - 1].end = end;
        return;
    }
    out[*n] = (ProtRange){start, end, prot};
    ++*n;
}

/* Guest [start, end) (page-aligned, inside the memory) gets `want` (PROT_NONE,
 * PROT_READ or PROT_READ|PROT_WRITE): the host's pages and m's ranges. With the GIL;
 * -1 with errno (ENOMEM past the caps) and nothing changed. `check_only`: whether it
 * would be refused for the caps, nothing changed either way. */
static int prot_set(MemoryObject *m, uint64_t start, uint64_t end, int want, int check_only)
{
    int rw = want == (PROT_READ | PROT_WRITE);
    if (start >= end || (rw && !m->nprot))
        return 0;
    ProtRange *next = PyMem_RawMalloc(sizeof *next * (size_t)(m->nprot + 3));
    if (!next) {
        errno = ENOMEM;
        return -1;
    }
    int n = 0, placed = rw;
    for (int i = 0; i < m->nprot; i++) {
        ProtRange r = m->prot[i];
        if (r.end <= start) {
            prot_push(next, &n, r.start, r.end, r.prot);
            continue;
        }
        if (r.start < start)
            prot_push(next, &n, r.start, start, r.prot);
        if (!placed && r.end > start) {
            prot_push(next, &n, start, end, want);
            placed = 1;
        }
        if (r.end > end)
            prot_push(next, &n, r.start > end ? r.start : end, r.end, r.prot);
    }
    if (!placed)
        prot_push(next, &n, start, end, want);
    if (n > prot_ranges_each ||
        (n > m->nprot && (prot_ranges_all + n - m->nprot > prot_ranges_all_max ||
                          (m->share && m->share->ranges + n - m->nprot > prot_ranges_tree)))) {
        PyMem_RawFree(next);
        errno = ENOMEM;      /* as Linux answers past its map count */
        return -1;
    }
    if (check_only) {
        PyMem_RawFree(next);
        return 0;
    }
    if (n && !m->prot) {
        m->prot = PyMem_RawCalloc(PROT_RANGES_MAX, sizeof *m->prot);   /* never moves */
        if (!m->prot) {
            PyMem_RawFree(next);
            errno = ENOMEM;
            return -1;
        }
    }
    if (n && !m->pslot) {      /* the fault handler must know the pages first */
        pthread_mutex_lock(&guard_lock);
        int slot = 0;
        while (slot < GUARD_SLOTS && protected_lo[slot])
            slot++;
        if (slot < GUARD_SLOTS) {
            drop_stale_hit(&protected_hit[slot]);
            __atomic_store_n(&protected_guard_open[slot], 0, __ATOMIC_RELEASE);
            __atomic_store_n(&protected_hi[slot], (uintptr_t)m->base + end, __ATOMIC_RELEASE);
            __atomic_store_n(&protected_lo[slot], (uintptr_t)m->base, __ATOMIC_RELEASE);
            m->pslot = slot + 1;
        }
        pthread_mutex_unlock(&guard_lock);
        if (!m->pslot) {
            PyMem_RawFree(next);
            errno = ENOMEM;
            return -1;
        }
    }
    if (m->pslot && (uintptr_t)m->base + end > protected_hi[m->pslot - 1])
        __atomic_store_n(&protected_hi[m->pslot - 1], (uintptr_t)m->base + end, __ATOMIC_RELEASE);
    if (mprotect(m->base + start, (size_t)(end - start), host_prot(want)) != 0) {
        int err = errno;
        PyMem_RawFree(next);
        prot_apply_all(m);          /* a part may have changed */
        errno = err == ENOMEM ? ENOMEM : EAGAIN;
        return -1;
    }
    /* Published so a reader without the GIL sees a count no larger than what is
     * written: shrink the count first, grow it last. */
    prot_ranges_all += n - m->nprot;
    if (m->share)
        m->share->ranges += n - m->nprot;
    if (n < m->nprot)
        __atomic_store_n(&m->nprot, n, __ATOMIC_RELEASE);
    if (n)
        memcpy(m->prot, next, sizeof *next * (size_t)n);
    __atomic_store_n(&m->nprot, n, __ATOMIC_RELEASE);
    PyMem_RawFree(next);
    return 0;
}

/* Every page of m accessible again, its ranges and fault slot gone (a cage's end, exec,
 * a memory kept for reuse). With the GIL, the pages still mapped. */
static void prot_clear_all(MemoryObject *m)
{
    int n = m->nprot;
    if (n) {
        __atomic_store_n(&m->nprot, 0, __ATOMIC_RELEASE);
        for (int i = 0; i < n; i++)
            mprotect(m->base + m->prot[i].start, (size_t)(m->prot[i].end - m->prot[i].start),
                     PROT_READ | PROT_WRITE);
        prot_ranges_all -= n;
        if (m->share)
            m->share->ranges -= n;
        note_pages_opened();
    }
    if (m->pslot) {
        int slot = m->pslot - 1;
        pthread_mutex_lock(&guard_lock);
        __atomic_store_n(&protected_lo[slot], 0, __ATOMIC_RELEASE);
        __atomic_store_n(&protected_hi[slot], 0, __ATOMIC_RELEASE);
        if (__atomic_exchange_n(&protected_guard_open[slot], 0, __ATOMIC_ACQ_REL) &&
            m->guard) {       /* page 0 went with the span (open_protected_page) */
            memset(m->base, 0, host_page);
            mprotect(m->base, host_page, PROT_NONE);
        }
        if (__atomic_exchange_n(&protected_hit[slot], 0, __ATOMIC_ACQ_REL))
            __atomic_sub_fetch(&guard_hits, 1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&guard_lock);
        m->pslot = 0;
    }
}

/* Guest [addr, addr+len) rounded out to whole pages and clipped to the memory, for a
 * reset of its protections (a new mapping over it, munmap). -1 with ENOMEM if that
 * would split a range past the caps (or the host's map count), and then nothing
 * changed: as Linux's munmap and mmap(MAP_FIXED) answer, every protection kept. */
static int prot_reset(MemoryObject *m, uint64_t addr, uint64_t len, int check_only)
{
    if (!m->nprot)
        return 0;
    uint64_t start = addr & ~(uint64_t)(host_page - 1);
    uint64_t end = (addr + len + host_page - 1) & ~(uint64_t)(host_page - 1);
    if (end > m->size)
        end = m->size;
    if (start < m->lo)
        start = m->lo;
    return prot_set(m, start, end, PROT_READ | PROT_WRITE, check_only);
}

/* unprotect(addr, n, check=False): what mprotect did over guest [addr, addr+n) undone,
 * as a new mapping there or munmap does; ENOMEM if that would split a range past the
 * caps, nothing changed. `check`: only whether it would be refused. */
static PyObject *Memory_unprotect(MemoryObject *m, PyObject *args)
{
    unsigned long long addr, len;
    int check = 0;
    if (!PyArg_ParseTuple(args, "KK|p", &addr, &len, &check) || memory_check(m, m->lo, 0, 0))
        return NULL;
    if (m->readonly || addr >= m->size || !len)
        Py_RETURN_NONE;
    if (len > m->size - addr)
        len = m->size - addr;
    if (prot_reset(m, addr, len, check) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}

#define CAGE_PAGE 4096u   /* the page size a cage is told (getpagesize) */

/* protect(addr, n, prot) -> True if the pages now have `prot` (mprotect); False if
 * protection cannot be real here (a snapshot, a host page larger than a cage's):
 * then nothing changed. EINVAL unaligned, ENOMEM outside the memory or past the cap. */
static PyObject *Memory_protect(MemoryObject *m, PyObject *args)
{
    unsigned long long addr, len;
    int prot;
    if (!PyArg_ParseTuple(args, "KKi", &addr, &len, &prot) || memory_check(m, m->lo, 0, 0))
        return NULL;
    if (m->readonly || host_page > CAGE_PAGE)
        Py_RETURN_FALSE;
    if (addr % host_page || len % host_page)
        return set_errno(EINVAL);
    if (!memory_in_range(m, addr, len))
        return set_errno(ENOMEM);
    if (addr < m->lo) {         /* page 0 stays the null guard */
        len = addr + len > m->lo ? addr + len - m->lo : 0;
        addr = m->lo;
    }
    int want = prot & PROT_WRITE ? PROT_READ | PROT_WRITE
        : prot & (PROT_READ | PROT_EXEC) ? PROT_READ : PROT_NONE;
    if (prot_set(m, addr, addr + len, want, 0) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_TRUE;
}

static PyObject *RangeShare_get_ranges(RangeShareObject *sh, void *unused)
{
    return PyLong_FromLong(sh->ranges);
}

static PyGetSetDef RangeShare_getset[] = {
    {"ranges", (getter)RangeShare_get_ranges, NULL, "ranges its tree's memories hold", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject RangeShareType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.RangeShare",
    .tp_basicsize = sizeof(RangeShareObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_getset = RangeShare_getset,
    .tp_doc = "RangeShare(): the mprotect ranges of one process tree's memories",
};

/* count_ranges_in(share): this memory's ranges count in `share` (its tree's) from now
 * on, against prot_ranges_tree; those it holds already move there. */
static PyObject *Memory_count_ranges_in(MemoryObject *m, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, &RangeShareType)) {
        PyErr_SetString(PyExc_TypeError, "count_ranges_in(RangeShare)");
        return NULL;
    }
    if (m->share)
        m->share->ranges -= m->nprot;
    Py_XSETREF(m->share, (RangeShareObject *)Py_NewRef(arg));
    m->share->ranges += m->nprot;
    Py_RETURN_NONE;
}

/* protections() -> [(start, end, prot)]: the ranges mprotect took rights from. */
static PyObject *Memory_protections(MemoryObject *m, PyObject *unused)
{
    PyObject *out = PyList_New(0);
    for (int i = 0; out && i < m->nprot; i++) {
        PyObject *r = Py_BuildValue("(KKi)", (unsigned long long)m->prot[i].start,
                                    (unsigned long long)m->prot[i].end, m->prot[i].prot);
        if (!r || PyList_Append(out, r) < 0)
            Py_CLEAR(out);
        Py_XDECREF(r);
    }
    return out;
}

static PyObject *Memory_clear_protections(MemoryObject *m, PyObject *unused)
{
    prot_clear_all(m);
    Py_RETURN_NONE;
}

/* pread of /proc/self/mem reads a page whatever its protection (the kernel's forced
 * access), for fork's copy of a parent's PROT_NONE pages. */
static int self_mem_fd = -1;

static int read_protected(uint8_t *to, const uint8_t *from, size_t len)
{
    if (self_mem_fd < 0)
        self_mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    while (len && self_mem_fd >= 0) {
        ssize_t r = pread(self_mem_fd, to, len, (off_t)(uintptr_t)from);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
        to += r;
        from += r;
        len -= (size_t)r;
    }
    if (!len)
        return 0;
    /* no /proc: the page readable for the copy (the GIL held: no mprotect meanwhile) */
    uintptr_t lo = (uintptr_t)from & ~(host_page - 1);
    uintptr_t hi = ((uintptr_t)from + len + host_page - 1) & ~(host_page - 1);
    if (mprotect((void *)lo, hi - lo, PROT_READ) != 0)
        return -1;
    memcpy(to, from, len);
    mprotect((void *)lo, hi - lo, PROT_NONE);
    return 0;
}

/* memmove from src's [addr, addr+len), its PROT_NONE ranges read as read_protected
 * does. With the GIL when src has ranges. */
static int copy_out(MemoryObject *src, uint64_t addr, uint8_t *to, uint64_t len)
{
    uint64_t at = addr, end = addr + len;
    for (int i = 0; i < src->nprot && at < end; i++) {
        ProtRange r = src->prot[i];
        if (r.prot != PROT_NONE || r.end <= at)
            continue;
        if (r.start >= end)
            break;
        uint64_t from = r.start > at ? r.start : at, upto = r.end < end ? r.end : end;
        memmove(to + (at - addr), src->base + at, (size_t)(from - at));
        if (read_protected(to + (from - addr), src->base + from, (size_t)(upto - from)) != 0)
            return -1;
        at = upto;
    }
    memmove(to + (at - addr), src->base + at, (size_t)(end - at));
    return 0;
}

/* inherit_protections(parent): a fork's child (this memory, holding the parent's
 * copy) gets the parent's protections. */
static PyObject *Memory_inherit_protections(MemoryObject *m, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, &MemoryType)) {
        PyErr_SetString(PyExc_TypeError, "inherit_protections(memory)");
        return NULL;
    }
    MemoryObject *parent = (MemoryObject *)arg;
    if (memory_check(m, m->lo, 0, 0))
        return NULL;
    for (int i = 0; i < parent->nprot; i++) {
        ProtRange r = parent->prot[i];
        if (!memory_in_range(m, r.start, r.end - r.start) ||
            prot_set(m, r.start, r.end, r.prot, 0) != 0) {
            prot_clear_all(m);
            return set_errno(errno == ENOMEM ? ENOMEM : EFAULT);
        }
    }
    Py_RETURN_NONE;
}

static void Memory_dealloc(MemoryObject *m)
{
    guard_forget(m, m->owner && !m->detached);
    if (!m->owner || m->detached) {     /* the pages may be gone: only forgotten */
        prot_ranges_all -= m->nprot;
        if (m->share)
            m->share->ranges -= m->nprot;
        m->nprot = 0;
    }
    prot_clear_all(m);
    Py_CLEAR(m->share);
    PyMem_RawFree(m->prot);
    Py_XDECREF(m->owner);
    Py_TYPE(m)->tp_free((PyObject *)m);
}

static PyObject *Memory_read(MemoryObject *self, PyObject *args)
{
    PyObject *where;
    unsigned long long len;
    MemoryObject *m;
    uint64_t addr;
    if (!PyArg_ParseTuple(args, "OK", &where, &len) || resolve(self, where, &m, &addr) ||
        memory_check(m, addr, len, 0))
        return NULL;
    return PyBytes_FromStringAndSize((const char *)m->base + addr, (Py_ssize_t)len);
}

static PyObject *Memory_write(MemoryObject *self, PyObject *args)
{
    PyObject *where;
    Py_buffer data;
    MemoryObject *m;
    uint64_t addr;
    if (!PyArg_ParseTuple(args, "Oy*", &where, &data))
        return NULL;
    if (resolve(self, where, &m, &addr) || memory_check(m, addr, (uint64_t)data.len, 1)) {
        PyBuffer_Release(&data);
        return NULL;
    }
    memcpy(m->base + addr, data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    Py_RETURN_NONE;
}

/* compare_exchange_u32(addr, expected, new) -> the word's value before: an atomic
 * compare-and-swap of a 32-bit word, as the cage's threads' own atomics see it (the
 * owner word of a priority-inheritance futex). */
static PyObject *Memory_compare_exchange_u32(MemoryObject *self, PyObject *args)
{
    PyObject *where;
    unsigned int expected, desired;
    MemoryObject *m;
    uint64_t addr;
    if (!PyArg_ParseTuple(args, "OII", &where, &expected, &desired) ||
        resolve(self, where, &m, &addr) || memory_check(m, addr, 4, 1))
        return NULL;
    if (addr % 4) {
        errno = EINVAL;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    uint32_t seen = expected;
    __atomic_compare_exchange_n((uint32_t *)(m->base + addr), &seen, desired, 0,
                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return PyLong_FromUnsignedLong(seen);
}

/* The buffer protocol: the whole valid range [lo, size); each export is a pin. */
static int Memory_getbuffer(MemoryObject *m, Py_buffer *view, int flags)
{
    if (memory_check(m, m->lo, 0, 0))
        return -1;
    memory_refresh(m);   /* pick up growth */
    if (PyBuffer_FillInfo(view, (PyObject *)m, m->base + m->lo, (Py_ssize_t)(m->size - m->lo),
                          m->readonly, flags) < 0)
        return -1;
    m->pins++;
    return 0;
}

static void Memory_releasebuffer(MemoryObject *m, Py_buffer *view)
{
    if (--m->pins == 0 && m->detached)
        Py_CLEAR(m->owner);
}

static PyBufferProcs Memory_as_buffer = {
    .bf_getbuffer = (getbufferproc)Memory_getbuffer,
    .bf_releasebuffer = (releasebufferproc)Memory_releasebuffer,
};

/* view(addr, length, writing=False): a memoryview of guest bytes that keeps the memory
 * alive (EFAULT for writing into a read-only one). Arguments parsed by hand:
 * PyArg_ParseTupleAndKeywords costs ~0.4 us a call, and every pipe or socket read makes one. */
static PyObject *Memory_view(MemoryObject *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs < 2 || nargs + nkw > 3 ||
        (nkw && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "writing"))) {
        PyErr_SetString(PyExc_TypeError, "view(addr, length, writing=False)");
        return NULL;
    }
    unsigned long long len = PyLong_AsUnsignedLongLongMask(args[1]);
    if (len == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    int writing = nargs + nkw == 3 ? PyObject_IsTrue(args[2]) : 0;
    MemoryObject *m;
    uint64_t addr;
    if (writing < 0 || resolve(self, args[0], &m, &addr) || memory_check(m, addr, len, writing))
        return NULL;
    PyObject *whole = PyMemoryView_FromObject((PyObject *)m);
    if (!whole)
        return NULL;
    PyObject *part = PySequence_GetSlice(whole, (Py_ssize_t)(addr - m->lo),
                                         (Py_ssize_t)(addr - m->lo + len));
    Py_DECREF(whole);
    return part;
}

/* A NUL-terminated string of at most `limit` bytes (the NUL excluded). Bytes are
 * copied before they are searched, a page at a time: the string returned is one the
 * memory held, even while another cage or thread changes it. */
static PyObject *Memory_cstring(MemoryObject *self, PyObject *args)
{
    PyObject *where;
    unsigned long long limit;
    MemoryObject *m;
    uint64_t addr;
    if (!PyArg_ParseTuple(args, "OK", &where, &limit) || resolve(self, where, &m, &addr) ||
        memory_check(m, addr, 1, 0))    /* its first byte at least (the NUL): from lo on */
        return NULL;
    uint64_t avail = readable_span(m, addr, m->size - addr);   /* up to a PROT_NONE page */
    uint64_t scan = avail < limit + 1 ? avail : limit + 1;
    char *copy = NULL;
    uint64_t have = 0;
    while (have < scan) {
        uint64_t chunk = scan - have < 4096 ? scan - have : 4096;
        char *bigger = PyMem_Realloc(copy, (size_t)(have + chunk));
        if (!bigger) {
            PyMem_Free(copy);
            return PyErr_NoMemory();
        }
        copy = bigger;
        memcpy(copy + have, m->base + addr + have, (size_t)chunk);
        char *nul = memchr(copy + have, 0, (size_t)chunk);
        if (nul) {
            PyObject *out = PyBytes_FromStringAndSize(copy, nul - copy);
            PyMem_Free(copy);
            return out;
        }
        have += chunk;
    }
    PyMem_Free(copy);
    return set_errno(scan == limit + 1 ? ENAMETOOLONG : EFAULT);
}

/* File I/O straight between a host fd and cage memory, with the GIL released
 * (the memory pinned): the common read/write calls cost one host system call. */
enum { IO_READ, IO_WRITE, IO_PREAD, IO_PWRITE };

static PyObject *memory_io(MemoryObject *self, PyObject *args, int op)
{
    int fd;
    PyObject *where;
    unsigned long long len;
    long long off = 0;
    MemoryObject *m;
    uint64_t addr;
    int ok = (op == IO_PREAD || op == IO_PWRITE)
        ? PyArg_ParseTuple(args, "iOKL", &fd, &where, &len, &off)
        : PyArg_ParseTuple(args, "iOK", &fd, &where, &len);
    int reads_fd = op == IO_READ || op == IO_PREAD;
    if (!ok || resolve(self, where, &m, &addr) || memory_check(m, addr, len, reads_fd))
        return NULL;
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    uint8_t *p = m->base + addr;
    ssize_t r;
    int err;
    memory_pin(m);
    Py_BEGIN_ALLOW_THREADS
    switch (op) {
    case IO_READ: r = read(fd, p, (size_t)len); break;
    case IO_WRITE: r = write(fd, p, (size_t)len); break;
    case IO_PREAD: r = pread(fd, p, (size_t)len, (off_t)off); break;
    default: r = pwrite(fd, p, (size_t)len, (off_t)off); break;
    }
    err = errno;
    Py_END_ALLOW_THREADS
    memory_unpin(m);
    if (r < 0)
        return set_errno(err);
    return PyLong_FromSsize_t(r);
}

static PyObject *Memory_read_fd(MemoryObject *m, PyObject *args) { return memory_io(m, args, IO_READ); }
static PyObject *Memory_write_fd(MemoryObject *m, PyObject *args) { return memory_io(m, args, IO_WRITE); }
static PyObject *Memory_pread_fd(MemoryObject *m, PyObject *args) { return memory_io(m, args, IO_PREAD); }
static PyObject *Memory_pwrite_fd(MemoryObject *m, PyObject *args) { return memory_io(m, args, IO_PWRITE); }

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23     /* Linux 5.14; older kernels say EINVAL, ignored */
#endif

/* Make the whole pages of [to, to+len) present and writable in one call, before a copy
 * writes them all: a fork's child copies into fresh pages, which fault one by one
 * otherwise (~1.8 us each here). */
static void populate_for_writing(uint8_t *to, uint64_t len)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)to + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)to + len) & ~(page - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

/* copy_from(src_memory, src_addr, dest_addr, n, checked=False): memmove, both ranges
 * checked (fork copying a parent's memory, mremap moving a region: the source's
 * PROT_NONE pages are copied too). `checked`: a copy a cage asked for
 * (copy_data_between_cages, as process_vm_readv/writev): EFAULT where a source page
 * refuses reads, as where a destination page refuses writes, each piece looked at
 * again under Python's lock (mprotect changes ranges only with it), so a range put
 * there meanwhile is seen too. Python's lock is let go
 * only past this: giving it to a thread on another CPU and taking it back costs more
 * than a short copy (~30 us here, measured). */
#define COPY_KEEPING_GIL_MAX (256u << 10)

static PyObject *Memory_copy_from(MemoryObject *m, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"", "", "", "", "checked", NULL};
    MemoryObject *src;
    unsigned long long src_addr, dest_addr, len;
    int checked = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!KKK|p", names, &MemoryType, &src,
                                     &src_addr, &dest_addr, &len, &checked) ||
        memory_check(src, src->lo, 0, 0) || memory_check(m, dest_addr, len, 1))
        return NULL;
    if (!memory_in_range(src, src_addr, len))   /* protected pages are copied too */
        return set_errno(EFAULT);
    if (checked && src->nprot && prot_denies(src, src_addr, len, 0))
        return set_errno(EFAULT);
    uint8_t *to = m->base + dest_addr;
    memory_pin(src);
    memory_pin(m);
    int failed = 0;
    if (src->nprot) {
        /* Its ranges must stay as they are while copy_out reads around them: the GIL
         * held, but let go between pieces, or a fork of a large memory with one page
         * protected held every other cage's calls for the whole copy (1.6 s for
         * 768 MiB here). The pages stay mapped (pinned) whatever happens meanwhile. */
        /* the last piece first when it goes up in the same memory, as memmove would */
        int backwards = src == m && dest_addr > src_addr && dest_addr - src_addr < len;
        uint64_t pieces = (len + COPY_KEEPING_GIL_MAX - 1) / COPY_KEEPING_GIL_MAX;
        for (uint64_t i = 0; i < pieces && !failed; i++) {
            uint64_t done = (backwards ? pieces - 1 - i : i) * COPY_KEEPING_GIL_MAX;
            uint64_t piece = len - done < COPY_KEEPING_GIL_MAX ? len - done : COPY_KEEPING_GIL_MAX;
            if (i) {
                Py_BEGIN_ALLOW_THREADS
                Py_END_ALLOW_THREADS
            }
            if (checked && (prot_denies(src, src_addr + done, piece, 0) ||
                            (m->nprot && prot_denies(m, dest_addr + done, piece, 1)))) {
                failed = 1;
                break;
            }
            populate_for_writing(to + done, piece);
            failed = copy_out(src, src_addr + done, to + done, piece) != 0;
        }
    } else {
        /* No ranges to read around: a plain copy, which never looks at `prot` (another
         * thread's mprotect may be writing it once the lock is let go; a page it
         * protects meanwhile is the fault handler's) */
        PyThreadState *saved = len > COPY_KEEPING_GIL_MAX ? PyEval_SaveThread() : NULL;
        populate_for_writing(to, len);
        memmove(to, src->base + src_addr, (size_t)len);
        if (saved)
            PyEval_RestoreThread(saved);
    }
    memory_unpin(m);
    memory_unpin(src);
    if (failed)
        return set_errno(EFAULT);
    Py_RETURN_NONE;
}

/* map(addr, n, prot, flags, fd, offset): mmap(MAP_FIXED) over guest pages
 * [addr, addr+n), which must lie inside the memory (MAP_SHARED regions). */
static PyObject *Memory_map(MemoryObject *m, PyObject *args)
{
    unsigned long long addr, len;
    int prot, flags, fd;
    long long offset;
    if (!PyArg_ParseTuple(args, "KKiiiL", &addr, &len, &prot, &flags, &fd, &offset) ||
        memory_check(m, m->lo, 0, 0))
        return NULL;
    if (!memory_in_range(m, addr, len))
        return set_errno(EFAULT);
    long page = sysconf(_SC_PAGESIZE);
    if (m->readonly || !len || addr % (uint64_t)page || len % (uint64_t)page)
        return set_errno(EINVAL);
    if (prot_reset(m, addr, len, 0) != 0)   /* a new mapping: what mprotect did there goes */
        return PyErr_SetFromErrno(PyExc_OSError);
    void *want = m->base + addr;
    void *got = mmap(want, (size_t)len, prot, flags | MAP_FIXED, fd, (off_t)offset);
    if (got == MAP_FAILED)
        return PyErr_SetFromErrno(PyExc_OSError);
    if (got != want) {
        munmap(got, (size_t)len);
        return set_errno(EFAULT);
    }
    Py_RETURN_NONE;
}

static PyObject *Memory_size(MemoryObject *m, PyObject *unused)
{
    if (memory_check(m, m->lo, 0, 0))
        return NULL;
    memory_refresh(m);
    return PyLong_FromUnsignedLongLong(m->size);
}

static PyObject *Memory_address(MemoryObject *m, PyObject *unused)
{
    if (memory_check(m, m->lo, 0, 0))
        return NULL;
    return PyLong_FromVoidPtr(m->base);
}

/* A detached memory that nothing pins any more: its pages go back to the host now if
 * it was released with discard (whatever else still holds the engine's memory, a
 * process not yet waited for, holds no RAM), then its owner goes. */
static void memory_let_go(MemoryObject *m)
{
    if (m->discarding && m->owner && !m->readonly) {
        memory_refresh(m);
        uintptr_t end = ((uintptr_t)m->base + m->size) & ~(host_page - 1);
        if (end > (uintptr_t)m->base)
            (void)madvise(m->base, end - (uintptr_t)m->base, MADV_DONTNEED);
    }
    Py_CLEAR(m->owner);
}

/* release(discard=False): the cage ended (or exec'd): accesses fail from now on, the
 * owner goes with the last pin. `discard`: nothing will run over these pages again
 * (not a grate's, whose handlers may still be finishing there), so they go too. */
static PyObject *Memory_release(MemoryObject *m, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"discard", NULL};
    int discard = 0;
    if (args && !PyArg_ParseTupleAndKeywords(args, kwargs, "|p", names, &discard))
        return NULL;
    if (!m->detached) {     /* whoever gets these pages next gets them accessible */
        guard_forget(m, m->owner != NULL);
        prot_clear_all(m);
    }
    m->detached = 1;
    m->discarding = discard;
    if (!m->pins)
        memory_let_go(m);
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------- memory handed on
 *
 * A fork may take the memory of a cage of its tree that ended (Cage.forked): recycle()
 * at the end keeps it, and scrub(keep) at the fork clears everything the child does
 * not get from its parent. Clearing in place what is resident and dropping the rest
 * costs a few microseconds where unmapping all of it cost a TLB shootdown and a fault
 * for each page the parent's copy then wrote (~150 us of a fork, measured). */

/* A memory kept with more resident than this is dropped at once: its RAM goes back
 * rather than waiting, held, for a fork that may never come. */
#define KEEP_RESIDENT_MAX (4u << 20)
#define MINCORE_CHUNK 4096                  /* pages looked at per mincore call */

/* Zero host range [lo, hi), page-aligned: resident pages cleared in place, the others
 * (never touched, or swapped out) dropped. */
static int zero_pages(uint8_t *lo, uint8_t *hi)
{
    unsigned char resident[MINCORE_CHUNK];
    while (lo < hi) {
        size_t pages = (size_t)(hi - lo) / host_page;
        if (pages > MINCORE_CHUNK)
            pages = MINCORE_CHUNK;
        size_t len = pages * host_page;
        if (mincore(lo, len, resident) != 0)
            return madvise(lo, len, MADV_DONTNEED);
        size_t i = 0;
        while (i < pages) {
            size_t j = i;
            while (j < pages && !(resident[j] & 1))
                j++;
            if (j > i && madvise(lo + i * host_page, (j - i) * host_page, MADV_DONTNEED) != 0)
                return -1;
            for (i = j; i < pages && (resident[i] & 1); i++)
                memset(lo + i * host_page, 0, host_page);
        }
        lo += len;
    }
    return 0;
}

/* Zero guest [from, to): the partial pages at the ends here, the whole ones by
 * zero_pages or, `releasing`, given back to the host. */
static int zero_guest(MemoryObject *m, uint64_t from, uint64_t to, int releasing)
{
    uint8_t *a = m->base + from, *b = m->base + to;
    uint8_t *lo = (uint8_t *)(((uintptr_t)a + host_page - 1) & ~(host_page - 1));
    uint8_t *hi = (uint8_t *)((uintptr_t)b & ~(host_page - 1));
    if (lo >= hi) {
        memset(a, 0, (size_t)(b - a));
        return 0;
    }
    memset(a, 0, (size_t)(lo - a));
    memset(hi, 0, (size_t)(b - hi));
    return releasing ? madvise(lo, (size_t)(hi - lo), MADV_DONTNEED) : zero_pages(lo, hi);
}

/* zero(addr, n) and discard(addr, n): guest [addr, addr+n) reads as zeros. zero is
 * for memory about to be used (a new mapping, a grown break): resident pages are cleared
 * in place, the rest dropped, so a mapping the program never touches costs no RAM and
 * no time. discard is for memory let go (munmap): every whole page goes back to the
 * host, as munmap's do on Linux. */
static PyObject *memory_zeroing(MemoryObject *m, PyObject *args, int releasing)
{
    unsigned long long addr, len;
    int unmapping = 0;
    if (!PyArg_ParseTuple(args, releasing ? "KK|p" : "KK", &addr, &len, &unmapping) ||
        memory_check(m, m->lo, 0, 0))
        return NULL;
    if (!memory_in_range(m, addr, len) || m->readonly)
        return set_errno(EFAULT);
    if (!releasing || unmapping) {  /* a new mapping, or none: mprotect's ranges go */
        if (prot_reset(m, addr, len, 0) != 0)
            return PyErr_SetFromErrno(PyExc_OSError);
    } else if (m->nprot && (addr % host_page || len % host_page))
        return set_errno(EINVAL);   /* madvise keeps them: whole pages only */
    memory_pin(m);
    PyThreadState *saved = len > COPY_KEEPING_GIL_MAX ? PyEval_SaveThread() : NULL;
    int failed = zero_guest(m, addr, addr + len, releasing) != 0;
    int err = errno;
    if (saved)
        PyEval_RestoreThread(saved);
    memory_unpin(m);
    if (failed)
        return set_errno(err);
    Py_RETURN_NONE;
}

static PyObject *Memory_zero(MemoryObject *m, PyObject *args) { return memory_zeroing(m, args, 0); }
static PyObject *Memory_discard(MemoryObject *m, PyObject *args) { return memory_zeroing(m, args, 1); }

/* How many bytes of [base, base+len) are resident; -1 if mincore fails. */
static int64_t resident_bytes(uint8_t *base, uint64_t len)
{
    unsigned char resident[MINCORE_CHUNK];
    int64_t total = 0;
    for (uint64_t at = 0; at < len; at += (uint64_t)MINCORE_CHUNK * host_page) {
        uint64_t chunk = len - at;
        if (chunk > (uint64_t)MINCORE_CHUNK * host_page)
            chunk = (uint64_t)MINCORE_CHUNK * host_page;
        if (mincore(base + at, (size_t)chunk, resident) != 0)
            return -1;
        for (uint64_t i = 0; i < (chunk + host_page - 1) / host_page; i++)
            total += (resident[i] & 1) ? (int64_t)host_page : 0;
    }
    return total;
}

/* recycle(): as release(); True if another cage of the tree may take the memory (a
 * shared one that no operation holds: no pin). Page 0 is made accessible again (the
 * next cage guards it anew, or uses it); a memory with much resident is zeroed now. */
static PyObject *Memory_recycle(MemoryObject *m, PyObject *unused)
{
    int ok = 0;
    if (!m->detached && !m->pins && m->shared && !m->readonly) {
        memory_refresh(m);
        int guarded = m->guard != 0;
        ok = guard_forget(m, 1) == 0;
        if (ok && guarded)
            memset(m->base, 0, host_page);
        int64_t resident = ok ? resident_bytes(m->base, m->size) : 0;
        if (ok && (resident < 0 || resident > KEEP_RESIDENT_MAX))
            ok = madvise(m->base, (size_t)m->size, MADV_DONTNEED) == 0;
    }
    PyObject *done = Memory_release(m, NULL, NULL);
    if (!done)
        return NULL;
    Py_DECREF(done);
    return PyBool_FromLong(ok);
}

/* scrub(keep): zero [lowest, size) but for the ranges in `keep` (sorted, disjoint
 * (start, end) pairs inside it): what a fork's child gets from its parent. */
static PyObject *Memory_scrub(MemoryObject *m, PyObject *keep)
{
    PyObject *seq = PySequence_Fast(keep, "scrub(keep): a sequence of (start, end)");
    if (!seq)
        return NULL;
    if (memory_check(m, m->lo, 0, 1)) {
        Py_DECREF(seq);
        return NULL;
    }
    memory_refresh(m);
    uint64_t at = 0;          /* the end of the last range kept */
    int failed = 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i <= n && !failed; i++) {
        unsigned long long start = m->size, end = m->size;
        if (i < n && !PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "KK", &start, &end)) {
            Py_DECREF(seq);
            return NULL;
        }
        if (start < at || end < start) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_ValueError, "scrub(keep): ranges out of order");
            return NULL;
        }
        if (end > m->size) {   /* the parent grew past the child meanwhile (another thread) */
            Py_DECREF(seq);
            return set_errno(EFAULT);
        }
        uint64_t from = at > m->lo ? at : m->lo;      /* never page 0 while it is guarded */
        failed = start > from && zero_guest(m, from, start, 0) != 0;
        at = end;
    }
    Py_DECREF(seq);
    if (failed)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}

/* guard_null_page(): make page 0 inaccessible (see "the null page"); False when
 * it cannot be (a snapshot, a page size over the memory, no free slot). */
static PyObject *Memory_guard_null_page(MemoryObject *m, PyObject *unused)
{
    if (memory_check(m, m->lo, 0, 0))
        return NULL;
    if (m->readonly || m->guard || m->lo || m->size < host_page)
        return PyBool_FromLong(m->guard != 0);
    pthread_mutex_lock(&guard_lock);
    int slot = 0;
    while (slot < GUARD_SLOTS && guarded[slot])
        slot++;
    int ok = slot < GUARD_SLOTS && mprotect(m->base, host_page, PROT_NONE) == 0;
    if (ok) {
        drop_stale_hit(&guard_hit[slot]);
        __atomic_store_n(&guarded[slot], (uintptr_t)m->base, __ATOMIC_RELEASE);
        m->guard = slot + 1;
        m->lo = host_page;
    }
    pthread_mutex_unlock(&guard_lock);
    return PyBool_FromLong(ok);
}

static PyObject *Memory_null_page_touched(MemoryObject *m, PyObject *unused)
{
    return PyLong_FromLong(guard_taken(m));
}

static PyObject *Memory_get_lowest(MemoryObject *m, void *unused)
{
    return PyLong_FromUnsignedLongLong(m->lo);
}

static PyGetSetDef Memory_getset[] = {
    {"lowest", (getter)Memory_get_lowest, NULL, "lowest address the host may use", NULL},
    {NULL}
};

static PyMethodDef Memory_methods[] = {
    {"guard_null_page", (PyCFunction)Memory_guard_null_page, METH_NOARGS,
     "make page 0 inaccessible, so that a null dereference is SIGSEGV; True if it is"},
    {"null_page_touched", (PyCFunction)Memory_null_page_touched, METH_NOARGS,
     "whether host code touched the guarded page (1) or a protected one (2) since the last "
     "look (0: neither); then guards it again"},
    {"read", (PyCFunction)Memory_read, METH_VARARGS, "read(addr, n) -> bytes"},
    {"write", (PyCFunction)Memory_write, METH_VARARGS, "write(addr, data)"},
    {"compare_exchange_u32", (PyCFunction)Memory_compare_exchange_u32, METH_VARARGS,
     "compare_exchange_u32(addr, expected, new) -> the 32-bit word before, swapped if it was expected"},
    {"view", (PyCFunction)(void (*)(void))Memory_view, METH_FASTCALL | METH_KEYWORDS,
     "view(addr, n, writing=False) -> memoryview (EFAULT for writing into a read-only one)"},
    {"cstring", (PyCFunction)Memory_cstring, METH_VARARGS, "cstring(addr, limit) -> bytes"},
    {"read_fd", (PyCFunction)Memory_read_fd, METH_VARARGS, "read_fd(fd, addr, n): read(2) into memory"},
    {"write_fd", (PyCFunction)Memory_write_fd, METH_VARARGS, "write_fd(fd, addr, n): write(2) from memory"},
    {"pread_fd", (PyCFunction)Memory_pread_fd, METH_VARARGS, "pread_fd(fd, addr, n, offset)"},
    {"pwrite_fd", (PyCFunction)Memory_pwrite_fd, METH_VARARGS, "pwrite_fd(fd, addr, n, offset)"},
    {"zero", (PyCFunction)Memory_zero, METH_VARARGS,
     "zero(addr, n): reads as zeros; resident pages cleared, the others dropped"},
    {"discard", (PyCFunction)Memory_discard, METH_VARARGS,
     "discard(addr, n, unmapping=False): reads as zeros; whole pages go back to the host "
     "(unmapping: and what mprotect did there goes)"},
    {"protect", (PyCFunction)Memory_protect, METH_VARARGS,
     "protect(addr, n, prot) -> True if the pages now have prot (mprotect); False: not here"},
    {"count_ranges_in", (PyCFunction)Memory_count_ranges_in, METH_O,
     "count_ranges_in(share): its mprotect ranges count in its tree's RangeShare"},
    {"protections", (PyCFunction)Memory_protections, METH_NOARGS,
     "protections() -> [(start, end, prot)] that mprotect took rights from"},
    {"unprotect", (PyCFunction)Memory_unprotect, METH_VARARGS,
     "unprotect(addr, n, check=False): mprotect's ranges there undone (ENOMEM: none)"},
    {"clear_protections", (PyCFunction)Memory_clear_protections, METH_NOARGS,
     "every page accessible again"},
    {"inherit_protections", (PyCFunction)Memory_inherit_protections, METH_O,
     "inherit_protections(parent): a fork's child gets its parent's protections"},
    {"copy_from", (PyCFunction)(void (*)(void))Memory_copy_from, METH_VARARGS | METH_KEYWORDS,
     "copy_from(src_memory, src_addr, dest_addr, n, checked=False)"},
    {"map", (PyCFunction)Memory_map, METH_VARARGS,
     "map(addr, n, prot, flags, fd, offset): mmap(MAP_FIXED) over guest pages"},
    {"size", (PyCFunction)Memory_size, METH_NOARGS, "current size in bytes"},
    {"address", (PyCFunction)Memory_address, METH_NOARGS, "host address of byte 0"},
    {"release", (PyCFunction)(void (*)(void))Memory_release, METH_VARARGS | METH_KEYWORDS,
     "release(discard=False): the cage ended: refuse accesses (discard: free the pages)"},
    {"recycle", (PyCFunction)Memory_recycle, METH_NOARGS,
     "release(); True if nothing holds it, so that a fork may take it (then scrub)"},
    {"scrub", (PyCFunction)Memory_scrub, METH_O,
     "scrub(keep): zero all but the sorted (start, end) ranges in keep"},
    {"shared", (PyCFunction)Memory_shared, METH_VARARGS | METH_CLASS,
     "shared(sharedmemory_address, owner): a wasmtime_sharedmemory_t kept alive by owner"},
    {"snapshot", (PyCFunction)Memory_snapshot, METH_VARARGS | METH_CLASS,
     "snapshot(data, origin): read-only host bytes standing for guest [origin, +len)"},
    {NULL}
};

static PyTypeObject MemoryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.Memory",
    .tp_basicsize = sizeof(MemoryObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Bounds-checked view of a cage's linear memory: Memory(context_address, wasmtime_memory_bytes, owner)",
    .tp_new = Memory_new,
    .tp_dealloc = (destructor)Memory_dealloc,
    .tp_as_buffer = &Memory_as_buffer,
    .tp_methods = Memory_methods,
    .tp_getset = Memory_getset,
};

/* ------------------------------------------------------------------ Grate */

/* A wasm grate's workers: instances of the grate's module, each in a Store of
 * its own with its own stack region, whose linear memories map the same pages
 * as the grate's (Python sets that up). A thread calling into the grate takes
 * a free worker, or the one it already holds (wasm -> host -> wasm re-entry),
 * or has Python make a new one; so a Store is never used by two threads at
 * once, the grate's own thread never shares one, and a handler blocked in a
 * forwarded call (wait4, a pipe read) does not stop other cages' calls. */
#define MAX_WORKERS 64

typedef struct {
    void *ctx;                 /* wasmtime_context_t* of the worker's store */
    wt_func_t dispatcher;      /* its pass_fptr_to_wt export */
    MemoryObject *memory;
    PyObject *on_failure;      /* callable(error_address, trap_address) -> None */
    pthread_t owner;
    int depth;                 /* nested calls by `owner`; 0: free */
} Worker;

typedef struct {
    PyObject_HEAD
    pthread_mutex_t lock;
    pthread_cond_t freed;
    int returns_i64;           /* dispatchers return int or long long */
    int dead;                  /* the grate ended: its handlers fail with ENOSYS */
    int released;              /* dead and idle: the references below are dropped */
    MemoryObject *grate_memory;
    PyObject *make_worker;     /* callable() -> (context, func_bytes, Memory, on_failure) */
    int nworkers;
    Worker workers[MAX_WORKERS];
} GrateObject;

static PyTypeObject GrateType;
static PyTypeObject SlotType;

static PyObject *Grate_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    int returns_i64;
    PyObject *grate_memory, *make_worker;
    if (!PyArg_ParseTuple(args, "pO!O", &returns_i64, &MemoryType, &grate_memory, &make_worker))
        return NULL;
    GrateObject *g = (GrateObject *)type->tp_alloc(type, 0);
    if (!g)
        return NULL;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->freed, NULL);
    g->returns_i64 = returns_i64;
    /* Pinned: handlers run on other cages' threads and make calls through the grate's
     * own slot, so the grate's pages must outlive its cage while any of them runs. */
    g->grate_memory = (MemoryObject *)grate_memory;
    memory_pin(g->grate_memory);
    g->make_worker = Py_NewRef(make_worker);
    return (PyObject *)g;
}

static void Grate_dealloc(GrateObject *g)
{
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->freed);
    for (int i = 0; i < g->nworkers; i++) {
        Py_XDECREF(g->workers[i].memory);
        Py_XDECREF(g->workers[i].on_failure);
    }
    if (g->grate_memory)
        memory_unpin(g->grate_memory);
    Py_XDECREF(g->make_worker);
    Py_TYPE(g)->tp_free((PyObject *)g);
}

/* Have Python make one more worker (with the GIL; called without the lock). */
static int new_worker(GrateObject *g, Worker *w)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    int ok = 0;
    PyObject *made = PyObject_CallNoArgs(g->make_worker);
    unsigned long long ctx;
    Py_buffer func;
    PyObject *memory, *on_failure;
    if (made && PyArg_ParseTuple(made, "Ky*O!O", &ctx, &func, &MemoryType, &memory, &on_failure)) {
        if (func.len == sizeof(wt_func_t)) {
            w->ctx = (void *)(uintptr_t)ctx;
            memcpy(&w->dispatcher, func.buf, sizeof w->dispatcher);
            w->memory = (MemoryObject *)Py_NewRef(memory);
            w->on_failure = Py_NewRef(on_failure);
            ok = 1;
        }
        PyBuffer_Release(&func);
    }
    if (!ok) {   /* an OSError: the grate ended meanwhile (its memory is gone); else a bug */
        if (!PyErr_ExceptionMatches(PyExc_OSError))
            PyErr_WriteUnraisable(g->make_worker);
        PyErr_Clear();
    }
    Py_XDECREF(made);
    PyGILState_Release(gil);
    return ok;
}

/* Host stack for wasm entered in a Store not yet on the thread's stack.
 *
 * Wasmtime bounds a Store's recursion from where the thread first entered that Store:
 * each Store may use max_wasm_stack (stacks.WASM_CALL_STACK) below that point, whatever
 * other Stores use above it. A call served in a wasm grate enters a worker's Store (its
 * own) from inside the caller's, and that worker's handler may call into another
 * grate's worker, and so on: each took a fresh max_wasm_stack, and three handlers that
 * recursed deep (a grate and two grates of its own) ran the host thread off its stack,
 * a SIGSEGV that ended the Lind process with every tree in it. A Store entered afresh
 * must find max_wasm_stack free, and some for the host code under it (a Python
 * handler its calls reach): `room_needed`, set by Python (set_room_for_wasm,
 * stacks.ROOM_FOR_WASM) before any cage runs; else the call into it fails with ELOOP,
 * as calls nested too deeply do. 0: not checked. */
static size_t room_needed;
static __thread uintptr_t stack_low __attribute__((tls_model("initial-exec")));

static PyObject *mod_set_room_for_wasm(PyObject *self, PyObject *arg)
{
    size_t n = PyLong_AsSize_t(arg);
    if (n == (size_t)-1 && PyErr_Occurred())
        return NULL;
    __atomic_store_n(&room_needed, n, __ATOMIC_RELAXED);
    Py_RETURN_NONE;
}

/* Whether this thread's stack has room for a fresh Store's wasm and the host code
 * under it. */
static int room_for_wasm(void)
{
    size_t need = __atomic_load_n(&room_needed, __ATOMIC_RELAXED);
    if (!need)
        return 1;
    if (!stack_low) {   /* once per host thread (a pooled one keeps its stack) */
        pthread_attr_t attr;
        void *addr = NULL;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstack(&attr, &addr, &size);
            pthread_attr_destroy(&attr);
        }
        stack_low = addr ? (uintptr_t)addr : 1;
    }
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    return here > stack_low && here - stack_low >= need;
}

/* room_for_wasm(): whether a Store entered afresh here (an instance made on this
 * thread, whose start function runs now) finds the stack it may use. */
static PyObject *mod_room_for_wasm(PyObject *self, PyObject *unused)
{
    return PyBool_FromLong(room_for_wasm());
}

/* The worker this thread may use, or NULL with *err: ENOSYS, the grate is dead; EAGAIN, no worker could be made now; ELOOP, the thread has no stack
 * left to enter a Store afresh (room_for_wasm). */
static Worker *take_worker(GrateObject *g, int *err)
{
    pthread_t self = pthread_self();
    *err = ENOSYS;
    pthread_mutex_lock(&g->lock);
    for (;;) {
        if (g->dead) {
            pthread_mutex_unlock(&g->lock);
            return NULL;
        }
        Worker *free_one = NULL;
        for (int i = 0; i < g->nworkers; i++) {
            Worker *w = &g->workers[i];
            if (w->depth && pthread_equal(w->owner, self)) {
                w->depth++;     /* its Store is on this stack already: within its bound */
                pthread_mutex_unlock(&g->lock);
                return w;
            }
            if (!w->depth && (!free_one || (!free_one->ctx && w->ctx)))
                free_one = w;   /* one made already, before a slot to make one in */
        }
        /* A Store entered afresh (a free worker, or a new one whose instance's start
         * function and __lind_worker_start run here too) */
        if (!room_for_wasm()) {
            pthread_mutex_unlock(&g->lock);
            *err = ELOOP;
            return NULL;
        }
        Worker *w = free_one;
        if (!w && g->nworkers < MAX_WORKERS) {
            w = &g->workers[g->nworkers++];
            memset(w, 0, sizeof *w);
        }
        if (w) {
            /* Reserve it; a slot with no worker yet (new, or whose making failed) gets
             * one built without the lock. */
            w->owner = self;
            w->depth = 1;
            pthread_mutex_unlock(&g->lock);
            if (w->ctx || new_worker(g, w))
                return w;
            /* Not made: ENOSYS if the grate ended meanwhile (its memory is gone); else
             * the host could not make one now (memory, an instance): EAGAIN for this
             * call alone, the slot left empty for the next one to try again (a grate
             * marked dead for it answered ENOSYS to every later call of its tree). */
            pthread_mutex_lock(&g->lock);
            w->depth = 0;
            *err = g->dead ? ENOSYS : EAGAIN;
            pthread_cond_broadcast(&g->freed);
            pthread_mutex_unlock(&g->lock);
            return NULL;
        }
        pthread_cond_wait(&g->freed, &g->lock);
    }
}

/* Whether no worker runs a handler (lock held). */
static int grate_idle_locked(GrateObject *g)
{
    for (int i = 0; i < g->nworkers; i++)
        if (g->workers[i].depth)
            return 0;
    return 1;
}

/* A dead grate with no handler running drops what it holds: the worker memories
 * (which keep the worker stores alive) and the grate's memory. With the GIL; once. */
static void grate_release(GrateObject *g)
{
    for (int i = 0; i < g->nworkers; i++) {
        Py_CLEAR(g->workers[i].memory);
        Py_CLEAR(g->workers[i].on_failure);
    }
    if (g->grate_memory) {
        memory_unpin(g->grate_memory);
        g->grate_memory = NULL;
    }
    Py_CLEAR(g->make_worker);
}

static void give_back(GrateObject *g, Worker *w)
{
    pthread_mutex_lock(&g->lock);
    int release = 0;
    if (--w->depth == 0) {
        pthread_cond_signal(&g->freed);
        if (g->dead && !g->released && grate_idle_locked(g))
            release = g->released = 1;
    }
    pthread_mutex_unlock(&g->lock);
    if (release) {   /* the grate ended while this handler ran: the last one out cleans up */
        PyGILState_STATE gil = PyGILState_Ensure();
        grate_release(g);
        PyGILState_Release(gil);
    }
}

static void report_failure(Worker *w, void *err, void *trap)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *r = PyObject_CallFunction(w->on_failure, "KK", (unsigned long long)(uintptr_t)err,
                                        (unsigned long long)(uintptr_t)trap);
    Py_XDECREF(r);
    PyErr_Clear();
    PyGILState_Release(gil);
}

/* Run fn_ptr in the grate for cage `cage_id`. Caller does not hold the GIL. */
static int64_t grate_call(GrateObject *g, uint64_t fn_ptr, int64_t cage_id, const int64_t *a,
                          const int64_t *cages)
{
    int refused;
    Worker *w = take_worker(g, &refused);
    if (!w)
        return -refused;
    wt_val_raw_t v[14];
    v[0].i64 = (int64_t)fn_ptr;
    v[1].i64 = cage_id;
    for (int i = 0; i < 6; i++) {
        v[2 + 2 * i].i64 = a[i];
        v[3 + 2 * i].i64 = cages ? cages[i] : cage_id;
    }
    void *trap = NULL;
    void *err = func_call_unchecked(w->ctx, &w->dispatcher, v, 14, &trap);
    int64_t result;
    if (err || trap) {
        /* A grate that traps fails the call it was handling, nothing more. */
        report_failure(w, err, trap);
        result = -EIO;
    } else {
        result = g->returns_i64 ? v[0].i64 : (int64_t)v[0].i32;
    }
    give_back(g, w);
    return result;
}

/* close(): no call enters the grate any more; what it holds is dropped now, or
 * by the last handler still running when it returns. Nobody waits for the GIL
 * while holding g->lock, so taking the lock with the GIL held cannot deadlock. */
static PyObject *Grate_close(GrateObject *g, PyObject *unused)
{
    pthread_mutex_lock(&g->lock);
    g->dead = 1;
    int release = !g->released && grate_idle_locked(g);
    if (release)
        g->released = 1;
    pthread_cond_broadcast(&g->freed);
    pthread_mutex_unlock(&g->lock);
    if (release)
        grate_release(g);
    Py_RETURN_NONE;
}

static PyMethodDef Grate_methods[] = {
    {"close", (PyCFunction)Grate_close, METH_NOARGS,
     "refuse further calls (ENOSYS); drop the workers once none is running"},
    {NULL}
};

static PyTypeObject GrateType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.Grate",
    .tp_basicsize = sizeof(GrateObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A wasm grate's workers: Grate(returns_i64, grate_memory, make_worker)",
    .tp_new = Grate_new,
    .tp_dealloc = (destructor)Grate_dealloc,
    .tp_methods = Grate_methods,
};

/* One registered handler: a function pointer inside a Grate. As a table entry it
 * is served in C (FAST_GRATE); called from Python it takes (cage, a1..a6), where
 * an argument that is a threei.Address names the cage its memory belongs to. */
typedef struct GrateHandlerObject {
    PyObject_HEAD
    GrateObject *grate;
    uint64_t fn_ptr;
} GrateHandlerObject;

static PyTypeObject GrateHandlerType;

static PyObject *GrateHandler_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PyObject *grate;
    unsigned long long fn_ptr;
    if (!PyArg_ParseTuple(args, "O!K", &GrateType, &grate, &fn_ptr))
        return NULL;
    GrateHandlerObject *h = (GrateHandlerObject *)type->tp_alloc(type, 0);
    if (!h)
        return NULL;
    h->grate = (GrateObject *)Py_NewRef(grate);
    h->fn_ptr = fn_ptr;
    return (PyObject *)h;
}

static void GrateHandler_dealloc(GrateHandlerObject *h)
{
    Py_XDECREF(h->grate);
    Py_TYPE(h)->tp_free((PyObject *)h);
}

/* Hazard pointers: a GrateHandler a thread uses without the GIL (from the moment it
 * takes it out of a table entry until its grate call returns) is published in that
 * thread's hazard set. A handler no table holds any more is freed by Python's sweep
 * (grate_worker.py) only when no thread has it there, so a call racing the entry's
 * replacement never finds it freed, while replaced handlers do not pile up (a cage
 * registering handler after handler would otherwise take the host's memory). Calls
 * nest (make_threei_call from a handler): one slot per level. */
#define HAZARD_LEVELS 72    /* MAX_NESTING and the dispatch that began them */

typedef struct Hazards {
    GrateHandlerObject *used[HAZARD_LEVELS];
    int depth;
    struct Hazards *next, *prev;
} Hazards;

static pthread_mutex_t hazards_lock = PTHREAD_MUTEX_INITIALIZER;
static Hazards *all_hazards;
static pthread_key_t hazards_key;
static pthread_once_t hazards_once = PTHREAD_ONCE_INIT;
static __thread Hazards *my_hazards;

static void hazards_forget(void *set)
{
    Hazards *h = set;
    pthread_mutex_lock(&hazards_lock);
    if (h->prev)
        h->prev->next = h->next;
    else
        all_hazards = h->next;
    if (h->next)
        h->next->prev = h->prev;
    pthread_mutex_unlock(&hazards_lock);
    free(h);
}

static void hazards_key_make(void)
{
    pthread_key_create(&hazards_key, hazards_forget);
}

/* The handler in `*slot` (an entry's), held for this thread; NULL if it cannot. */
static GrateHandlerObject *hold_handler(GrateHandlerObject **slot)
{
    Hazards *mine = my_hazards;
    if (!mine) {
        pthread_once(&hazards_once, hazards_key_make);
        mine = calloc(1, sizeof *mine);
        if (!mine)
            return NULL;
        pthread_mutex_lock(&hazards_lock);
        mine->next = all_hazards;
        if (all_hazards)
            all_hazards->prev = mine;
        all_hazards = mine;
        pthread_mutex_unlock(&hazards_lock);
        pthread_setspecific(hazards_key, mine);   /* freed when the thread ends */
        my_hazards = mine;
    }
    if (mine->depth >= HAZARD_LEVELS)
        return NULL;
    GrateHandlerObject *h = __atomic_load_n(slot, __ATOMIC_SEQ_CST);
    for (;;) {   /* published, then still the entry's: the sweep sees it from now on */
        __atomic_store_n(&mine->used[mine->depth], h, __ATOMIC_SEQ_CST);
        GrateHandlerObject *again = __atomic_load_n(slot, __ATOMIC_SEQ_CST);
        if (again == h)
            break;
        h = again;
    }
    mine->depth++;
    return h;
}

static void let_go_handler(void)
{
    Hazards *mine = my_hazards;
    mine->depth--;
    __atomic_store_n(&mine->used[mine->depth], NULL, __ATOMIC_RELEASE);
}

/* handler_in_use(h): whether a thread holds `h` (GIL held, by the sweep). */
static PyObject *mod_handler_in_use(PyObject *mod, PyObject *handler)
{
    int used = 0;
    pthread_mutex_lock(&hazards_lock);
    for (Hazards *h = all_hazards; h && !used; h = h->next)
        for (int i = 0; i < HAZARD_LEVELS && !used; i++)
            used = __atomic_load_n(&h->used[i], __ATOMIC_SEQ_CST) == (GrateHandlerObject *)handler;
    pthread_mutex_unlock(&hazards_lock);
    return PyBool_FromLong(used);
}

static int long_attr(PyObject *obj, const char *name, int64_t *out)
{
    PyObject *v = PyObject_GetAttrString(obj, name);
    if (!v)
        return -1;
    *out = PyLong_AsLongLong(v);
    Py_DECREF(v);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static PyObject *GrateHandler_call(GrateHandlerObject *h, PyObject *args, PyObject *kw)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n < 1 || n > 7 || kw) {
        PyErr_SetString(PyExc_TypeError, "GrateHandler(cage, a1..a6)");
        return NULL;
    }
    int64_t cage_id, a[6] = {0}, cages[6];
    if (long_attr(PyTuple_GET_ITEM(args, 0), "id", &cage_id))
        return NULL;
    for (Py_ssize_t i = 0; i < 6; i++) {
        cages[i] = cage_id;
        if (i + 1 >= n)
            continue;
        PyObject *arg = PyTuple_GET_ITEM(args, i + 1);
        a[i] = (int64_t)PyLong_AsUnsignedLongLongMask(arg);
        if (PyErr_Occurred())
            return NULL;
        if (!PyLong_CheckExact(arg) && PyObject_HasAttrString(arg, "cage_id") &&
            long_attr(arg, "cage_id", &cages[i]))
            return NULL;
    }
    int64_t r;
    Py_BEGIN_ALLOW_THREADS
    r = grate_call(h->grate, h->fn_ptr, cage_id, a, cages);
    Py_END_ALLOW_THREADS
    return PyLong_FromLongLong(r);
}

static PyObject *GrateHandler_get_grate(GrateHandlerObject *h, void *unused)
{
    return Py_NewRef(h->grate);
}

static PyObject *GrateHandler_get_fn_ptr(GrateHandlerObject *h, void *unused)
{
    return PyLong_FromUnsignedLongLong(h->fn_ptr);
}

static PyGetSetDef GrateHandler_getset[] = {
    {"grate", (getter)GrateHandler_get_grate, NULL, "the Grate it runs in", NULL},
    {"fn_ptr", (getter)GrateHandler_get_fn_ptr, NULL, "function pointer in the grate", NULL},
    {NULL}
};

static PyTypeObject GrateHandlerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.GrateHandler",
    .tp_basicsize = sizeof(GrateHandlerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A handler inside a wasm grate: GrateHandler(grate, fn_ptr)",
    .tp_new = GrateHandler_new,
    .tp_dealloc = (destructor)GrateHandler_dealloc,
    .tp_call = (ternaryfunc)GrateHandler_call,
    .tp_getset = GrateHandler_getset,
};

/* ---------------------------------------------------------------- Slot/3i */

/* The trampoline reads `fast` and `grate` without the GIL while an ancestor grate
 * may be changing the entry (see entry_store); `handler` only with the GIL. */
typedef struct {
    PyObject *handler;   /* callable(cage, a1..a6) -> int, or NULL */
    uint8_t fast;
    struct GrateHandlerObject *grate;  /* FAST_GRATE's target, taken with hold_handler:
                                        * freed only when no thread holds it */
    int64_t owner;       /* who installed it: 0 the microvisor, else a grate (see ops.py) */
} Entry;

/* The part of a cage's fd table the fast entries may use: host fd, access, and what
 * kind of file it is, which says how a read or write that would block is made. */
#define FD_MIRROR 1024
#define SHARED_RANGES 64
#define FD_READ 1
#define FD_WRITE 2

/* IO_PLAIN never waits (regular files, /dev/null). IO_PIPE is tried without
 * blocking (RWF_NOWAIT) and, when its host description is blocking, waited for here
 * beside the cage's wake eventfd, so a signal or a kill ends the wait. IO_NONBLOCKING
 * is a file whose host fd never blocks (a socket, an eventfd): whether the cage's
 * description does is kept in `descriptions`. IO_TTY reads are the Python handler's
 * (it polls first). */
enum { IO_PLAIN, IO_PIPE, IO_NONBLOCKING, IO_TTY, IO_KINDS };

/* An IO_NONBLOCKING description's wait mode, by the id fdtable gave it (0: none). */
enum { DESC_BLOCKING, DESC_NONBLOCKING, DESC_PYTHON };
#define DESCRIPTIONS 65536
static uint8_t descriptions[DESCRIPTIONS];

typedef struct {
    int32_t host_fd;     /* -1: not mirrored, the Python handler decides */
    uint8_t access;
    uint8_t kind;
    uint16_t description;
} FdMirror;

/* Who holds a fd number below FD_MIRROR (see "file opens"). */
enum { FD_FREE, FD_PYTHON, FD_OPENING, FD_OPENED_HERE };

/* A file the trampoline opened and Python has not adopted yet. */
typedef struct {
    int host_fd;
    int flags;           /* the guest's open flags, as its OpenFile keeps them */
    int cloexec;
    int is_dir;
    char path[];         /* normalised guest path */
} OpenedHere;

/* The mounts of a cage's file system, longest guest prefix first, with host
 * directory fds of their own: shared by the cages of a tree, freed with the last. */
typedef struct {
    char *guest;
    size_t len;
    int fd;
    int writes;          /* opens for writing may be made here (FileSystem.trampoline_mounts) */
} MountEntry;

typedef struct {
    int refs;
    int count;
    MountEntry m[];
} MountTable;

#define PATH_BYTES 4096

/* One process tree's part of the host-fd budget (FdShare, below). */
typedef struct FdShareObject FdShareObject;

typedef struct {
    PyObject_HEAD
    PyObject *cage;        /* the Python Cage passed to handlers */
    MemoryObject *memory;  /* the cage's own memory, for the fast I/O entries */
    int64_t ids[FAST_COUNT];
    int64_t saved_uid;     /* the cage's saved set-user-id (set_ids), for may_act_for */
    int64_t saved_gid;     /* and its saved set-group-id */
    int64_t fd_limit;
    FdMirror fds[FD_MIRROR];
    uint8_t reads_to_poll_first[FD_MIRROR];   /* see waiting_io */
    int exiting;
    int wake_fd;           /* eventfd written when a wait must end (signal, kill); -1
                            * until made. Used under wake_lock: */
    int wake_users;        /* waits polling it now (it is closed after the last) */
    int wake_closed;       /* the cage ended: no new wait may use it */
    pthread_mutex_t wake_lock;
    int futex_waiters;     /* threads in a futex wait through this slot now */
    int signals_quiet;     /* nothing pending for the cage: masks may change here */
    uint64_t memory_charged; /* bytes of its memory charged to its budget (epoch ticks) */
    /* The cage's MAP_SHARED ranges, which decide how a futex word is keyed (see
     * "futexes"); shared_count -1: more than fit, the handler decides. */
    pthread_mutex_t ranges_lock;
    int shared_count;
    uint64_t shared_start[SHARED_RANGES], shared_end[SHARED_RANGES];
    PyObject *trap_message;
    /* File opens served here; under files_lock: */
    pthread_mutex_t files_lock;
    MountTable *mounts;    /* NULL: every open goes to Python */
    char cwd[PATH_BYTES];  /* absolute, normalised */
    size_t cwd_len;
    char *dir_paths[FD_MIRROR]; /* the guest path of a directory Python holds at the fd
                                 * (fdtable's OpenFile.path), which *at calls made from
                                 * that fd are resolved against, here as there */
    int64_t open_limit;    /* RLIMIT_NOFILE's soft limit */
    int files_closed;      /* the cage's fd table was emptied at its end */
    int64_t listed_id;     /* the id it is listed by in the registry below; -1: none */
    int64_t domain;        /* its Runtime's key: each Runtime numbers its cages from 1 */
    int posix_locks;       /* the cage took a POSIX lock: its closes are Python's */
    int file_size_limited; /* RLIMIT_FSIZE is finite: writes are the microvisor's */
    unsigned umask_bits;   /* the cage's umask, for the files its opens create */
    uid_t host_euid;       /* Lind's own ids when the cage began (--isolate changes them */
    gid_t host_egid;       /* before any cage runs): owners fstat maps to the cage's */
    /* argv [0] and the environment [1] as crt1's start-up imports give them: strings
     * each ended by a NUL, and how many (under files_lock) */
    char *startup_strings[2];
    size_t startup_bytes[2];
    uint32_t startup_count[2];
    uint8_t owner[FD_MIRROR];
    OpenedHere *opened[FD_MIRROR];
    FdShareObject *fd_share;  /* its tree's part of the host fds (strong; NULL: none) */
    Entry table[NSYSCALLS];
} SlotObject;


static void forget_opened_here(SlotObject *s);
static int64_t exception_to_errno(SlotObject *s);

/* Slots by (domain, cage id), for make_threei_call served in C (acting for another
 * cage): ids are a Runtime's own, so another Runtime's cage 2 is never this one's.
 * A slot is listed from set_ids until forget(); lookups hold the lock. */
#define REGISTRY_BUCKETS 1024

typedef struct Listed {
    int64_t id;
    SlotObject *slot;
    struct Listed *next;
} Listed;

static Listed *registry[REGISTRY_BUCKETS];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static void registry_remove_locked(SlotObject *s)
{
    if (s->listed_id < 0)
        return;
    Listed **at = &registry[(uint64_t)s->listed_id % REGISTRY_BUCKETS];
    for (; *at; at = &(*at)->next) {
        if ((*at)->slot == s) {
            Listed *gone = *at;
            *at = gone->next;
            free(gone);
            break;
        }
    }
    s->listed_id = -1;
}

static void registry_put(SlotObject *s, int64_t id)
{
    pthread_mutex_lock(&registry_lock);
    for (Listed *l = registry[(uint64_t)id % REGISTRY_BUCKETS]; l; l = l->next) {
        if (l->slot == s && l->id == id) {   /* a cage's id never changes: listed once */
            pthread_mutex_unlock(&registry_lock);
            return;
        }
    }
    Listed *item = malloc(sizeof *item);
    if (!item) {
        pthread_mutex_unlock(&registry_lock);
        return;  /* then make_threei_call for this cage takes the Python path */
    }
    registry_remove_locked(s);
    item->id = id;
    item->slot = s;
    item->next = registry[(uint64_t)id % REGISTRY_BUCKETS];
    registry[(uint64_t)id % REGISTRY_BUCKETS] = item;
    s->listed_id = id;
    pthread_mutex_unlock(&registry_lock);
}

static SlotObject *registry_get_locked(int64_t domain, int64_t id)
{
    for (Listed *l = registry[(uint64_t)id % REGISTRY_BUCKETS]; l; l = l->next)
        if (l->id == id && l->slot->domain == domain)
            return l->slot;
    return NULL;
}

/* Whether `cage` is `self` or one of its descendants (3i's rule for acting on a
 * cage); -1 when a cage on the way is unknown here (Python decides then). */
static int registry_may_touch_locked(int64_t domain, int64_t self, int64_t cage)
{
    for (int depth = 0; depth < 4096; depth++) {
        if (cage == self)
            return 1;
        SlotObject *s = registry_get_locked(domain, cage);
        if (!s)
            return -1;
        cage = s->ids[FAST_GETPPID];
        if (cage <= 0)
            return 0;
    }
    return 0;
}

/* Whether `caller` may act for (or name the memory of) `target`, a cage of its own
 * subtree, as far as their identities go: as Linux lets a process ptrace another
 * (its capabilities, or the target's real, effective and saved uids all the caller's
 * real uid and its real, effective and saved gids all the caller's real gid). A call
 * made for a root cage has root's permission overrides (threei's permission checks):
 * a cage that gave up root and kept a root child could otherwise open and read, as the
 * child, what its mode bits keep from it; and one that kept a child of another group
 * could reach, as the child, what is that group's (a System V queue of mode 0640). */
static int may_act_for(SlotObject *caller, SlotObject *target)
{
    if (caller == target || caller->ids[FAST_GETEUID] == 0)
        return 1;
    int64_t uid = caller->ids[FAST_GETUID], gid = caller->ids[FAST_GETGID];
    return target->ids[FAST_GETUID] == uid && target->ids[FAST_GETEUID] == uid &&
           __atomic_load_n(&target->saved_uid, __ATOMIC_RELAXED) == uid &&
           target->ids[FAST_GETGID] == gid && target->ids[FAST_GETEGID] == gid &&
           __atomic_load_n(&target->saved_gid, __ATOMIC_RELAXED) == gid;
}

/* registry_may_touch_locked, and may_act_for: 1 yes, 0 no, -1 no such cage. */
static int registry_may_act_locked(SlotObject *caller, int64_t cage)
{
    int allowed = registry_may_touch_locked(caller->domain, caller->ids[FAST_GETPID], cage);
    if (allowed != 1)
        return allowed;
    SlotObject *t = registry_get_locked(caller->domain, cage);
    return !t ? -1 : may_act_for(caller, t);
}

static PyObject *Slot_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PyObject *cage;
    long long domain = 0;
    if (!PyArg_ParseTuple(args, "O|L", &cage, &domain))
        return NULL;
    SlotObject *s = (SlotObject *)type->tp_alloc(type, 0);
    if (!s)
        return NULL;
    Py_INCREF(cage);
    s->cage = cage;
    s->listed_id = -1;
    s->domain = domain;
    s->fd_limit = 1024;
    s->wake_fd = -1;
    s->open_limit = 1024;
    s->umask_bits = 022;
    s->host_euid = geteuid();
    s->host_egid = getegid();
    pthread_mutex_init(&s->wake_lock, NULL);
    pthread_mutex_init(&s->ranges_lock, NULL);
    pthread_mutex_init(&s->files_lock, NULL);
    for (int i = 0; i < FD_MIRROR; i++)
        s->fds[i].host_fd = -1;
    return (PyObject *)s;
}

static int Slot_traverse(SlotObject *s, visitproc visit, void *arg)
{
    Py_VISIT(s->cage);
    Py_VISIT(s->memory);
    for (int i = 0; i < NSYSCALLS; i++)
        Py_VISIT(s->table[i].handler);
    return 0;
}

static int Slot_clear(SlotObject *s)
{
    Py_CLEAR(s->cage);
    Py_CLEAR(s->memory);
    Py_CLEAR(s->trap_message);
    for (int i = 0; i < NSYSCALLS; i++)
        Py_CLEAR(s->table[i].handler);
    return 0;
}

static void Slot_dealloc(SlotObject *s)
{
    pthread_mutex_lock(&registry_lock);
    registry_remove_locked(s);
    pthread_mutex_unlock(&registry_lock);
    PyObject_GC_UnTrack(s);
    Slot_clear(s);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    forget_opened_here(s);
    for (int fd = 0; fd < FD_MIRROR; fd++)
        free(s->dir_paths[fd]);
    Py_CLEAR(s->fd_share);      /* after: what it opened was counted there */
    free(s->startup_strings[0]);
    free(s->startup_strings[1]);
    pthread_mutex_destroy(&s->wake_lock);
    pthread_mutex_destroy(&s->ranges_lock);
    pthread_mutex_destroy(&s->files_lock);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

/* Change one entry (GIL held) so that a call read concurrently without the GIL sees
 * either the old or the new way to serve it: a reader that saw FAST_GRATE finds a
 * GrateHandler in `grate` whatever happens next, and the fast code says FAST_GRATE
 * only once `grate` is set. */
static void entry_store(Entry *e, PyObject *handler, int fast)
{
    if (fast == FAST_GRATE)
        __atomic_store_n(&e->grate, (GrateHandlerObject *)handler, __ATOMIC_RELEASE);
    else
        __atomic_store_n(&e->fast, (uint8_t)FAST_NONE, __ATOMIC_RELEASE);
    Py_XSETREF(e->handler, Py_XNewRef(handler));
    __atomic_store_n(&e->fast, (uint8_t)fast, __ATOMIC_RELEASE);
}

static PyObject *Slot_set(SlotObject *s, PyObject *args)
{
    int nr, fast;
    PyObject *handler;
    long long owner = 0;
    if (!PyArg_ParseTuple(args, "iOi|L", &nr, &handler, &fast, &owner))
        return NULL;
    if (nr < 0 || nr >= NSYSCALLS || fast < 0 || fast >= FAST_COUNT) {
        PyErr_SetString(PyExc_ValueError, "syscall number or fast code out of range");
        return NULL;
    }
    if (fast == FAST_GRATE && !PyObject_TypeCheck(handler, &GrateHandlerType)) {
        PyErr_SetString(PyExc_TypeError, "FAST_GRATE needs a GrateHandler");
        return NULL;
    }
    entry_store(&s->table[nr], handler == Py_None ? NULL : handler, fast);
    s->table[nr].owner = owner;
    Py_RETURN_NONE;
}

/* The entry for a syscall number given from Python, or NULL with ValueError set. */
static Entry *slot_entry(SlotObject *s, PyObject *arg)
{
    long nr = PyLong_AsLong(arg);
    if (nr == -1 && PyErr_Occurred())
        return NULL;
    if (nr < 0 || nr >= NSYSCALLS) {
        PyErr_SetString(PyExc_ValueError, "syscall number out of range");
        return NULL;
    }
    return &s->table[nr];
}

static PyObject *Slot_owner(SlotObject *s, PyObject *arg)
{
    Entry *e = slot_entry(s, arg);
    return e ? PyLong_FromLongLong(e->owner) : NULL;
}

static PyObject *Slot_get(SlotObject *s, PyObject *arg)
{
    Entry *e = slot_entry(s, arg);
    if (!e)
        return NULL;
    return Py_BuildValue("(Oi)", e->handler ? e->handler : Py_None, (int)e->fast);
}

static PyObject *Slot_set_ids(SlotObject *s, PyObject *args)
{
    long long pid, ppid, uid, euid, gid, egid, suid = -1, sgid = -1;
    if (!PyArg_ParseTuple(args, "LLLLLL|LL", &pid, &ppid, &uid, &euid, &gid, &egid, &suid,
                          &sgid))
        return NULL;
    __atomic_store_n(&s->saved_uid, suid < 0 ? euid : suid, __ATOMIC_RELAXED);
    __atomic_store_n(&s->saved_gid, sgid < 0 ? egid : sgid, __ATOMIC_RELAXED);
    s->ids[FAST_GETPID] = pid;
    s->ids[FAST_GETPPID] = ppid;
    s->ids[FAST_GETUID] = uid;
    s->ids[FAST_GETEUID] = euid;
    s->ids[FAST_GETGID] = gid;
    s->ids[FAST_GETEGID] = egid;
    registry_put(s, pid);
    Py_RETURN_NONE;
}

static PyObject *Slot_set_fd_limit(SlotObject *s, PyObject *arg)
{
    long long v = PyLong_AsLongLong(arg);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    s->fd_limit = v;
    Py_RETURN_NONE;
}

static PyObject *Slot_set_memory(SlotObject *s, PyObject *arg)
{
    if (arg != Py_None && !PyObject_TypeCheck(arg, &MemoryType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Memory or None");
        return NULL;
    }
    Py_XSETREF(s->memory, arg == Py_None ? NULL : (MemoryObject *)Py_NewRef(arg));
    Py_RETURN_NONE;
}

/* mirror_fd(fd, host_fd, readable, writable, kind, description, owned=True); host_fd
 * -1 removes the mirror; `owned` False: Python closed the fd, its number is free. */
static void set_dir_path_locked(SlotObject *s, int fd, char *path);

static PyObject *Slot_mirror_fd(SlotObject *s, PyObject *args)
{
    int fd, host_fd, readable, writable, kind = IO_PLAIN, description = 0, owned = 1;
    const char *dir_path = NULL;
    Py_ssize_t dir_path_len = 0;
    if (!PyArg_ParseTuple(args, "iipp|iipz#", &fd, &host_fd, &readable, &writable, &kind,
                          &description, &owned, &dir_path, &dir_path_len))
        return NULL;
    if (kind < 0 || kind >= IO_KINDS || description < 0 || description >= DESCRIPTIONS) {
        PyErr_SetString(PyExc_ValueError, "unknown I/O kind or description");
        return NULL;
    }
    /* only an absolute path without a NUL is ever joined to a name here */
    char *dir_copy = dir_path && dir_path_len > 0 && dir_path_len < PATH_BYTES &&
                     dir_path[0] == '/' && (Py_ssize_t)strlen(dir_path) == dir_path_len
                     ? strdup(dir_path) : NULL;
    if (fd >= 0 && fd < FD_MIRROR) {
        s->fds[fd].host_fd = host_fd;
        s->reads_to_poll_first[fd] = 0;
        s->fds[fd].access = (uint8_t)((readable ? FD_READ : 0) | (writable ? FD_WRITE : 0));
        s->fds[fd].kind = (uint8_t)kind;
        s->fds[fd].description = (uint16_t)description;
        pthread_mutex_lock(&s->files_lock);
        if (!owned && s->owner[fd] == FD_PYTHON)
            s->owner[fd] = FD_FREE;
        else if (owned && s->owner[fd] == FD_FREE)
            s->owner[fd] = FD_PYTHON;
        set_dir_path_locked(s, fd, dir_copy);
        pthread_mutex_unlock(&s->files_lock);
    } else {
        free(dir_copy);
    }
    Py_RETURN_NONE;
}

/* set_description(id, mode): how reads and writes of description `id` wait. */
static PyObject *set_description(PyObject *unused, PyObject *args)
{
    int id, mode;
    if (!PyArg_ParseTuple(args, "ii", &id, &mode))
        return NULL;
    if (id <= 0 || id >= DESCRIPTIONS || mode < DESC_BLOCKING || mode > DESC_PYTHON) {
        PyErr_SetString(PyExc_ValueError, "bad description id or mode");
        return NULL;
    }
    __atomic_store_n(&descriptions[id], (uint8_t)mode, __ATOMIC_RELEASE);
    Py_RETURN_NONE;
}

/* Wake words: a futex wait cannot poll an eventfd, so each wake eventfd has a word
 * beside it, indexed by its number, that says "written since last drained". A wait
 * on a cage's futex word waits on that word too (futex_waitv), so whatever ends a
 * poll on the eventfd (a signal to take, a kill) ends the futex wait as well. The
 * word is cleared before the eventfd is drained: a write in between leaves it set,
 * which costs one look too many, never a missed wake. */
#define WAKE_WORDS (1 << 20)      /* 4 MiB of zero pages, touched only where fds are */
static uint32_t wake_words[WAKE_WORDS];

/* A new wake eventfd, its word clear; -1 with errno (EMFILE past the words). */
static int new_wake_fd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd >= WAKE_WORDS) {
        close(fd);
        errno = EMFILE;
        return -1;
    }
    if (fd >= 0)
        __atomic_store_n(&wake_words[fd], 0, __ATOMIC_RELEASE);
    return fd;
}

/* Blocking reads. A read of a cage's pipe that had to wait was a poll beside the wake
 * eventfd, then the read: two calls where Linux makes one (poll before each read costs
 * ~24% of a 1-byte round trip natively). A pipe's description (fdtable) may have a
 * blocking twin, its read side opened again (`twins`, by the host fd of the read side
 * it doubles, fd + 1); a read is then one blocking readv of the twin, which a signal
 * or a kill ends as musl ends a cancelled call: the reading thread names itself beside
 * its wake word (`wake_readers`); whoever writes the word then sends that thread
 * CANCEL_SIGNAL, and its handler moves a thread that has not made the call yet -- its PC from
 * cancel_begin, where the word is looked at, to the syscall instruction, where a
 * read restarted after a handler is too -- to `cancelled` (-EINTR). A thread in the
 * read is woken by the signal itself (a restart lands on the syscall instruction); one
 * past it keeps what it read. The word is set before the reader is looked for, and the
 * reader is named before the word is looked at, so one of them sees the other. */
#if defined(__x86_64__)
#define BLOCKING_READS 1
#define CANCEL_SIGNAL (SIGRTMAX - 3)
/* long cancellable_syscall(const uint32_t *word, long nr, long a, long b, long c):
 * syscall nr(a, b, c) unless *word is set (or is set before the call is made): -EINTR */
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".hidden lind_cancellable_syscall\n"
    ".globl lind_cancellable_syscall\n"
    ".type lind_cancellable_syscall,@function\n"
    "lind_cancellable_syscall:\n"
    "    mov %rdi, %r11\n"
    "    mov %rsi, %rax\n"
    "    mov %rdx, %rdi\n"
    "    mov %rcx, %rsi\n"
    "    mov %r8, %rdx\n"
    ".hidden lind_cancel_begin\n"
    ".globl lind_cancel_begin\n"
    "lind_cancel_begin:\n"
    "    cmpl $0, (%r11)\n"
    "    jne lind_cancelled\n"
    "    syscall\n"
    ".hidden lind_cancel_end\n"
    ".globl lind_cancel_end\n"
    "lind_cancel_end:\n"
    "    ret\n"
    ".hidden lind_cancelled\n"
    ".globl lind_cancelled\n"
    "lind_cancelled:\n"
    "    mov $-4, %rax\n"
    "    ret\n"
    ".size lind_cancellable_syscall, .-lind_cancellable_syscall\n");
long lind_cancellable_syscall(const uint32_t *word, long nr, long a, long b, long c);
extern const char lind_cancel_begin[], lind_cancel_end[], lind_cancelled[];

/* By host fd, not by description id: the fast path holds the host fd it took from the
 * mirror (host_fd_hold), which no other file can get while it is held, whereas the id it
 * read beside it may be freed by a close in another thread and given to another tenant's
 * pipe before the twin is looked up (that pipe's twin would then be read). */
#define TWIN_FDS (1 << 20)          /* as HOST_FD_GUARDS: 4 MiB of zero pages */
static int32_t twins[TWIN_FDS];
static int32_t wake_readers[WAKE_WORDS];   /* the tid reading beside each word (0: none) */
static __thread pid_t my_tid;              /* 0: not known (a new thread, a forked child) */
static __thread int cancel_unblocked;
static pthread_once_t cancel_once = PTHREAD_ONCE_INIT;
static int cancel_installed;

static void on_cancel_signal(int sig, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    if (pc >= (uintptr_t)lind_cancel_begin && pc < (uintptr_t)lind_cancel_end)
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)lind_cancelled;
}

static void forget_tid(void)
{
    my_tid = 0;
}

/* The handler goes in once, and only where nobody else handles the signal (an
 * embedding program's own use of it keeps it, and Lind's reads poll as before). */
static void install_cancel_signal(void)
{
    struct sigaction old, action;
    if (sigaction(CANCEL_SIGNAL, NULL, &old) || old.sa_handler != SIG_DFL ||
        (old.sa_flags & SA_SIGINFO))
        return;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_cancel_signal;
    /* SA_RESTART: a stray signal (its reader gone on) leaves other calls as they were */
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(CANCEL_SIGNAL, &action, NULL) == 0 && pthread_atfork(NULL, NULL, forget_tid) == 0)
        cancel_installed = 1;
}

/* Whether this thread may make cancellable calls (the signal handled, and unblocked). */
static int cancel_ready(void)
{
    if (cancel_unblocked)
        return 1;
    pthread_once(&cancel_once, install_cancel_signal);
    if (!cancel_installed)
        return 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, CANCEL_SIGNAL);
    if (pthread_sigmask(SIG_UNBLOCK, &set, NULL))
        return 0;
    cancel_unblocked = 1;
    return 1;
}
#endif

static void signal_wake_fd(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);   /* EAGAIN: already readable */
    (void)r;
    __atomic_store_n(&wake_words[fd], 1, __ATOMIC_SEQ_CST);
#ifdef BLOCKING_READS
    pid_t reader = __atomic_load_n(&wake_readers[fd], __ATOMIC_SEQ_CST);
    if (reader)
        syscall(SYS_tgkill, getpid(), reader, CANCEL_SIGNAL);
#endif
    syscall(SYS_futex, &wake_words[fd], FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0);
}

static int wake_fd_arg(PyObject *arg)
{
    long fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred())
        return -1;
    if (fd < 0 || fd >= WAKE_WORDS) {
        PyErr_SetString(PyExc_ValueError, "not a wake fd");
        return -1;
    }
    return (int)fd;
}

static PyObject *mod_new_wake_fd(PyObject *self, PyObject *unused)
{
    int fd = new_wake_fd();
    return fd < 0 ? PyErr_SetFromErrno(PyExc_OSError) : PyLong_FromLong(fd);
}

static PyObject *mod_signal_wake_fd(PyObject *self, PyObject *arg)
{
    int fd = wake_fd_arg(arg);
    if (fd < 0)
        return NULL;
    signal_wake_fd(fd);
    Py_RETURN_NONE;
}

static PyObject *mod_drain_wake_fd(PyObject *self, PyObject *arg)
{
    int fd = wake_fd_arg(arg);
    if (fd < 0)
        return NULL;
    __atomic_store_n(&wake_words[fd], 0, __ATOMIC_RELEASE);
    uint64_t count;
    ssize_t r = read(fd, &count, sizeof count);   /* EAGAIN: nothing was written */
    (void)r;
    Py_RETURN_NONE;
}

/* A cage thread other than its first has a wake eventfd of its own, so that a signal
 * sent to it ends its wait alone (see use_thread_wake); it is the thread's to close. */
static __thread SlotObject *own_wake_slot;
static __thread int own_wake_fd = -1;

/* The wake eventfd for one wait of the calling thread, or -1 (not made yet, or the
 * cage ended): the thread's own, or the cage's. A cage's fd taken so is not closed
 * before wake_release: the number cannot be reused under a wait made for the cage from
 * another thread. */
static int wake_take(SlotObject *s, int make)
{
    if (own_wake_slot == s)
        return own_wake_fd;
    pthread_mutex_lock(&s->wake_lock);
    if (make && !s->wake_closed && s->wake_fd < 0)
        s->wake_fd = new_wake_fd();
    int fd = s->wake_closed ? -1 : s->wake_fd, err = s->wake_closed ? ESRCH : errno;
    if (fd >= 0)
        s->wake_users++;
    pthread_mutex_unlock(&s->wake_lock);
    errno = err;
    return fd;
}

static int wake_acquire(SlotObject *s)
{
    return wake_take(s, 0);
}

static void wake_release(SlotObject *s)
{
    if (own_wake_slot == s)
        return;
    pthread_mutex_lock(&s->wake_lock);
    if (--s->wake_users == 0 && s->wake_closed && s->wake_fd >= 0) {
        close(s->wake_fd);
        s->wake_fd = -1;
    }
    pthread_mutex_unlock(&s->wake_lock);
}

/* wake_acquire for a wait that cannot be handed to Python (part of a write is done):
 * the cage's wake fd is made if it has none yet. Still -1 (the caller returns what it
 * did) once the cage ended, or when a signal may be pending or a stop came: what
 * announced it found no fd to write. */
static int wake_acquire_made(SlotObject *s)
{
    int fd = wake_acquire(s);
    if (fd >= 0 || own_wake_slot == s)
        return fd;
    fd = wake_take(s, 1);
    if (fd >= 0 && (!__atomic_load_n(&s->signals_quiet, __ATOMIC_SEQ_CST) ||
                    __atomic_load_n(&s->exiting, __ATOMIC_ACQUIRE))) {
        wake_release(s);
        return -1;
    }
    return fd;
}

/* acquire_wake() -> the wake eventfd (made on first use) for a wait in Python, which
 * calls release_wake() after it; ESRCH once the cage has ended. */
static PyObject *Slot_acquire_wake(SlotObject *s, PyObject *unused)
{
    int fd = wake_take(s, 1);
    if (fd < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(fd);
}

static PyObject *Slot_release_wake(SlotObject *s, PyObject *unused)
{
    wake_release(s);
    Py_RETURN_NONE;
}

/* close_wake(): the cage ended; its wake fd goes once no wait uses it. */
static PyObject *Slot_close_wake(SlotObject *s, PyObject *unused)
{
    pthread_mutex_lock(&s->wake_lock);
    s->wake_closed = 1;
    if (s->wake_users == 0 && s->wake_fd >= 0) {
        close(s->wake_fd);
        s->wake_fd = -1;
    }
    pthread_mutex_unlock(&s->wake_lock);
    Py_RETURN_NONE;
}

/* wake(): end the cage's current wait on a host fd (a signal to handle, a kill). */
static PyObject *Slot_wake(SlotObject *s, PyObject *unused)
{
    pthread_mutex_lock(&s->wake_lock);
    if (s->wake_fd >= 0)
        signal_wake_fd(s->wake_fd);
    pthread_mutex_unlock(&s->wake_lock);
    Py_RETURN_NONE;
}

/* Ask the trampoline to stop the cage when the current call returns. */
static PyObject *Slot_stop(SlotObject *s, PyObject *msg)
{
    s->exiting = 1;
    Py_XSETREF(s->trap_message, Py_NewRef(msg));
    Py_RETURN_NONE;
}

/* The whole table of another slot (fork inherits handlers; copy_handler_table). */
static PyObject *Slot_copy_table(SlotObject *s, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, Py_TYPE(s))) {
        PyErr_SetString(PyExc_TypeError, "expected a Slot");
        return NULL;
    }
    SlotObject *src = (SlotObject *)arg;
    for (int i = 0; i < NSYSCALLS; i++) {
        entry_store(&s->table[i], src->table[i].handler, src->table[i].fast);
        s->table[i].owner = src->table[i].owner;
    }
    Py_RETURN_NONE;
}

/* copy_fds(parent): a forked child's fd mirror, its parent's (the same files, shared, and
 * the same RLIMIT_FSIZE): what mirror_fd would make of each of the parent's fds that
 * Python holds, in one call. The caller holds the parent's fd table; the child runs
 * nothing yet. Files the trampoline is opening or opened are not the child's. */
static PyObject *Slot_copy_fds(SlotObject *s, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, Py_TYPE(s))) {
        PyErr_SetString(PyExc_TypeError, "expected a Slot");
        return NULL;
    }
    SlotObject *src = (SlotObject *)arg;
    pthread_mutex_lock(&src->files_lock);
    pthread_mutex_lock(&s->files_lock);
    for (int fd = 0; fd < FD_MIRROR; fd++) {
        if (src->owner[fd] != FD_PYTHON || s->owner[fd] != FD_FREE)
            continue;
        s->fds[fd].access = src->fds[fd].access;
        s->fds[fd].kind = src->fds[fd].kind;
        s->fds[fd].description = src->fds[fd].description;
        __atomic_store_n(&s->fds[fd].host_fd,
                         __atomic_load_n(&src->fds[fd].host_fd, __ATOMIC_ACQUIRE),
                         __ATOMIC_RELEASE);
        s->owner[fd] = FD_PYTHON;
        set_dir_path_locked(s, fd, src->dir_paths[fd] ? strdup(src->dir_paths[fd]) : NULL);
    }
    pthread_mutex_unlock(&s->files_lock);
    pthread_mutex_unlock(&src->files_lock);
    Py_RETURN_NONE;
}

/* Clear a stop (after exec replaced the instance the stop was for). */
static PyObject *Slot_resume(SlotObject *s, PyObject *unused)
{
    s->exiting = 0;
    Py_CLEAR(s->trap_message);
    Py_RETURN_NONE;
}

static int64_t call_python(SlotObject *s, Entry *e, const int64_t *a);
static int64_t call_python_handler(SlotObject *s, Entry *e, const int64_t *a);

/* Host fds the fast paths are using. A fast path takes the host fd a mirror names and
 * makes its calls on it without the GIL, while another thread of the cage may close
 * that fd: the number must not name another file (another tenant's) before the fast
 * path is done with it. So the Python fd table never closes a host fd a cage held:
 * its last close parks the number on an inert file (fdtable), and the number itself is
 * closed by close_host_fd, which waits for the last fast path holding it. */
#define HOST_FD_GUARDS (1 << 20)          /* 4 MiB of zero pages, touched where fds are */
#define HOST_FD_CLOSING 0x80000000u       /* close_host_fd came: the last user closes */
static uint32_t host_fd_users[HOST_FD_GUARDS];

static void host_fd_let_go(int fd)
{
    uint32_t left = __atomic_sub_fetch(&host_fd_users[fd], 1, __ATOMIC_ACQ_REL);
    if (left == HOST_FD_CLOSING &&
        __atomic_compare_exchange_n(&host_fd_users[fd], &left, 0, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        close(fd);
}

/* The host fd `*named` holds (less `bias`), held until host_fd_let_go; -1: none. */
static int host_fd_hold_at(const int32_t *named, int bias)
{
    int fd = __atomic_load_n(named, __ATOMIC_ACQUIRE) - bias;
    if (fd < 0 || fd >= HOST_FD_GUARDS)
        return -1;
    uint32_t users = __atomic_add_fetch(&host_fd_users[fd], 1, __ATOMIC_ACQ_REL);
    if (!(users & HOST_FD_CLOSING) && __atomic_load_n(named, __ATOMIC_ACQUIRE) - bias == fd)
        return fd;
    host_fd_let_go(fd);
    return -1;
}

/* The host fd `f` mirrors, held until host_fd_let_go; -1: none (the handler decides). */
static int host_fd_hold(FdMirror *f)
{
    return host_fd_hold_at(&f->host_fd, 0);
}

/* Close host fd `fd` now, or when the last fast path holding it lets go. */
static void close_when_unused(int fd)
{
    if (fd >= HOST_FD_GUARDS) {
        close(fd);
        return;
    }
    uint32_t users = __atomic_or_fetch(&host_fd_users[fd], HOST_FD_CLOSING, __ATOMIC_ACQ_REL);
    if (users == HOST_FD_CLOSING &&
        __atomic_compare_exchange_n(&host_fd_users[fd], &users, 0, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        close(fd);
}

/* close_host_fd(fd): close it now, or when the last fast path using it lets go. */
static PyObject *mod_close_host_fd(PyObject *self, PyObject *arg)
{
    long fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    if (fd < 0 || fd > INT_MAX)
        return set_errno(EBADF);
    close_when_unused((int)fd);
    Py_RETURN_NONE;
}

/* Wait until `fd` has `events` or the cage's wake eventfd fires (without the GIL).
 * 1: ready (or in error: the next attempt says which); 0: the Python handler must
 * take over (a signal, a kill, no wake fd yet). */
static int wait_host_fd(SlotObject *s, int fd, short events)
{
    int wake = wake_acquire_made(s);
    if (wake < 0)
        return 0;
    struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = wake, .events = POLLIN}};
    int ready = 0;
    for (;;) {
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents)
            break;
        if (p[0].revents) {
            ready = 1;
            break;
        }
    }
    wake_release(s);
    return ready;
}

/* One read or write that never blocks in the kernel (for the kinds that could);
 * `send_flags` >= 0 makes it a send or recv with those flags (of one buffer). */
static ssize_t io_once(int kind, int writing, int fd, struct iovec *v, int count,
                       int send_flags)
{
    if (send_flags >= 0)
        return writing ? send(fd, v->iov_base, v->iov_len, send_flags | MSG_DONTWAIT | MSG_NOSIGNAL)
                       : recv(fd, v->iov_base, v->iov_len, send_flags | MSG_DONTWAIT);
    switch (kind) {
    case IO_PIPE:
        return writing ? pwritev2(fd, v, count, -1, RWF_NOWAIT)
                       : preadv2(fd, v, count, -1, RWF_NOWAIT);
    default:
        return writing ? writev(fd, v, count) : readv(fd, v, count);
    }
}

/* Drop the first `n` bytes of the buffers v[0..*count): what a partial transfer did. */
static struct iovec *iov_advance(struct iovec *v, int *count, size_t n)
{
    while (*count > 0 && n >= v->iov_len) {
        n -= v->iov_len;
        v++;
        (*count)--;
    }
    if (*count > 0) {
        v->iov_base = (uint8_t *)v->iov_base + n;
        v->iov_len -= n;
    }
    return v;
}

/* A read of a blocking pipe, socket or eventfd (IO_NONBLOCKING: the host fd never
 * blocks) that had to wait makes the next ones on its fd wait first (poll, then read:
 * two calls) rather than try (read, EAGAIN, poll, read: three), as suits a program that
 * reads each answer as it comes; after that many, one tries first again. */
#define READS_TO_POLL_FIRST 16

#ifdef BLOCKING_READS
/* A read of held host fd `fd` (of blocking description `id`) as one blocking readv of
 * its twin (see "blocking reads"): 1 done (*result), 0 the handler's (a signal, a kill),
 * -1 not here (no twin, not blocking, the wake word taken by another reader). */
static int twin_read(SlotObject *s, int fd, int id, struct iovec *v, int count,
                     int64_t *result)
{
    if (fd >= TWIN_FDS || __atomic_load_n(&descriptions[id], __ATOMIC_ACQUIRE) != DESC_BLOCKING ||
        !cancel_ready())
        return -1;
    int twin = host_fd_hold_at(&twins[fd], 1);
    if (twin < 0)
        return -1;
    int wake = wake_acquire_made(s);
    if (wake < 0) {
        host_fd_let_go(twin);
        return 0;
    }
    if (!my_tid)
        my_tid = (pid_t)syscall(SYS_gettid);
    int32_t none = 0, done = -1;
    if (__atomic_compare_exchange_n(&wake_readers[wake], &none, my_tid, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST)) {
        long r = lind_cancellable_syscall(&wake_words[wake], SYS_readv, twin, (long)v, count);
        __atomic_store_n(&wake_readers[wake], 0, __ATOMIC_SEQ_CST);
        if (r == -EINTR) {
            done = 0;            /* woken, or another signal of the host's: the handler */
        } else {
            *result = r;
            done = 1;
        }
    }
    wake_release(s);
    host_fd_let_go(twin);
    return done;
}
#endif

/* set_read_twin(host_fd, twin): the blocking twin of the pipe read side at host fd
 * `host_fd` (-1: none, set before host_fd is let go; the caller closes the old twin with
 * close_host_fd). A host fd past TWIN_FDS has none: its reads poll. */
static PyObject *set_read_twin(PyObject *unused, PyObject *args)
{
    int host_fd, fd;
    if (!PyArg_ParseTuple(args, "ii", &host_fd, &fd))
        return NULL;
    if (host_fd < 0 || fd < -1) {
        PyErr_SetString(PyExc_ValueError, "bad host fd or twin");
        return NULL;
    }
#ifdef BLOCKING_READS
    if (host_fd < TWIN_FDS)
        __atomic_store_n(&twins[host_fd], fd + 1, __ATOMIC_RELEASE);
#endif
    Py_RETURN_NONE;
}

/* read/write (or readv/writev: `v` holds `count` buffers, changed as they are done) on a
 * pipe, socket or eventfd: as the kernel's blocking call would (a read returns what is
 * there, a write writes everything), but waiting in poll beside the wake fd. Returns 0
 * when the Python handler must do the call (nothing was transferred). */
static int waiting_io(SlotObject *s, FdMirror *f, int fd, int writing, struct iovec *v,
                      int count, int send_flags, int64_t *result)
{
    size_t len = 0, done = 0;
    for (int i = 0; i < count; i++)
        len += v[i].iov_len;
    /* a hint: threads racing on it cost a call at most; set only below, where the
     * description was found blocking, which is checked again before it is used */
#ifdef BLOCKING_READS
    if (!writing && send_flags < 0 && f->kind == IO_NONBLOCKING && f->description) {
        int done = twin_read(s, fd, f->description, v, count, result);
        if (done >= 0)
            return done;
    }
#endif
    uint8_t *poll_first = !writing && f->kind == IO_NONBLOCKING
                          ? &s->reads_to_poll_first[f - s->fds] : NULL;
    if (poll_first && *poll_first && f->description &&
        !(send_flags > 0 && (send_flags & MSG_DONTWAIT)) &&
        __atomic_load_n(&descriptions[f->description], __ATOMIC_ACQUIRE) == DESC_BLOCKING) {
        (*poll_first)--;
        if (!wait_host_fd(s, fd, POLLIN))
            return 0;            /* woken (a signal, a kill): the handler makes the call */
    }
    for (;;) {
        ssize_t r = io_once(f->kind, writing, fd, v, count, send_flags);
        if (r >= 0) {
            done += (size_t)r;
            if (!writing || done == len || r == 0)
                break;
            v = iov_advance(v, &count, (size_t)r);
            continue;
        }
        int err = errno;
        if (err == EINTR)
            continue;
        if (err == EAGAIN) {
            int mode = DESC_PYTHON;
            if (send_flags > 0 && (send_flags & MSG_DONTWAIT)) {
                mode = DESC_NONBLOCKING;
            } else if (f->kind == IO_NONBLOCKING && f->description) {
                mode = __atomic_load_n(&descriptions[f->description], __ATOMIC_ACQUIRE);
            } else if (f->kind == IO_PIPE) {
                int flags = fcntl(fd, F_GETFL);
                if (flags >= 0)
                    mode = flags & O_NONBLOCK ? DESC_NONBLOCKING : DESC_BLOCKING;
            }
            if (mode == DESC_BLOCKING && poll_first && !done)
                *poll_first = READS_TO_POLL_FIRST;
            if (mode == DESC_BLOCKING && wait_host_fd(s, fd, writing ? POLLOUT : POLLIN))
                continue;
            if (mode == DESC_NONBLOCKING && !done) {
                *result = -EAGAIN;
                return 1;
            }
        }
        if (done)
            break;
        if (err == EAGAIN || err == EPIPE || err == EOPNOTSUPP)
            return 0;   /* woken, SIGPIPE to raise, or no RWF_NOWAIT here: Python */
        *result = -err;
        return 1;
    }
    *result = (int64_t)done;
    return 1;
}

/* The buffer (addr, len) of a fast I/O call in `m`: 1 with *p and *n set (len capped
 * at SSIZE_MAX), or 0 with *result -EFAULT. */
static int io_buffer(MemoryObject *m, uint64_t addr, uint64_t len, uint8_t **p, size_t *n,
                     int64_t *result)
{
    if (!memory_in_bounds(m, addr, len)) {
        *result = -EFAULT;
        return 0;
    }
    *p = m->base + addr;
    *n = len > SSIZE_MAX ? SSIZE_MAX : (size_t)len;
    return 1;
}

/* read/write/pread/pwrite/lseek on host fd `fd`, which `f` mirrors (held).
 * Returns 0 when the call must go to the Python handler instead. */
static int fast_io_on(SlotObject *s, MemoryObject *m, FdMirror *f, int fd, int op,
                      const int64_t *a, int64_t *result)
{
    if (op == FAST_LSEEK) {
        if (a[2] < 0 || a[2] > 2)
            return 0;
        off_t r = lseek(fd, (off_t)a[1], (int)a[2]);
        *result = r < 0 ? -errno : (int64_t)r;
        return 1;
    }
    int writing = op == FAST_WRITE || op == FAST_PWRITE;
    if (!(f->access & (writing ? FD_WRITE : FD_READ)))
        return 0;
    if (op == FAST_READ && f->kind == IO_TTY)
        return 0;
    uint8_t *p;
    size_t len;
    if (!io_buffer(m, (uint64_t)a[1], (uint64_t)a[2], &p, &len, result))
        return 1;
    if ((op == FAST_READ || op == FAST_WRITE) && (f->kind == IO_PIPE || f->kind == IO_NONBLOCKING)) {
        struct iovec v = {.iov_base = p, .iov_len = len};
        return waiting_io(s, f, fd, writing, &v, 1, -1, result);
    }
    ssize_t r;
    switch (op) {
    case FAST_READ: r = read(fd, p, len); break;
    case FAST_WRITE: r = write(fd, p, len); break;
    case FAST_PREAD:
        if (a[3] < 0) { *result = -EINVAL; return 1; }
        r = pread(fd, p, len, (off_t)a[3]);
        break;
    default:
        if (a[3] < 0) { *result = -EINVAL; return 1; }
        r = pwrite(fd, p, len, (off_t)a[3]);
        break;
    }
    if (r < 0 && errno == EPIPE)
        return 0;   /* the Python handler says EPIPE and raises SIGPIPE in the cage */
    *result = r < 0 ? -errno : (int64_t)r;
    return 1;
}

static int fast_io(SlotObject *s, MemoryObject *m, int op, const int64_t *a, int64_t *result)
{
    if (a[0] < 0 || a[0] >= FD_MIRROR || !m)
        return 0;
    FdMirror *f = &s->fds[a[0]];
    int fd = host_fd_hold(f);
    if (fd < 0)
        return 0;
    int done = fast_io_on(s, m, f, fd, op, a, result);
    host_fd_let_go(fd);
    return done;
}

/* readv/writev of at most FAST_IOV_MAX buffers is served here (stdio makes them of two);
 * more, up to Linux's 1024, go to the handler. */
#define FAST_IOV_MAX 64

/* readv/writev(fd, iov, count) on a mirrored host fd: the guest's array of (base, len)
 * pairs is copied once (the cage may change it meanwhile), every buffer checked against
 * the memory (EFAULT before anything is done, as on Linux), then one host readv or
 * writev, or the waiting path for a pipe or socket. 0 sends the call to Python. */
static int fast_iov(SlotObject *s, MemoryObject *m, int op, const int64_t *a, int64_t *result)
{
    int writing = op == FAST_WRITEV;
    int64_t count = (int32_t)a[2];
    if (a[0] < 0 || a[0] >= FD_MIRROR || !m || count > FAST_IOV_MAX)
        return 0;
    FdMirror *f = &s->fds[a[0]];
    int fd = host_fd_hold(f);
    if (fd < 0)
        return 0;
    int served = 0;
    if (!(f->access & (writing ? FD_WRITE : FD_READ)) || (!writing && f->kind == IO_TTY))
        goto out;                     /* EBADF, or a terminal's read: the handler's */
    served = 1;
    if (count <= 0) {                 /* no buffers: the array is not read, as on Linux */
        *result = count ? -EINVAL : 0;
        goto out;
    }
    uint32_t pairs[2 * FAST_IOV_MAX];
    if (!memory_in_bounds(m, (uint64_t)a[1], (uint64_t)count * 8)) {
        *result = -EFAULT;
        goto out;
    }
    memcpy(pairs, m->base + a[1], (size_t)count * 8);
    struct iovec v[FAST_IOV_MAX];
    for (int i = 0; i < count; i++) {
        if (!memory_in_bounds(m, pairs[2 * i], pairs[2 * i + 1])) {
            *result = -EFAULT;
            goto out;
        }
        v[i].iov_base = m->base + pairs[2 * i];
        v[i].iov_len = pairs[2 * i + 1];
    }
    if (f->kind == IO_PIPE || f->kind == IO_NONBLOCKING) {
        served = waiting_io(s, f, fd, writing, v, (int)count, -1, result);
        goto out;
    }
    ssize_t r = writing ? writev(fd, v, (int)count) : readv(fd, v, (int)count);
    if (r < 0 && errno == EPIPE)
        served = 0;                   /* EPIPE and SIGPIPE: the handler's */
    else
        *result = r < 0 ? -errno : (int64_t)r;
out:
    host_fd_let_go(fd);
    return served;
}

/* clock_gettime(clock, tp) for CLOCK_REALTIME, MONOTONIC, MONOTONIC_RAW, the two
 * COARSE ones and BOOTTIME (wasm32's struct timespec: two 64-bit words, the second
 * tv_nsec and its padding). 0 sends other clocks to Python. */
static int fast_clock_gettime(MemoryObject *m, const int64_t *a, int64_t *result)
{
    uint64_t clock = (uint64_t)a[0] & 0xFFFFFFFFu;
    if (!m || clock > CLOCK_BOOTTIME || clock == CLOCK_PROCESS_CPUTIME_ID ||
        clock == CLOCK_THREAD_CPUTIME_ID)
        return 0;
    if (!memory_writable(m, (uint64_t)a[1], 16)) {
        *result = -EFAULT;
        return 1;
    }
    struct timespec now;
    if (clock_gettime((clockid_t)clock, &now) != 0)
        return 0;
    int64_t words[2] = {now.tv_sec, now.tv_nsec};
    memcpy(m->base + a[1], words, sizeof words);
    *result = 0;
    return 1;
}

/* ---------------------------------------------------------- sleeps
 *
 * A sleep waits here, without the GIL, in ppoll on the wake eventfd until its deadline:
 * an idle cage's wake-up then costs what a native one does (through the handler, a 10 ms
 * sleep cost ~200 us of CPU against ~40 natively: the Python run after each wake-up).
 * Woken (a caught signal, a stop) it hands the call to the handler, and with it the
 * deadline it kept (take_sleep_deadline), so that the time left the handler reports in
 * `rem` is the true one: a program sleeping on after each EINTR must not start over. */
static __thread struct {
    SlotObject *slot;
    uint64_t req;
    int64_t deadline;      /* CLOCK_MONOTONIC ns */
} handed_sleep;

#define NS_PER_S 1000000000LL

static int64_t now_ns(clockid_t clock);

/* The guest's struct timespec at `addr` (64-bit seconds and nanoseconds) in ns, at most
 * GUEST_TIME_MAX (the year 2116 as a time: a deadline made of it and a clock reading
 * cannot overflow); -EFAULT or -EINVAL as Linux answers for a bad one. */
#define GUEST_TIME_MAX (INT64_MAX / 2)
static int64_t guest_timespec_ns(MemoryObject *m, uint64_t addr)
{
    int64_t t[2];
    if (!memory_in_bounds(m, addr, sizeof t))
        return -EFAULT;
    memcpy(t, m->base + addr, sizeof t);
    if (t[0] < 0 || t[1] < 0 || t[1] >= NS_PER_S)
        return -EINVAL;
    return t[0] < GUEST_TIME_MAX / NS_PER_S - 1 ? t[0] * NS_PER_S + t[1] : GUEST_TIME_MAX;
}

static int fast_sleep(SlotObject *s, MemoryObject *m, uint64_t clock, int absolute,
                      uint64_t req, int64_t *result)
{
    handed_sleep.slot = NULL;
    if (!m || (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME))
        return 0;
    int64_t ns = guest_timespec_ns(m, req);
    if (ns < 0) {
        *result = ns;
        return 1;
    }
    int64_t start = now_ns(CLOCK_MONOTONIC);
    if (absolute) {
        ns -= now_ns((clockid_t)clock);
        if (ns < 0)
            ns = 0;
    }
    int64_t deadline = start + ns;     /* no overflow: see guest_timespec_ns */
    int wake = wake_acquire_made(s);
    if (wake < 0)
        return 0;          /* a signal may be pending, or the cage ended */
    int woken = __atomic_load_n(&s->exiting, __ATOMIC_ACQUIRE);
    for (int64_t left; !woken && (left = deadline - now_ns(CLOCK_MONOTONIC)) > 0;) {
        struct timespec wait = {.tv_sec = left / NS_PER_S, .tv_nsec = left % NS_PER_S};
        struct pollfd p = {.fd = wake, .events = POLLIN};
        int r = ppoll(&p, 1, &wait, NULL);
        woken = r > 0 || (r < 0 && errno != EINTR);
    }
    wake_release(s);
    if (woken) {
        handed_sleep.slot = s;
        handed_sleep.req = req;
        handed_sleep.deadline = deadline;
        return 0;
    }
    *result = 0;
    return 1;
}

/* take_sleep_deadline(slot, req) -> the CLOCK_MONOTONIC deadline (ns) of the sleep the
 * trampoline began for this call and handed over when woken; 0 if it began none. */
static PyObject *mod_take_sleep_deadline(PyObject *self, PyObject *args)
{
    PyObject *slot;
    unsigned long long req;
    if (!PyArg_ParseTuple(args, "OK", &slot, &req))
        return NULL;
    int64_t deadline = 0;
    if (handed_sleep.slot && (PyObject *)handed_sleep.slot == slot && handed_sleep.req == req)
        deadline = handed_sleep.deadline;
    handed_sleep.slot = NULL;
    return PyLong_FromLongLong(deadline);
}

/* getrandom(buf, count, flags) with GRND_NONBLOCK and GRND_RANDOM (others EINVAL, as the
 * handler says): at most MAX_RW_COUNT a call, as x86_64 Linux gives, into the buffer. */
#define GETRANDOM_MAX 0x7FFFF000u
static int fast_getrandom(MemoryObject *m, const int64_t *a, int64_t *result)
{
    uint64_t count = (uint64_t)a[1] & 0xFFFFFFFFu, flags = (uint64_t)a[2] & 0xFFFFFFFFu;
    if (!m)
        return 0;
    if (flags & ~(uint64_t)(GRND_NONBLOCK | GRND_RANDOM)) {
        *result = -EINVAL;
        return 1;
    }
    if (count > GETRANDOM_MAX)
        count = GETRANDOM_MAX;
    if (!memory_in_bounds(m, (uint64_t)a[0], count)) {
        *result = -EFAULT;
        return 1;
    }
    ssize_t r = getrandom(m->base + a[0], count, 0);   /* the urandom pool: never blocks */
    if (r < 0)
        return 0;                                      /* EINTR: the handler's */
    *result = r;
    return 1;
}

/* send/recv flags served here; others (MSG_WAITALL, MSG_OOB, ...) are the handler's. */
#define FAST_SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE)
#define FAST_RECV_FLAGS (MSG_DONTWAIT | MSG_PEEK)    /* MSG_TRUNC: TCP copies nothing */

/* sendto(fd, buf, len, flags, NULL, 0) and recvfrom(fd, buf, len, flags, NULL, NULL),
 * what send() and recv() are, on a mirrored socket: 0 sends the call to Python. */
static int fast_sock(SlotObject *s, MemoryObject *m, int op, const int64_t *a, int64_t *result)
{
    int64_t fd = a[0], flags = a[3];
    if (fd < 0 || fd >= FD_MIRROR || !m || a[4] != 0 || (op == FAST_RECVFROM && a[5] != 0))
        return 0;
    FdMirror *f = &s->fds[fd];
    int writing = op == FAST_SENDTO;
    if (f->host_fd < 0 || f->kind != IO_NONBLOCKING || !f->description ||
        !(f->access & (writing ? FD_WRITE : FD_READ)) || flags < 0 ||
        flags & ~(int64_t)(writing ? FAST_SEND_FLAGS : FAST_RECV_FLAGS))
        return 0;
    uint8_t *p;
    size_t len;
    if (!io_buffer(m, (uint64_t)a[1], (uint64_t)a[2], &p, &len, result))
        return 1;
    int host = host_fd_hold(f);
    if (host < 0)
        return 0;
    struct iovec v = {.iov_base = p, .iov_len = len};
    int done = waiting_io(s, f, host, writing, &v, 1, (int)flags, result);
    host_fd_let_go(host);
    return done;
}

/* wasm32's struct epoll_event: events, 4 bytes of padding, 64-bit data. */
typedef struct {
    uint32_t events;
    uint32_t pad;
    uint64_t data;
} GuestEpollEvent;
#define FAST_EPOLL_MAX 256   /* events taken per call here (fewer than asked is allowed) */

static int poll_here(SlotObject *s, struct pollfd *p, int count, int64_t timeout_ns,
                     int *ready);

/* epoll_pwait(epfd, events, maxevents, timeout_ms, NULL, ...): the host epoll behind a
 * mirrored fd (held: `host`), waited for in poll beside the wake fd (poll_here). 0 sends
 * the call to Python (a signal mask, the wake fd fired, no wake fd yet). A fd that is
 * not an epoll is the kernel's EINVAL. */
static int fast_epoll_on(SlotObject *s, MemoryObject *m, int host, const int64_t *a,
                         int64_t *result)
{
    int64_t maxevents = a[2];
    if (maxevents <= 0 || maxevents > INT_MAX / (int64_t)sizeof(GuestEpollEvent)) {
        *result = -EINVAL;
        return 1;
    }
    uint64_t addr = (uint64_t)a[1];
    if (!memory_writable(m, addr, (uint64_t)maxevents * sizeof(GuestEpollEvent))) {
        *result = -EFAULT;
        return 1;
    }
    int timeout = (int)a[3];
    int want = maxevents > FAST_EPOLL_MAX ? FAST_EPOLL_MAX : (int)maxevents;
    struct epoll_event got[FAST_EPOLL_MAX];
    int64_t deadline = 0;      /* set when it first has to wait */
    for (;;) {
        int n = epoll_wait(host, got, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *result = -errno;
            return 1;
        }
        if (n > 0) {
            GuestEpollEvent *out = (GuestEpollEvent *)(m->base + addr);
            for (int i = 0; i < n; i++) {
                GuestEpollEvent e = {.events = got[i].events, .pad = 0, .data = got[i].data.u64};
                memcpy(&out[i], &e, sizeof e);
            }
            *result = n;
            return 1;
        }
        int64_t left = -1;
        if (timeout > 0) {
            int64_t now = now_ns(CLOCK_MONOTONIC);
            if (!deadline)
                deadline = now + (int64_t)timeout * 1000000;
            left = deadline - now;
        }
        if (timeout == 0 || (timeout > 0 && left <= 0)) {
            *result = 0;      /* timed out */
            return 1;
        }
        struct pollfd p[2] = {{.fd = host, .events = POLLIN}};
        int ready;
        if (!poll_here(s, p, 1, left, &ready) || ready < 0)
            return 0;         /* a signal or a kill: the handler decides (EINTR) */
        if (ready == 0) {
            *result = 0;
            return 1;
        }
    }
}

static int fast_epoll(SlotObject *s, MemoryObject *m, const int64_t *a, int64_t *result)
{
    if (a[0] < 0 || a[0] >= FD_MIRROR || !m || a[4] != 0 || s->fds[a[0]].kind != IO_NONBLOCKING)
        return 0;
    int host = host_fd_hold(&s->fds[a[0]]);
    if (host < 0)
        return 0;
    int done = fast_epoll_on(s, m, host, a, result);
    host_fd_let_go(host);
    return done;
}

/* poll and select of at most FAST_POLL_MAX mirrored fds (pipes, sockets, files): the
 * host's poll of their host fds, held for the call, tried at once and then beside the
 * wake fd, as sys_poll's wait_ready polls them. A fast path sends the call to Python
 * (returns 0) for another kind of fd, more fds, arrays the cage cannot use, or when the
 * wake fd fired (a signal or a kill: the handler's EINTR). What the cage passed is read
 * once; results are written after a second look at the memory (another thread may have
 * protected it during the wait). */
#define FAST_POLL_MAX 64

/* p[i].fd = the host fd cage fd `fds[i]` mirrors, held (negative: skipped, -1); the
 * count held, which is `count` unless one is not mirrored. */
static int poll_hold(SlotObject *s, const int *fds, int count, struct pollfd *p)
{
    for (int i = 0; i < count; i++) {
        int host = -1;
        if (fds[i] >= FD_MIRROR || (fds[i] >= 0 && (host = host_fd_hold(&s->fds[fds[i]])) < 0))
            return i;
        p[i].fd = host;
    }
    return count;
}

static void poll_let_go(const struct pollfd *p, int held)
{
    for (int i = 0; i < held; i++)
        if (p[i].fd >= 0)
            host_fd_let_go(p[i].fd);
}

/* The host's poll of p[0..count) until one is ready or `timeout_ns` passed (-1: never):
 * 1 with the ready count (or -errno) in *ready; 0 when the wake fd fired or there is
 * none. p has room for the wake fd after the rest. */
static int poll_here(SlotObject *s, struct pollfd *p, int count, int64_t timeout_ns, int *ready)
{
    int64_t deadline = 0;      /* set when it first has to wait: a ready poll reads no clock */
    for (;;) {
        int n = poll(p, count, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != 0 || timeout_ns == 0) {
            *ready = n < 0 ? -errno : n;
            return 1;
        }
        struct timespec left, *until = NULL;
        if (timeout_ns > 0) {
            int64_t now = now_ns(CLOCK_MONOTONIC);
            if (!deadline)
                deadline = now + timeout_ns;
            int64_t rest = deadline - now;
            if (rest < 0)
                rest = 0;
            left = (struct timespec){.tv_sec = rest / NS_PER_S, .tv_nsec = rest % NS_PER_S};
            until = &left;
        }
        int wake = wake_acquire(s);
        if (wake < 0)
            return 0;
        p[count] = (struct pollfd){.fd = wake, .events = POLLIN};
        int r = ppoll(p, count + 1, until, NULL);
        int err = errno;
        wake_release(s);
        if ((r < 0 && err != EINTR) || p[count].revents)
            return 0;       /* a signal or a kill: the handler decides (EINTR) */
        if (r == 0) {
            *ready = 0;     /* timed out */
            return 1;
        }
    }
}

/* poll(fds, nfds, timeout_ms); each entry is written back whole, as Python writes it. */
typedef struct {
    int32_t fd;
    int16_t events, revents;
} GuestPollFd;

static int fast_poll(SlotObject *s, MemoryObject *m, const int64_t *a, int64_t *result)
{
    uint64_t addr = (uint64_t)a[0], nfds = (uint64_t)a[1] & 0xFFFFFFFFu;
    int timeout = (int)a[2];
    if (!m || nfds > FAST_POLL_MAX ||
        (int64_t)nfds > __atomic_load_n(&s->open_limit, __ATOMIC_RELAXED) ||
        !memory_writable(m, addr, nfds * sizeof(GuestPollFd)))
        return 0;
    GuestPollFd entries[FAST_POLL_MAX];
    struct pollfd p[FAST_POLL_MAX + 1];
    int fds[FAST_POLL_MAX];
    memcpy(entries, m->base + addr, nfds * sizeof(GuestPollFd));
    for (int i = 0; i < (int)nfds; i++) {
        fds[i] = entries[i].fd;
        p[i].events = entries[i].events;
    }
    int held = poll_hold(s, fds, (int)nfds, p), ready = 0;
    int served = held == (int)nfds &&
        poll_here(s, p, (int)nfds, timeout < 0 ? -1 : (int64_t)timeout * 1000000, &ready);
    poll_let_go(p, held);
    if (!served)
        return 0;
    if (ready < 0) {
        *result = ready;
        return 1;
    }
    for (int i = 0; i < (int)nfds; i++)
        entries[i].revents = entries[i].fd < 0 ? 0 : p[i].revents;
    if (!memory_writable(m, addr, nfds * sizeof(GuestPollFd))) {
        *result = -EFAULT;
        return 1;
    }
    memcpy(m->base + addr, entries, nfds * sizeof(GuestPollFd));
    *result = ready;
    return 1;
}

/* pselect6(n, readfds, writefds, exceptfds, timeout, sigmask) of up to FAST_POLL_MAX
 * fds below FD_SETSIZE without a signal mask (musl's select passes none), as
 * sys_poll._select answers it: a set's bit stays for readable (POLLIN, POLLHUP or
 * POLLERR), writable (POLLOUT or POLLERR) or an exceptional condition (POLLPRI); bits
 * from n on are not looked at. The timespec is not changed (musl passes a copy of the
 * caller's). */
#define SELECT_FDS 1024         /* FD_SETSIZE: the guest's fd_set, and Python's bound on n */
#define SELECT_WORDS (SELECT_FDS / 64)

static int fast_pselect(SlotObject *s, MemoryObject *m, const int64_t *a, int64_t *result)
{
    int n = (int)a[0];
    if (!m || n < 0 || n > SELECT_FDS)
        return 0;
    if (a[5]) {             /* {sigset pointer, its size}: no pointer, no mask */
        uint64_t mask_arg[2];
        if (!memory_in_bounds(m, (uint64_t)a[5], sizeof mask_arg))
            return 0;
        memcpy(mask_arg, m->base + a[5], sizeof mask_arg);
        if (mask_arg[0])
            return 0;
    }
    uint64_t size = (uint64_t)(n + 31) / 32 * 4, sets[3][SELECT_WORDS] = {{0}};
    for (int k = 0; k < 3; k++) {
        uint64_t at = (uint64_t)a[1 + k];
        if (at && !memory_writable(m, at, size))
            return 0;
        if (at)
            memcpy(sets[k], m->base + at, size);
    }
    int64_t timeout_ns = -1;
    if (a[4]) {
        int64_t ts[2];
        if (!memory_in_bounds(m, (uint64_t)a[4], sizeof ts))
            return 0;
        memcpy(ts, m->base + a[4], sizeof ts);
        if (ts[0] < 0 || ts[1] < 0 || ts[1] >= NS_PER_S || ts[0] > INT64_MAX / NS_PER_S - 1)
            return 0;                   /* EINVAL, or a wait of centuries: Python's */
        timeout_ns = ts[0] * NS_PER_S + ts[1];
    }
    struct pollfd p[FAST_POLL_MAX + 1];
    int fds[FAST_POLL_MAX], count = 0;
    for (int w = 0; w * 64 < n; w++) {
        uint64_t any = sets[0][w] | sets[1][w] | sets[2][w];
        if (n - w * 64 < 64)
            any &= (1ull << (n - w * 64)) - 1;
        for (; any; any &= any - 1) {
            int bit = __builtin_ctzll(any);
            if (count == FAST_POLL_MAX)
                return 0;
            fds[count] = w * 64 + bit;
            p[count++].events = (short)((sets[0][w] >> bit & 1 ? POLLIN : 0) |
                                        (sets[1][w] >> bit & 1 ? POLLOUT : 0) |
                                        (sets[2][w] >> bit & 1 ? POLLPRI : 0));
        }
    }
    int held = poll_hold(s, fds, count, p), ready = 0;
    int served = held == count && poll_here(s, p, count, timeout_ns, &ready);
    poll_let_go(p, held);
    if (!served)
        return 0;
    if (ready < 0) {
        *result = ready;
        return 1;
    }
    uint64_t out[3][SELECT_WORDS] = {{0}};
    int64_t bits = 0;
    for (int i = 0; i < count; i++) {
        short ev = p[i].events, rev = p[i].revents;
        int w = fds[i] / 64;
        uint64_t bit = 1ull << (fds[i] % 64);
        if ((ev & POLLIN) && (rev & (POLLIN | POLLHUP | POLLERR)))
            out[0][w] |= bit, bits++;
        if ((ev & POLLOUT) && (rev & (POLLOUT | POLLERR)))
            out[1][w] |= bit, bits++;
        if ((ev & POLLPRI) && (rev & POLLPRI))
            out[2][w] |= bit, bits++;
    }
    for (int k = 0; k < 3; k++) {
        uint64_t at = (uint64_t)a[1 + k];
        if (at && !memory_writable(m, at, size)) {
            *result = -EFAULT;
            return 1;
        }
    }
    for (int k = 0; k < 3; k++)
        if (a[1 + k])
            memcpy(m->base + a[1 + k], out[k], size);
    *result = bits;
    return 1;
}

/* -------------------------------------------------- host calls of the microvisor */

/* Two calls every open(2) of a cage makes, without ctypes' cost per call. */
#define OPENAT2_NR 437
#define RESOLVE_NO_MAGICLINKS_FLAG 0x02
#define RESOLVE_IN_ROOT_FLAG 0x10

struct host_open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};

/* openat2 of `path` under `dirfd` with RESOLVE_IN_ROOT and RESOLVE_NO_MAGICLINKS, so
 * `path` (its "..", its symlinks) stays under dirfd, as the cage's root or mount. Tried
 * again on EAGAIN (a rename raced the walk) and EINTR. -errno on failure. */
static long open_under(int dirfd, const char *path, uint64_t flags, uint64_t mode)
{
    /* openat2 refuses a mode without O_CREAT, where open(2) ignores it */
    struct host_open_how how = {.flags = flags, .mode = flags & O_CREAT ? mode : 0,
                                .resolve = RESOLVE_IN_ROOT_FLAG | RESOLVE_NO_MAGICLINKS_FLAG};
    long fd;
    do {
        fd = syscall(OPENAT2_NR, dirfd, path, &how, sizeof how);
    } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    return fd < 0 ? -errno : fd;
}

/* open_in_root(dirfd, path, flags, mode=0) -> fd: open_under, for the microvisor. */
static PyObject *mod_open_in_root(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 3 || nargs > 4 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "open_in_root(dirfd, path: bytes, flags, mode=0)");
        return NULL;
    }
    long dirfd = PyLong_AsLong(args[0]);
    long long flags = PyLong_AsLongLong(args[2]), mode = nargs > 3 ? PyLong_AsLongLong(args[3]) : 0;
    if (PyErr_Occurred())
        return NULL;
    if (dirfd < INT_MIN || dirfd > INT_MAX)
        return set_errno(EBADF);
    const char *path = PyBytes_AS_STRING(args[1]);
    if ((Py_ssize_t)strlen(path) != PyBytes_GET_SIZE(args[1])) {
        PyErr_SetString(PyExc_ValueError, "embedded null byte");
        return NULL;
    }
    long fd;
    Py_BEGIN_ALLOW_THREADS
    fd = open_under((int)dirfd, path, (uint64_t)flags, (uint64_t)mode);
    Py_END_ALLOW_THREADS
    if (fd < 0) {
        errno = (int)-fd;
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
    }
    return PyLong_FromLong(fd);
}

/* file_mode(fd) -> st_mode: what os.fstat(fd).st_mode says, without the stat_result. */
static PyObject *mod_file_mode(PyObject *self, PyObject *arg)
{
    long fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    struct stat st;
    if (fd < 0 || fd > INT_MAX)
        return set_errno(EBADF);
    if (fstat((int)fd, &st) < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromUnsignedLong(st.st_mode);
}

/* ------------------------------------------------------------------ file opens */

/* open and openat of a host file (flags within OPEN_HERE_FLAGS; for writing or
 * creating only under a mount that takes them, MountEntry.writes) are
 * served here: the path is read once from cage memory, made absolute against the
 * cage's cwd and folded as fs.normalize folds it, the mount is found by the longest
 * guest prefix as FileSystem.locate finds it, and the file is opened with
 * openat2(RESOLVE_IN_ROOT) under that mount's directory -- the confinement of every
 * open the microvisor makes.
 * The lowest free fd number is taken here, under files_lock, and recorded as opened
 * here; the Python fd table adopts the file (makes its OpenFile) the first time it
 * needs that number (FdTable), and a close of a file never adopted is done here too.
 * What this code does not decide goes to the Python handler, unchanged: a `..` or a
 * trailing `/` (checked there as the kernel's walk would), names under /dev, /proc and
 * /etc (the microvisor may provide those), a relative path from a dirfd that is no
 * host directory (one is resolved against its guest path, as sys_files.at_path does:
 * Slot.dir_paths), any flag beyond these, a FIFO or socket found (handed to Python already open), a FIFO with no
 * reader yet opened for writing without O_NONBLOCK (Python's open waits for the
 * reader), an O_CREAT that finds a dangling symlink (Python makes the file it names, as
 * the cage's paths find it). A file O_CREAT makes gets the cage's umask, as
 * sys_files._open gives it: made with O_EXCL, then chmod'ed (the host's umask is not
 * the cage's). */

/* Guest open flags (lind.microvisor.abi: the generic Linux values). */
#define G_O_ACCMODE 03
#define G_O_RDONLY 0
#define G_O_WRONLY 01
#define G_O_RDWR 02
#define G_O_CREAT 0100
#define G_O_EXCL 0200
#define G_O_TRUNC 01000
#define G_O_APPEND 02000
#define G_O_NONBLOCK 04000
#define G_O_LARGEFILE 0100000
#define G_O_DIRECTORY 0200000
#define G_O_NOFOLLOW 0400000
#define G_O_CLOEXEC 02000000
#define G_AT_FDCWD (-100)
#define OPEN_HERE_FLAGS (G_O_ACCMODE | G_O_CREAT | G_O_EXCL | G_O_TRUNC | G_O_APPEND | \
                         G_O_NONBLOCK | G_O_LARGEFILE | G_O_DIRECTORY | G_O_NOFOLLOW | G_O_CLOEXEC)

/* The process's budget of host fds for cages' files (limits.host_fds), kept here so
 * that the opens made here and the microvisor's count against one figure. */
static int64_t host_fds_held, host_fds_limit = INT64_MAX;

static int host_fds_take_n(int64_t n, int reserved)
{
    int64_t held = __atomic_load_n(&host_fds_held, __ATOMIC_RELAXED);
    do {
        if (!reserved && held + n > __atomic_load_n(&host_fds_limit, __ATOMIC_RELAXED))
            return 0;
    } while (!__atomic_compare_exchange_n(&host_fds_held, &held, held + n, 1,
                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    return 1;
}

static void host_fds_give_n(int64_t n)
{
    __atomic_sub_fetch(&host_fds_held, n, __ATOMIC_ACQ_REL);
}

/* host_fds_take(n, reserved): ENFILE past the budget unless `reserved`. */
static PyObject *mod_host_fds_take(PyObject *self, PyObject *args)
{
    long long n;
    int reserved;
    if (!PyArg_ParseTuple(args, "Lp", &n, &reserved))
        return NULL;
    if (!host_fds_take_n(n, reserved))
        return set_errno(ENFILE);
    Py_RETURN_NONE;
}

static PyObject *mod_host_fds_give(PyObject *self, PyObject *arg)
{
    long long n = PyLong_AsLongLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    host_fds_give_n(n);
    Py_RETURN_NONE;
}

static PyObject *mod_host_fds_set_limit(PyObject *self, PyObject *arg)
{
    long long n = PyLong_AsLongLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    __atomic_store_n(&host_fds_limit, n, __ATOMIC_RELAXED);
    Py_RETURN_NONE;
}

static PyObject *mod_host_fds_held(PyObject *self, PyObject *unused)
{
    return PyLong_FromLongLong(__atomic_load_n(&host_fds_held, __ATOMIC_RELAXED));
}

/* FdShare(limit): the host fds one process tree may hold of the process's budget, so
 * that one tree cannot take them all (a tenant's children opening pipes up to their
 * RLIMIT_NOFILE left every other tenant's open ENFILE). Its takes count in the
 * process's budget too. */
struct FdShareObject {
    PyObject_HEAD
    int64_t held, limit;
};

static int share_take_n(FdShareObject *sh, int64_t n, int reserved)
{
    if (!host_fds_take_n(n, reserved))
        return 0;
    if (!sh)
        return 1;
    int64_t held = __atomic_load_n(&sh->held, __ATOMIC_RELAXED);
    do {
        if (!reserved && held + n > sh->limit) {
            host_fds_give_n(n);
            return 0;
        }
    } while (!__atomic_compare_exchange_n(&sh->held, &held, held + n, 1,
                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    return 1;
}

static void share_give_n(FdShareObject *sh, int64_t n)
{
    if (sh)
        __atomic_sub_fetch(&sh->held, n, __ATOMIC_ACQ_REL);
    host_fds_give_n(n);
}

static PyObject *FdShare_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    long long limit;
    if (!PyArg_ParseTuple(args, "L", &limit))
        return NULL;
    FdShareObject *sh = (FdShareObject *)type->tp_alloc(type, 0);
    if (sh)
        sh->limit = limit;
    return (PyObject *)sh;
}

/* take(n, reserved): count n more here and in the process (ENFILE past either). */
static PyObject *FdShare_take(FdShareObject *sh, PyObject *args)
{
    long long n;
    int reserved;
    if (!PyArg_ParseTuple(args, "Lp", &n, &reserved))
        return NULL;
    if (!share_take_n(sh, n, reserved))
        return set_errno(ENFILE);
    Py_RETURN_NONE;
}

static PyObject *FdShare_give(FdShareObject *sh, PyObject *arg)
{
    long long n = PyLong_AsLongLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    share_give_n(sh, n);
    Py_RETURN_NONE;
}

static PyObject *FdShare_get_held(FdShareObject *sh, void *unused)
{
    return PyLong_FromLongLong(__atomic_load_n(&sh->held, __ATOMIC_RELAXED));
}

static PyObject *FdShare_get_limit(FdShareObject *sh, void *unused)
{
    return PyLong_FromLongLong(sh->limit);
}

static PyMethodDef FdShare_methods[] = {
    {"take", (PyCFunction)FdShare_take, METH_VARARGS,
     "take(n, reserved): count n more host fds (ENFILE past the share or the budget)"},
    {"give", (PyCFunction)FdShare_give, METH_O, "give(n): n host fds are closed"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef FdShare_getset[] = {
    {"held", (getter)FdShare_get_held, NULL, "host fds counted here now", NULL},
    {"limit", (getter)FdShare_get_limit, NULL, "the most it may hold", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject FdShareType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.FdShare",
    .tp_basicsize = sizeof(FdShareObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = FdShare_new,
    .tp_methods = FdShare_methods,
    .tp_getset = FdShare_getset,
    .tp_doc = "one process tree's part of the host-fd budget",
};

static void mounts_let_go(MountTable *t)
{
    if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL))
        return;
    for (int i = 0; i < t->count; i++) {
        close(t->m[i].fd);
        free(t->m[i].guest);
    }
    host_fds_give_n(t->count);
    free(t);
}

/* A Python handle on a MountTable: FileSystem makes one, slots share it. */
typedef struct {
    PyObject_HEAD
    MountTable *table;
} MountsObject;

static void Mounts_dealloc(MountsObject *o)
{
    mounts_let_go(o->table);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

/* Mounts([(guest: bytes, dirfd, writes), ...]), longest guest prefix first; the dirfds
 * are duplicated (and counted among the host fds), so the table outlives the
 * FileSystem's own. `writes`: opens for writing under that mount may be made here (it
 * is not read-only, and no file it leads to can lie under a read-only one's directory). */
static PyObject *Mounts_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PyObject *list;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &list))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(list);
    MountTable *t = calloc(1, sizeof *t + (size_t)n * sizeof(MountEntry));
    if (!t)
        return PyErr_NoMemory();
    t->refs = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *guest;
        Py_ssize_t len;
        int fd, writes;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(list, i), "y#ip", &guest, &len, &fd, &writes))
            goto fail;
        MountEntry *e = &t->m[t->count];
        e->guest = strndup(guest, (size_t)len);
        if (!e->guest) {
            PyErr_NoMemory();
            goto fail;
        }
        e->len = (size_t)len;
        e->writes = writes;
        e->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (e->fd < 0) {
            free(e->guest);
            PyErr_SetFromErrno(PyExc_OSError);
            goto fail;
        }
        host_fds_take_n(1, 1);     /* the tree's own, counted so cages leave the reserve */
        t->count++;
    }
    MountsObject *o = (MountsObject *)type->tp_alloc(type, 0);
    if (!o)
        goto fail;
    o->table = t;
    return (PyObject *)o;
fail:
    mounts_let_go(t);
    return NULL;
}

static PyTypeObject MountsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.Mounts",
    .tp_basicsize = sizeof(MountsObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Mounts_new,
    .tp_dealloc = (destructor)Mounts_dealloc,
    .tp_doc = "a file system's mounts, for the opens the trampoline serves",
};

/* set_files(mounts_or_None): the mounts the cage's opens resolve in (None: Python's). */
static PyObject *Slot_set_files(SlotObject *s, PyObject *arg)
{
    if (arg != Py_None && !PyObject_TypeCheck(arg, &MountsType)) {
        PyErr_SetString(PyExc_TypeError, "expected Mounts or None");
        return NULL;
    }
    MountTable *t = arg == Py_None ? NULL : ((MountsObject *)arg)->table;
    if (t)
        __atomic_add_fetch(&t->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_lock(&s->files_lock);
    MountTable *old = s->mounts;
    s->mounts = t;
    pthread_mutex_unlock(&s->files_lock);
    mounts_let_go(old);
    Py_RETURN_NONE;
}

/* set_umask(mask): the cage's umask, which files its opens make here get. */
static PyObject *Slot_set_umask(SlotObject *s, PyObject *arg)
{
    long mask = PyLong_AsLong(arg);
    if (mask == -1 && PyErr_Occurred())
        return NULL;
    __atomic_store_n(&s->umask_bits, (unsigned)mask & 0777, __ATOMIC_RELAXED);
    Py_RETURN_NONE;
}

/* set_file_size_limited(bool): files opened here from now on are written through the
 * microvisor (Cage.set_file_size_limit re-mirrors those open already). */
static PyObject *Slot_set_file_size_limited(SlotObject *s, PyObject *arg)
{
    int limited = PyObject_IsTrue(arg);
    if (limited < 0)
        return NULL;
    pthread_mutex_lock(&s->files_lock);
    s->file_size_limited = limited;
    pthread_mutex_unlock(&s->files_lock);
    Py_RETURN_NONE;
}

static PyObject *Slot_set_cwd(SlotObject *s, PyObject *arg)
{
    char *path;
    Py_ssize_t len;
    if (PyBytes_AsStringAndSize(arg, &path, &len) < 0)
        return NULL;
    pthread_mutex_lock(&s->files_lock);
    if (len > 0 && len < PATH_BYTES && path[0] == '/') {
        memcpy(s->cwd, path, (size_t)len);
        s->cwd_len = (size_t)len;
    } else {
        s->cwd_len = 0;            /* relative paths go to Python */
    }
    pthread_mutex_unlock(&s->files_lock);
    Py_RETURN_NONE;
}

/* set_startup_strings(argc, argv, envc, env): what the start-up imports answer; each
 * blob holds its strings, each ended by a NUL (cage._strings makes them) */
static PyObject *Slot_set_startup_strings(SlotObject *s, PyObject *args)
{
    unsigned int count[2];
    const char *blob[2];
    Py_ssize_t bytes[2];
    if (!PyArg_ParseTuple(args, "Iy#Iy#", &count[0], &blob[0], &bytes[0], &count[1], &blob[1],
                          &bytes[1]))
        return NULL;
    char *copy[2];
    for (int i = 0; i < 2; i++) {
        size_t ends = 0;          /* the entry finds each string by its NUL */
        for (Py_ssize_t at = 0; at < bytes[i]; at++)
            ends += blob[i][at] == 0;
        if (bytes[i] > UINT32_MAX || ends != count[i] ||
            (bytes[i] && blob[i][bytes[i] - 1] != 0)) {
            PyErr_SetString(PyExc_ValueError, "set_startup_strings: not NUL-ended strings");
            return NULL;
        }
        copy[i] = malloc(bytes[i] ? (size_t)bytes[i] : 1);
        if (!copy[i]) {
            if (i)
                free(copy[0]);
            return PyErr_NoMemory();
        }
        memcpy(copy[i], blob[i], (size_t)bytes[i]);
    }
    pthread_mutex_lock(&s->files_lock);
    for (int i = 0; i < 2; i++) {
        char *old = s->startup_strings[i];
        s->startup_strings[i] = copy[i];
        s->startup_bytes[i] = (size_t)bytes[i];
        s->startup_count[i] = count[i];
        copy[i] = old;
    }
    pthread_mutex_unlock(&s->files_lock);
    free(copy[0]);
    free(copy[1]);
    Py_RETURN_NONE;
}

static PyObject *Slot_set_open_limit(SlotObject *s, PyObject *arg)
{
    long long v = PyLong_AsLongLong(arg);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    pthread_mutex_lock(&s->files_lock);
    s->open_limit = v;
    pthread_mutex_unlock(&s->files_lock);
    Py_RETURN_NONE;
}

/* set_fd_share(share): the FdShare its tree's host fds count in (before its first call). */
static PyObject *Slot_set_fd_share(SlotObject *s, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, &FdShareType)) {
        PyErr_SetString(PyExc_TypeError, "an FdShare");
        return NULL;
    }
    pthread_mutex_lock(&s->files_lock);
    FdShareObject *old = s->fd_share;
    int busy = 0;
    for (int fd = 0; fd < FD_MIRROR && !busy; fd++)
        busy = s->owner[fd] == FD_OPENED_HERE || s->owner[fd] == FD_OPENING;
    if (!busy)
        s->fd_share = (FdShareObject *)Py_NewRef(arg);
    pthread_mutex_unlock(&s->files_lock);
    if (busy) {
        PyErr_SetString(PyExc_RuntimeError, "the slot holds files counted elsewhere");
        return NULL;
    }
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

static PyObject *Slot_note_posix_locks(SlotObject *s, PyObject *unused)
{
    pthread_mutex_lock(&s->files_lock);
    s->posix_locks = 1;
    pthread_mutex_unlock(&s->files_lock);
    Py_RETURN_NONE;
}

/* claim_fd(fd) -> bool: Python takes the free number `fd` (or holds it already);
 * False while it is a file opened here (adopt_fd) or being opened. */
static PyObject *Slot_claim_fd(SlotObject *s, PyObject *arg)
{
    long fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    if (fd < 0 || fd >= FD_MIRROR)
        Py_RETURN_TRUE;
    pthread_mutex_lock(&s->files_lock);
    int free_now = s->owner[fd] == FD_FREE || s->owner[fd] == FD_PYTHON;
    if (s->owner[fd] == FD_FREE)
        set_dir_path_locked(s, (int)fd, NULL);   /* no directory's path until mirror_fd */
    if (free_now)
        s->owner[fd] = FD_PYTHON;
    pthread_mutex_unlock(&s->files_lock);
    return PyBool_FromLong(free_now);
}

/* The file opened here at `fd` as (fd, host_fd, flags, cloexec, is_dir, path), now
 * Python's; called with files_lock held. */
static PyObject *adopt_locked(SlotObject *s, int fd)
{
    OpenedHere *o = s->opened[fd];
    PyObject *item = Py_BuildValue("(iiiiiy)", fd, o->host_fd, o->flags, o->cloexec, o->is_dir,
                                   o->path);
    if (!item)
        return NULL;
    s->opened[fd] = NULL;
    s->owner[fd] = FD_PYTHON;
    set_dir_path_locked(s, fd, o->is_dir ? strdup(o->path) : NULL);   /* its *at calls */
    free(o);
    return item;
}

/* adopt_fd(fd) -> (fd, host_fd, flags, cloexec, is_dir, path) or None: the file
 * opened here at `fd`, now Python's (its OpenFile counts the host fd already taken). */
static PyObject *Slot_adopt_fd(SlotObject *s, PyObject *arg)
{
    long fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    if (fd < 0 || fd >= FD_MIRROR)
        Py_RETURN_NONE;
    pthread_mutex_lock(&s->files_lock);
    PyObject *item = s->owner[fd] == FD_OPENED_HERE ? adopt_locked(s, (int)fd) : Py_NewRef(Py_None);
    pthread_mutex_unlock(&s->files_lock);
    return item;
}

/* adopt_all(final) -> [(fd, host_fd, flags, cloexec, is_dir, path)]: every file opened
 * here, now Python's; `final`: the table is emptied for good, no open is made here
 * after this (and the mounts are let go now, so their host fds close with the file
 * system's last cage, not when this slot is collected). */
static PyObject *Slot_adopt_all(SlotObject *s, PyObject *arg)
{
    int final = PyObject_IsTrue(arg);
    if (final < 0)
        return NULL;
    PyObject *list = PyList_New(0);
    if (!list)
        return NULL;
    MountTable *dropped = NULL;
    pthread_mutex_lock(&s->files_lock);
    if (final) {
        s->files_closed = 1;
        dropped = s->mounts;
        s->mounts = NULL;
    }
    for (int fd = 0; fd < FD_MIRROR; fd++) {
        if (s->owner[fd] != FD_OPENED_HERE)
            continue;
        PyObject *item = adopt_locked(s, fd);
        if (!item || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(item);
    }
    pthread_mutex_unlock(&s->files_lock);
    mounts_let_go(dropped);
    return list;
}

/* The directory path *at calls from Python's `fd` are resolved against (taken: freed
 * when replaced), or NULL; files_lock held. */
static void set_dir_path_locked(SlotObject *s, int fd, char *path)
{
    free(s->dir_paths[fd]);
    s->dir_paths[fd] = path;
}

/* The guest path of the directory at `fd`, as a relative name given with it is
 * resolved (sys_files.at_path): one opened here, or one Python holds and told of;
 * NULL when the fd is Python's to look at (no directory, a virtual one, past the
 * mirror). files_lock held. */
static const char *dir_path_locked(SlotObject *s, int fd)
{
    if (fd < 0 || fd >= FD_MIRROR)
        return NULL;
    if (s->owner[fd] == FD_OPENED_HERE)
        return s->opened[fd] && s->opened[fd]->is_dir ? s->opened[fd]->path : NULL;
    return s->owner[fd] == FD_PYTHON ? s->dir_paths[fd] : NULL;
}

/* The slot is gone: close what it opened and nobody adopted. */
static void forget_opened_here(SlotObject *s)
{
    for (int fd = 0; fd < FD_MIRROR; fd++) {
        OpenedHere *o = s->opened[fd];
        if (!o)
            continue;
        s->opened[fd] = NULL;
        s->fds[fd].host_fd = -1;
        close_when_unused(o->host_fd);
        share_give_n(s->fd_share, 1);
        free(o);
    }
    mounts_let_go(s->mounts);
    s->mounts = NULL;
}

/* Fold `path` (absolute) as fs.normalize does, into `out` (PATH_BYTES). 0 when a `..`
 * is met (Python checks what each `..` steps out of) or the result is too long. */
static size_t fold_here(const char *path, size_t len, char *out)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && path[i] == '/')
            i++;
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        size_t part = i - start;
        if (part == 0 || (part == 1 && path[start] == '.'))
            continue;
        if (part == 2 && path[start] == '.' && path[start + 1] == '.')
            return 0;
        if (n + 1 + part >= PATH_BYTES)
            return 0;
        out[n++] = '/';
        memcpy(out + n, path + start, part);
        n += part;
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
    return n;
}

static int under_prefix(const char *path, size_t len, const char *top)
{
    size_t t = strlen(top);
    return len >= t && memcmp(path, top, t) == 0;
}

/* The path argument at `addr` of a call made from `dirfd`, absolute and folded, in
 * `path` (PATH_BYTES); 0 when it is Python's to resolve (see above). The path is
 * copied once: the cage may change its memory meanwhile. */
static size_t path_here(SlotObject *s, MemoryObject *m, int64_t dirfd, uint64_t addr, char *path)
{
    char raw[PATH_BYTES];
    if (!addr || !memory_in_bounds(m, addr, 1))
        return 0;
    uint64_t avail = readable_span(m, addr, m->size - addr);
    size_t len = strnlen((const char *)m->base + addr,
                         avail < PATH_BYTES - 1 ? (size_t)avail : PATH_BYTES - 1);
    if (len == 0 || len >= avail || len >= PATH_BYTES - 1)
        return 0;                     /* empty, past the memory, or too long: Python */
    memcpy(raw, m->base + addr, len);
    if (memchr(raw, 0, len))
        return 0;                     /* changed while it was read: Python reads it again */
    raw[len] = '\0';
    if (raw[len - 1] == '/' || (len >= 2 && raw[len - 2] == '/' && raw[len - 1] == '.') ||
        (len == 1 && raw[0] == '.'))
        return 0;                     /* a name that must be a directory: Python */
    char whole[2 * PATH_BYTES + 1];
    size_t whole_len = 0;
    if (raw[0] != '/') {
        pthread_mutex_lock(&s->files_lock);
        if ((int32_t)dirfd == G_AT_FDCWD) {
            memcpy(whole, s->cwd, s->cwd_len);
            whole_len = s->cwd_len;
        } else {
            const char *dir = dir_path_locked(s, (int32_t)dirfd);
            whole_len = dir ? strlen(dir) : 0;
            if (whole_len)
                memcpy(whole, dir, whole_len);
        }
        pthread_mutex_unlock(&s->files_lock);
        if (!whole_len)
            return 0;
        whole[whole_len++] = '/';
    }
    memcpy(whole + whole_len, raw, len);
    whole_len += len;
    size_t path_len = fold_here(whole, whole_len, path);
    if (!path_len || under_prefix(path, path_len, "/dev") ||
        under_prefix(path, path_len, "/proc") || under_prefix(path, path_len, "/etc"))
        return 0;
    return path_len;
}

/* The mount of `t` that `path` falls in (the longest prefix: `t` is sorted so), and in
 * `rest` the path inside it ("." for the mount itself). */
static MountEntry *mount_of(MountTable *t, const char *path, size_t path_len, const char **rest)
{
    for (int i = 0; i < t->count; i++) {
        MountEntry *e = &t->m[i];
        if ((e->len == 1 && e->guest[0] == '/') || (path_len == e->len &&
            !memcmp(path, e->guest, e->len)) || (path_len > e->len &&
            !memcmp(path, e->guest, e->len) && path[e->len] == '/')) {
            const char *r = path + (e->len == 1 ? 0 : e->len);
            while (*r == '/')
                r++;
            *rest = *r ? r : ".";
            return e;
        }
    }
    return NULL;
}

/* Give a reserved number back (the open failed or is Python's after all). */
static void unreserve(SlotObject *s, int fd)
{
    pthread_mutex_lock(&s->files_lock);
    s->owner[fd] = FD_FREE;
    pthread_mutex_unlock(&s->files_lock);
    share_give_n(s->fd_share, 1);
}

/* A FIFO or socket opened (without blocking) by name: the rest of its open -- a FIFO
 * reader waits for a writer -- is the microvisor's (Cage.open_found). */
static int64_t open_found_in_python(SlotObject *s, int host_fd, const char *path, int flags,
                                    unsigned mode)
{
    PyGILState_STATE g = PyGILState_Ensure();
    int64_t r;
    PyObject *res = PyObject_CallMethod(s->cage, "open_found", "iyiI", host_fd, path, flags, mode);
    if (!res) {
        r = exception_to_errno(s);
    } else {
        r = PyLong_AsLongLong(res);
        if (r == -1 && PyErr_Occurred())
            r = exception_to_errno(s);
        Py_DECREF(res);
    }
    PyGILState_Release(g);
    return r;
}

static int fast_open(SlotObject *s, MemoryObject *m, int64_t dirfd, uint64_t addr,
                     int64_t flags64, int64_t mode64, int64_t *result)
{
    int flags = (int)(uint32_t)flags64 & ~G_O_LARGEFILE;
    int access = flags & G_O_ACCMODE;
    int creating = !!(flags & G_O_CREAT);
    int writing = access != G_O_RDONLY || creating;
    if (!m || (flags & ~OPEN_HERE_FLAGS) || access == G_O_ACCMODE ||
        (access == G_O_RDONLY && (flags & G_O_TRUNC)) || ((flags & G_O_EXCL) && !creating) ||
        !__atomic_load_n(&s->mounts, __ATOMIC_ACQUIRE))
        return 0;
    char path[PATH_BYTES];
    size_t path_len = path_here(s, m, dirfd, addr, path);
    if (!path_len)
        return 0;

    /* The lowest free number, reserved, and the mount table held, at once. */
    pthread_mutex_lock(&s->files_lock);
    MountTable *t = s->mounts;
    if (s->files_closed || !t) {
        pthread_mutex_unlock(&s->files_lock);
        return 0;
    }
    int64_t limit = s->open_limit < FD_MIRROR ? s->open_limit : FD_MIRROR;
    int fd = -1;
    for (int i = 0; i < limit; i++) {
        if (s->owner[i] == FD_FREE) {
            fd = i;
            break;
        }
    }
    if (fd < 0) {
        pthread_mutex_unlock(&s->files_lock);
        if (s->open_limit > FD_MIRROR)
            return 0;                 /* numbers past the mirror: Python's */
        *result = -EMFILE;
        return 1;
    }
    if (!share_take_n(s->fd_share, 1, 0)) {
        pthread_mutex_unlock(&s->files_lock);
        *result = -ENFILE;
        return 1;
    }
    s->owner[fd] = FD_OPENING;
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&s->files_lock);

    const char *rest;
    MountEntry *mount = mount_of(t, path, path_len, &rest);
    if (!mount || (writing && !mount->writes)) {
        mounts_let_go(t);
        unreserve(s, fd);
        return 0;
    }
    int host_flags = (access == G_O_RDWR ? O_RDWR : access == G_O_WRONLY ? O_WRONLY : O_RDONLY) |
                     O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                     (flags & G_O_TRUNC ? O_TRUNC : 0) |
                     (flags & G_O_APPEND ? O_APPEND : 0) |
                     (flags & G_O_DIRECTORY ? O_DIRECTORY : 0) |
                     (flags & G_O_NOFOLLOW ? O_NOFOLLOW : 0);
    long host;
    struct stat st;
    int stat_known = 0;       /* st is the file's already (a create read it) */
    if (creating) {
        /* Never set-user-ID or set-group-ID on a host file (abi.host_permissions). */
        unsigned perm = (unsigned)mode64 & 01777 & ~__atomic_load_n(&s->umask_bits, __ATOMIC_RELAXED);
        host = open_under(mount->fd, rest, host_flags | O_CREAT | O_EXCL, perm);
        /* chmod only if the host's umask took bits (sys_files.give_mode) */
        stat_known = host >= 0;
        if (host >= 0 && (fstat((int)host, &st) < 0 ||
                          ((st.st_mode & 07777) != perm && fchmod((int)host, perm) < 0))) {
            int err = errno;
            close((int)host);
            host = -err;
        } else if (host == -EEXIST && !(flags & G_O_EXCL)) {
            host = open_under(mount->fd, rest, host_flags, 0);   /* there already */
            if (host == -ENOENT) {    /* a dangling symlink: Python makes what it names */
                mounts_let_go(t);
                unreserve(s, fd);
                return 0;
            }
        }
    } else {
        host = open_under(mount->fd, rest, host_flags, 0);
    }
    int err = host < 0 ? (int)-host : 0;
    mounts_let_go(t);
    if (err == ENXIO && !(flags & G_O_NONBLOCK)) {
        unreserve(s, fd);             /* a FIFO with no reader: Python's open waits */
        return 0;
    }
    if (host >= 0 && !stat_known && fstat((int)host, &st) < 0) {
        err = errno;
        close((int)host);
        host = -1;
    }
    if (host >= 0 && access != G_O_RDONLY && S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)) &&
        fchmod((int)host, st.st_mode & 01777) < 0) {
        err = errno;                  /* a set-ID file opened for writing loses the bits, */
        close((int)host);             /* as sys_files._open_existing */
        host = -1;
    }
    if (host < 0) {
        unreserve(s, fd);
        *result = -err;
        return 1;
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        close((int)host);             /* a device node in a root: as on a nodev mount */
        unreserve(s, fd);
        *result = -EACCES;
        return 1;
    }
    if (creating && S_ISDIR(st.st_mode)) {
        close((int)host);             /* O_CREAT of a directory: EISDIR, for reading too */
        unreserve(s, fd);
        *result = -EISDIR;
        return 1;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        unreserve(s, fd);
        *result = open_found_in_python(s, (int)host, path, flags, st.st_mode);
        return 1;
    }
    OpenedHere *o = malloc(sizeof *o + path_len + 1);
    if (o) {
        o->host_fd = (int)host;
        o->flags = flags & ~(G_O_CLOEXEC | G_O_CREAT | G_O_EXCL | G_O_TRUNC);
        o->cloexec = !!(flags & G_O_CLOEXEC);
        o->is_dir = S_ISDIR(st.st_mode);
        memcpy(o->path, path, path_len + 1);
    }
    pthread_mutex_lock(&s->files_lock);
    if (!o || s->files_closed) {      /* the cage ended meanwhile: Python says so */
        s->owner[fd] = FD_FREE;
        pthread_mutex_unlock(&s->files_lock);
        share_give_n(s->fd_share, 1);
        close((int)host);
        free(o);
        return 0;
    }
    s->opened[fd] = o;
    s->owner[fd] = FD_OPENED_HERE;
    if (!o->is_dir) {
        /* writes only while no file-size limit is set: the microvisor checks it */
        s->fds[fd].access = (uint8_t)((access != G_O_WRONLY ? FD_READ : 0) |
                                      (access != G_O_RDONLY && !s->file_size_limited ?
                                       FD_WRITE : 0));
        s->fds[fd].kind = IO_PLAIN;
        s->fds[fd].description = 0;
        __atomic_store_n(&s->fds[fd].host_fd, (int32_t)host, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&s->files_lock);
    *result = fd;
    return 1;
}

/* close of a file opened here that Python never adopted; 0: Python's close. */
static int fast_close(SlotObject *s, int64_t fd, int64_t *result)
{
    if (fd >= FD_MIRROR || __atomic_load_n(&s->owner[fd], __ATOMIC_ACQUIRE) != FD_OPENED_HERE)
        return 0;
    pthread_mutex_lock(&s->files_lock);
    OpenedHere *o = s->opened[fd];
    if (s->owner[fd] != FD_OPENED_HERE || s->posix_locks) {
        pthread_mutex_unlock(&s->files_lock);
        return 0;                     /* its locks go with it: sys_locks */
    }
    s->opened[fd] = NULL;
    s->owner[fd] = FD_FREE;
    __atomic_store_n(&s->fds[fd].host_fd, -1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s->files_lock);
    close_when_unused(o->host_fd);
    share_give_n(s->fd_share, 1);
    free(o);
    *result = 0;
    return 1;
}

/* ------------------------------------------------------------------ fstat */

/* fstat of a file whose I/O the trampoline serves (mirrored): the host's stat, as
 * abi.pack_stat lays it out (x86_64's struct stat) with the owners the cage sees
 * (abi.seen_owner: the host user Lind runs as is the cage's own user, any other owner
 * is nobody). Every OpenFile's stat is its host fd's; a file not mirrored (a
 * directory, a file in the microvisor's memory) goes to the handler. */
#define OVERFLOW_ID 65534

typedef struct {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    int64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
    int64_t unused[3];
} GuestStat;
_Static_assert(sizeof(GuestStat) == 144, "the guest's struct stat is x86_64's");

/* `st` as the cage sees it, written at `addr`. */
static int put_stat(SlotObject *s, MemoryObject *m, const struct stat *st, uint64_t addr,
                    int64_t *result)
{
    GuestStat k = {
        .dev = st->st_dev, .ino = st->st_ino, .nlink = st->st_nlink, .mode = st->st_mode,
        .uid = st->st_uid == s->host_euid ? (uint32_t)s->ids[FAST_GETEUID] : OVERFLOW_ID,
        .gid = st->st_gid == s->host_egid ? (uint32_t)s->ids[FAST_GETEGID] : OVERFLOW_ID,
        .rdev = st->st_rdev, .size = st->st_size, .blksize = st->st_blksize,
        .blocks = st->st_blocks,
        .atime = st->st_atim.tv_sec, .atime_ns = st->st_atim.tv_nsec,
        .mtime = st->st_mtim.tv_sec, .mtime_ns = st->st_mtim.tv_nsec,
        .ctime = st->st_ctim.tv_sec, .ctime_ns = st->st_ctim.tv_nsec,
    };
    if (!memory_writable(m, addr, sizeof k)) {
        *result = -EFAULT;
        return 1;
    }
    memcpy(m->base + addr, &k, sizeof k);
    *result = 0;
    return 1;
}

static int fast_fstat(SlotObject *s, MemoryObject *m, const int64_t *a, int64_t *result)
{
    if (a[0] < 0 || a[0] >= FD_MIRROR || !m)
        return 0;
    int fd = host_fd_hold(&s->fds[a[0]]);
    if (fd < 0)
        return 0;
    struct stat st;
    int r = fstat(fd, &st), err = errno;
    host_fd_let_go(fd);
    if (r < 0) {
        *result = -err;
        return 1;
    }
    return put_stat(s, m, &st, (uint64_t)a[1], result);
}

/* The cage's mount table, held (mounts_let_go) so that its directory fds stay open
 * while a call uses them; NULL once the cage's files are closed. */
static MountTable *hold_mounts(SlotObject *s)
{
    pthread_mutex_lock(&s->files_lock);
    MountTable *t = s->files_closed ? NULL : s->mounts;
    if (t)
        __atomic_add_fetch(&t->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&s->files_lock);
    return t;
}

/* The file a path argument names, as an O_PATH fd opened under its mount (see "file
 * opens"; the link itself when not `follow`ed): 1 with the fd or -errno in `*fd`, 0 when
 * the path is Python's to resolve, or when the caller asks about `writing` and the mount
 * takes no writes (whether that is EROFS is Python's to decide). */
static int open_path_here(SlotObject *s, MemoryObject *m, int64_t dirfd, uint64_t addr,
                          int follow, int writing, long *fd)
{
    if (!m || !__atomic_load_n(&s->mounts, __ATOMIC_ACQUIRE))
        return 0;
    char path[PATH_BYTES];
    size_t path_len = path_here(s, m, dirfd, addr, path);
    if (!path_len)
        return 0;
    MountTable *t = hold_mounts(s);
    if (!t)
        return 0;
    const char *rest;
    MountEntry *mount = mount_of(t, path, path_len, &rest);
    if (mount && writing && !mount->writes)
        mount = NULL;
    if (mount)
        *fd = open_under(mount->fd, rest, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW), 0);
    mounts_let_go(t);
    return mount != NULL;
}

/* newfstatat(dirfd, path, buf, flags) of a path resolved here, flags 0 or
 * AT_SYMLINK_NOFOLLOW: the file found (the link itself when not followed, as lstat sees
 * it), fstat'd and closed. */
#define G_AT_SYMLINK_NOFOLLOW 0x100
static int fast_stat_path(SlotObject *s, MemoryObject *m, const int64_t *a, int64_t *result)
{
    long fd;
    if ((a[3] & ~(int64_t)G_AT_SYMLINK_NOFOLLOW) ||
        !open_path_here(s, m, a[0], (uint64_t)a[1], !(a[3] & G_AT_SYMLINK_NOFOLLOW), 0, &fd))
        return 0;
    if (fd < 0) {
        *result = fd;
        return 1;
    }
    struct stat st;
    int r = fstat((int)fd, &st), err = errno;
    close((int)fd);
    if (r < 0) {
        *result = -err;
        return 1;
    }
    return put_stat(s, m, &st, (uint64_t)a[2], result);
}

/* access(path, mode) and faccessat(dirfd, path, mode) of a path resolved here: the
 * kernel's check of the file found, with the thread's ids (the cage's: act_as), as
 * sys_files._access makes it. W_OK only under a mount that takes writes, where no file
 * lies under a read-only mount's directory; elsewhere EROFS is Python's to decide. */
static int fast_access(SlotObject *s, MemoryObject *m, int64_t dirfd, uint64_t addr,
                       int64_t mode, int64_t *result)
{
    uint32_t want = (uint32_t)mode;
    if (want & ~(uint32_t)(R_OK | W_OK | X_OK)) {
        *result = -EINVAL;      /* as Linux, before the path */
        return 1;
    }
    long fd;
    if (!open_path_here(s, m, dirfd, addr, 1, (want & W_OK) != 0, &fd))
        return 0;
    if (fd < 0) {
        *result = fd;
        return 1;
    }
    long r = want ? syscall(SYS_faccessat2, (int)fd, "", want, AT_EACCESS | AT_EMPTY_PATH) : 0;
    int err = errno;
    close((int)fd);
    *result = r < 0 ? -err : 0;
    return 1;
}

/* readlink(path, buf, size) and readlinkat(dirfd, path, buf, size) of a path resolved
 * here: the link found (not followed) read through its O_PATH fd, as much of its text
 * as `size` allows, as sys_files._readlink gives it. A file that is no link (the fd
 * opened, so it is there) is EINVAL, as Linux says. */
static int fast_readlink(SlotObject *s, MemoryObject *m, int64_t dirfd, uint64_t addr,
                         uint64_t buf, int64_t size, int64_t *result)
{
    if ((int32_t)size <= 0) {
        *result = -EINVAL;
        return 1;
    }
    long fd;
    if (!open_path_here(s, m, dirfd, addr, 0, 0, &fd))
        return 0;
    if (fd < 0) {
        *result = fd;
        return 1;
    }
    char text[PATH_BYTES];
    ssize_t n = readlinkat((int)fd, "", text, sizeof text);
    int err = errno;
    close((int)fd);
    if (n < 0) {
        *result = err == ENOENT ? -EINVAL : -err;
        return 1;
    }
    if (n > (int32_t)size)
        n = (int32_t)size;
    if (!memory_writable(m, buf, (uint64_t)n)) {
        *result = -EFAULT;
        return 1;
    }
    memcpy(m->base + buf, text, (size_t)n);
    *result = n;
    return 1;
}

/* ------------------------------------------------------------ names removed, moved */

/* unlink, rmdir, unlinkat, rename and renameat of paths resolved as FAST_OPEN's, as
 * sys_files makes them: the directory holding the last name is opened (O_PATH) under
 * its mount with openat2(RESOLVE_IN_ROOT), and the host's unlinkat or renameat is given
 * that directory and the name, a single component, so no link or `..` can lead the
 * change out of the mount. The kernel checks the thread's ids, the cage's (act_as).
 * Python's: a path path_here leaves to it (`..`, a trailing `/` or `/.`, "." itself,
 * /dev, /proc, /etc, a dirfd that is no host directory), a mount point or "/" (EBUSY), a
 * mount that takes no writes (read-only, or near one: EROFS), two mounts (EXDEV). */
#define G_AT_REMOVEDIR 0x200

/* The mount whose directory holds the last name of `path` (path_here's), with that
 * directory's path inside the mount in `*dir` and the name in `*name` (both cut out of
 * `path`); NULL when the change is Python's (see above). */
static MountEntry *parent_here(MountTable *t, char *path, size_t path_len, const char **dir,
                               const char **name)
{
    for (int i = 0; i < t->count; i++)
        if (t->m[i].len == path_len && !memcmp(t->m[i].guest, path, path_len))
            return NULL;
    const char *rest;
    MountEntry *mount = mount_of(t, path, path_len, &rest);
    if (!mount || !mount->writes)
        return NULL;
    char *last = path + (rest - path);    /* rest lies in path: not a mount point */
    char *slash = strrchr(last, '/');
    if (slash) {
        *slash = '\0';
        *dir = last;
        *name = slash + 1;
    } else {
        *dir = ".";
        *name = last;
    }
    return mount;
}

static long open_dir_under(MountEntry *mount, const char *dir)
{
    return open_under(mount->fd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}

static int fast_unlink(SlotObject *s, MemoryObject *m, int64_t dirfd, uint64_t addr,
                       int64_t flags, int64_t *result)
{
    if (!m || (flags & ~(int64_t)G_AT_REMOVEDIR) || !__atomic_load_n(&s->mounts, __ATOMIC_ACQUIRE))
        return 0;
    char path[PATH_BYTES];
    size_t path_len = path_here(s, m, dirfd, addr, path);
    MountTable *t = path_len ? hold_mounts(s) : NULL;
    if (!t)
        return 0;
    const char *dir, *name;
    MountEntry *mount = parent_here(t, path, path_len, &dir, &name);
    long pfd = mount ? open_dir_under(mount, dir) : 0;
    mounts_let_go(t);
    if (!mount)
        return 0;
    if (pfd < 0) {
        *result = pfd;
        return 1;
    }
    int r = unlinkat((int)pfd, name, flags ? AT_REMOVEDIR : 0), err = errno;
    close((int)pfd);
    *result = r < 0 ? -err : 0;
    return 1;
}

static int fast_rename(SlotObject *s, MemoryObject *m, int64_t olddirfd, uint64_t oldaddr,
                       int64_t newdirfd, uint64_t newaddr, int64_t *result)
{
    if (!m || !__atomic_load_n(&s->mounts, __ATOMIC_ACQUIRE))
        return 0;
    char old[PATH_BYTES], new[PATH_BYTES];
    size_t old_len = path_here(s, m, olddirfd, oldaddr, old);
    size_t new_len = old_len ? path_here(s, m, newdirfd, newaddr, new) : 0;
    MountTable *t = new_len ? hold_mounts(s) : NULL;
    if (!t)
        return 0;
    const char *old_dir, *old_name, *new_dir, *new_name;
    MountEntry *mount = parent_here(t, old, old_len, &old_dir, &old_name);
    if (!mount || parent_here(t, new, new_len, &new_dir, &new_name) != mount) {
        mounts_let_go(t);
        return 0;
    }
    long ofd = open_dir_under(mount, old_dir);
    long nfd = ofd < 0 ? 0 : open_dir_under(mount, new_dir);
    mounts_let_go(t);
    if (ofd < 0 || nfd < 0) {
        if (ofd >= 0)
            close((int)ofd);
        *result = ofd < 0 ? ofd : nfd;
        return 1;
    }
    int r = renameat((int)ofd, old_name, (int)nfd, new_name), err = errno;
    close((int)ofd);
    close((int)nfd);
    *result = r < 0 ? -err : 0;
    return 1;
}

/* ---------------------------------------------------------------- futexes */

/* A cage's futex is the host kernel's futex on the word's host address, so waiters
 * and wakers meet as they do on Linux without Python in between. The key follows
 * Linux's: a word in one of the cage's MAP_SHARED regions (memfd pages of their own,
 * mapped at the same pages into every cage that shares them) is waited on as a
 * shared futex, which the kernel keys by those pages, so cages meet on it; any other
 * word, and every call with FUTEX_PRIVATE_FLAG, as a private futex, keyed by host
 * address: each cage's memory has addresses of its own, so no two cages meet there
 * (a shared key is taken from the page when it is not anonymous memory, and a cage
 * has no say in what backs its pages). A wait also waits on the wake word of its
 * wake eventfd (see "wake words") with futex_waitv. */
#define FUTEX_WAITV_NR 449            /* x86_64 and aarch64 alike */
#define FUTEX2_SIZE_U32 0x02
#define FUTEX_SLICE_NS 10000000LL     /* waits futex_waitv cannot make: looks apart */
struct host_futex_waitv {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t reserved;
};

enum { FUTEX_WOKEN = 0, FUTEX_WAKE_FD_WRITTEN = 1 };
static int waitv_missing;             /* the kernel predates futex_waitv (5.16) */

/* Whether guest `addr` is in one of the cage's MAP_SHARED regions; -1: unknown. */
static int slot_shared_at(SlotObject *s, uint64_t addr)
{
    pthread_mutex_lock(&s->ranges_lock);
    int shared = s->shared_count < 0 ? -1 : 0;
    for (int i = 0; i < s->shared_count; i++)
        if (addr >= s->shared_start[i] && addr < s->shared_end[i]) {
            shared = 1;
            break;
        }
    pthread_mutex_unlock(&s->ranges_lock);
    return shared;
}

static int64_t now_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (int64_t)t.tv_sec * NS_PER_S + t.tv_nsec;
}

/* Without the GIL: wait while the word at `word` holds `expected`, until a wake, the
 * absolute `deadline` on `clock` (-1: none), or a write of wake eventfd `wake`.
 * FUTEX_WOKEN, FUTEX_WAKE_FD_WRITTEN, or -errno (EAGAIN, ETIMEDOUT, EFAULT). */
static int futex_block(uint32_t *word, uint32_t expected, int shared, uint32_t bitset,
                       int64_t deadline, clockid_t clock, int wake)
{
    uint32_t *hint = &wake_words[wake];
    int private = shared ? 0 : FUTEX_PRIVATE_FLAG;
    if (bitset == FUTEX_BITSET_MATCH_ANY && !__atomic_load_n(&waitv_missing, __ATOMIC_RELAXED)) {
        struct host_futex_waitv w[2] = {
            {.val = expected, .uaddr = (uintptr_t)word, .flags = FUTEX2_SIZE_U32 | private},
            {.val = 0, .uaddr = (uintptr_t)hint, .flags = FUTEX2_SIZE_U32 | FUTEX_PRIVATE_FLAG},
        };
        struct timespec until = {.tv_sec = deadline / NS_PER_S, .tv_nsec = deadline % NS_PER_S};
        for (;;) {
            long r = syscall(FUTEX_WAITV_NR, w, 2, 0, deadline < 0 ? NULL : &until, clock);
            if (r == 0 || r == 1)
                return r == 0 ? FUTEX_WOKEN : FUTEX_WAKE_FD_WRITTEN;
            int err = errno;
            if (err == EINTR)      /* a host signal: the deadline is absolute */
                continue;
            if (err == EAGAIN)
                return __atomic_load_n(hint, __ATOMIC_ACQUIRE) ? FUTEX_WAKE_FD_WRITTEN : -EAGAIN;
            if (err != ENOSYS)
                return -err;
            __atomic_store_n(&waitv_missing, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    /* A bitset other than "any", which futex_waitv has no room for (or no futex_waitv):
     * FUTEX_WAIT_BITSET in slices, looking at the wake word between them. */
    int op = FUTEX_WAIT_BITSET | private | (clock == CLOCK_REALTIME ? FUTEX_CLOCK_REALTIME : 0);
    for (;;) {
        if (__atomic_load_n(hint, __ATOMIC_ACQUIRE))
            return FUTEX_WAKE_FD_WRITTEN;
        int64_t until = now_ns(clock) + FUTEX_SLICE_NS;
        int last = deadline >= 0 && deadline <= until;
        if (last)
            until = deadline;
        struct timespec t = {.tv_sec = until / NS_PER_S, .tv_nsec = until % NS_PER_S};
        if (syscall(SYS_futex, word, op, expected, &t, NULL, bitset) == 0)
            return FUTEX_WOKEN;
        int err = errno;
        if (err == EINTR || (err == ETIMEDOUT && !last))
            continue;
        return -err;
    }
}

static int64_t futex_wake_host(uint32_t *word, int32_t count, int shared, uint32_t bitset)
{
    long r = syscall(SYS_futex, word, FUTEX_WAKE_BITSET | (shared ? 0 : FUTEX_PRIVATE_FLAG),
                     count, NULL, NULL, bitset);
    return r < 0 ? -errno : r;
}

/* FUTEX_REQUEUE (`compare` 0) or FUTEX_CMP_REQUEUE: wake `nr_wake` of the waiters on
 * `word`, move up to `nr_requeue` more to `target` (musl's condition variables). A
 * waiter moved so still ends on its wake word: futex_waitv waits move with it. */
static int64_t futex_requeue_host(uint32_t *word, uint32_t *target, int32_t nr_wake,
                                  uint32_t nr_requeue, int compare, uint32_t expected, int shared)
{
    int op = (compare ? FUTEX_CMP_REQUEUE : FUTEX_REQUEUE) | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    long r = syscall(SYS_futex, word, op, nr_wake, (void *)(uintptr_t)nr_requeue, target, expected);
    return r < 0 ? -errno : r;
}

/* futex(2) WAIT, WAKE, their _BITSET forms, and the REQUEUEs from the cage's own
 * thread. Returns 0
 * when the handler must do it: another command, a word whose key the ranges cannot
 * say, no wake fd made yet, or a wait its wake fd ended (a signal: the handler
 * drains the fd and decides between EINTR and waiting again). */
static int fast_futex(SlotObject *s, MemoryObject *m, const int64_t *a, int64_t *result)
{
    uint32_t op = (uint32_t)a[1], cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    uint64_t addr = (uint32_t)a[0], target = (uint32_t)a[4];
    int waits = cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
    int requeues = cmd == FUTEX_REQUEUE || cmd == FUTEX_CMP_REQUEUE;
    if (!m || (!waits && !requeues && cmd != FUTEX_WAKE && cmd != FUTEX_WAKE_BITSET))
        return 0;
    *result = -EINVAL;
    if (addr % 4 || (requeues && target % 4))
        return 1;
    *result = -ENOSYS;
    if ((op & FUTEX_CLOCK_REALTIME) && !waits)
        return 1;
    uint32_t bitset = FUTEX_BITSET_MATCH_ANY;
    if (cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAKE_BITSET) {
        bitset = (uint32_t)a[5];
        *result = -EINVAL;
        if (!bitset)
            return 1;
    }
    int shared = op & FUTEX_PRIVATE_FLAG ? 0 : slot_shared_at(s, addr);
    if (shared < 0)
        return 0;
    *result = -EFAULT;
    if (!memory_in_bounds(m, addr, 4))
        return 1;
    uint32_t *word = (uint32_t *)(m->base + addr);
    if (requeues) {
        /* one key kind for both words, as Linux has: shared if either is */
        int shared_target = op & FUTEX_PRIVATE_FLAG ? 0 : slot_shared_at(s, target);
        if (shared_target < 0)
            return 0;
        if (!memory_in_bounds(m, target, 4))
            return 1;
        *result = futex_requeue_host(word, (uint32_t *)(m->base + target), (int32_t)a[2],
                                     (uint32_t)a[3], cmd == FUTEX_CMP_REQUEUE, (uint32_t)a[5],
                                     shared || shared_target);
        return 1;
    }
    if (!waits) {
        *result = futex_wake_host(word, (int32_t)a[2], shared, bitset);
        return 1;
    }
    clockid_t clock = op & FUTEX_CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC;
    int64_t deadline = -1;
    uint64_t at = (uint32_t)a[3];
    if (at) {
        int64_t ns = guest_timespec_ns(m, at);
        if (ns < 0) {
            *result = ns;
            return 1;
        }
        if (ns < GUEST_TIME_MAX)      /* else centuries: no deadline */
            deadline = (cmd == FUTEX_WAIT ? now_ns(clock) : 0) + ns;   /* WAIT's is relative */
    }
    int wake = wake_acquire(s);
    if (wake < 0)
        return 0;
    int r = -EINTR;
    if (!__atomic_load_n(&s->exiting, __ATOMIC_ACQUIRE)) {
        __atomic_add_fetch(&s->futex_waiters, 1, __ATOMIC_RELAXED);
        r = futex_block(word, (uint32_t)a[2], shared, bitset, deadline, clock, wake);
        __atomic_sub_fetch(&s->futex_waiters, 1, __ATOMIC_RELAXED);
    }
    wake_release(s);
    if (r == FUTEX_WAKE_FD_WRITTEN) {
        if (!__atomic_load_n(&s->exiting, __ATOMIC_ACQUIRE))
            return 0;
        r = -EINTR;        /* killed: the cage stops as this call returns */
    }
    *result = r;
    return 1;
}

/* futex_wait(memory, addr, expected, shared, bitset, deadline_ns, realtime, wake_fd)
 * -> FUTEX_WOKEN, or FUTEX_WAKE_FD_WRITTEN (the caller drains wake_fd, then decides);
 * OSError EAGAIN (the word differs), ETIMEDOUT, EFAULT. For the handler. */
static PyObject *Slot_futex_wait(SlotObject *s, PyObject *args)
{
    MemoryObject *memory, *m;
    PyObject *where, *wake_obj;
    unsigned int expected, bitset;
    int shared, realtime;
    long long deadline;
    uint64_t addr;
    if (!PyArg_ParseTuple(args, "O!OIpILpO", &MemoryType, &memory, &where, &expected, &shared,
                          &bitset, &deadline, &realtime, &wake_obj) ||
        resolve(memory, where, &m, &addr))
        return NULL;
    int wake = wake_fd_arg(wake_obj);
    if (wake < 0)
        return NULL;
    if (addr % 4 || !bitset)
        return set_errno(EINVAL);
    if (memory_check(m, addr, 4, 0))
        return NULL;
    memory_pin(m);
    uint32_t *word = (uint32_t *)(m->base + addr);
    int r;
    __atomic_add_fetch(&s->futex_waiters, 1, __ATOMIC_RELAXED);
    Py_BEGIN_ALLOW_THREADS
    r = futex_block(word, expected, shared, bitset, deadline,
                    realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, wake);
    Py_END_ALLOW_THREADS
    __atomic_sub_fetch(&s->futex_waiters, 1, __ATOMIC_RELAXED);
    memory_unpin(m);
    return r < 0 ? set_errno(-r) : PyLong_FromLong(r);
}

/* futex_wake(memory, addr, count, shared, bitset) -> how many were woken. */
static PyObject *Slot_futex_wake(SlotObject *s, PyObject *args)
{
    MemoryObject *memory, *m;
    PyObject *where;
    int count, shared;
    unsigned int bitset;
    uint64_t addr;
    if (!PyArg_ParseTuple(args, "O!OipI", &MemoryType, &memory, &where, &count, &shared,
                          &bitset) ||
        resolve(memory, where, &m, &addr))
        return NULL;
    if (addr % 4 || !bitset)
        return set_errno(EINVAL);
    if (memory_check(m, addr, 4, 0))
        return NULL;
    /* Without the GIL: on a busy CPU the woken thread runs at once, and most often it
     * wants a host call next (a joiner making its next thread). The kernel only keys
     * on the address, so memory released meanwhile is no danger. */
    uint32_t *word = (uint32_t *)(m->base + addr);
    int64_t r;
    Py_BEGIN_ALLOW_THREADS
    r = futex_wake_host(word, count, shared, bitset);
    Py_END_ALLOW_THREADS
    return r < 0 ? set_errno((int)-r) : PyLong_FromLongLong(r);
}

/* futex_requeue(memory, addr, target, nr_wake, nr_requeue, compare, expected, shared)
 * -> how many were woken and moved (FUTEX_REQUEUE, or FUTEX_CMP_REQUEUE if `compare`). */
static PyObject *Slot_futex_requeue(SlotObject *s, PyObject *args)
{
    MemoryObject *memory, *m, *m2;
    PyObject *where, *where2;
    int nr_wake, compare, shared;
    unsigned int nr_requeue, expected;
    uint64_t addr, target;
    if (!PyArg_ParseTuple(args, "O!OOiIpIp", &MemoryType, &memory, &where, &where2, &nr_wake,
                          &nr_requeue, &compare, &expected, &shared) ||
        resolve(memory, where, &m, &addr) || resolve(memory, where2, &m2, &target))
        return NULL;
    if (addr % 4 || target % 4)
        return set_errno(EINVAL);
    if (memory_check(m, addr, 4, 0) || memory_check(m2, target, 4, 0))
        return NULL;
    int64_t r = futex_requeue_host((uint32_t *)(m->base + addr), (uint32_t *)(m2->base + target),
                                   nr_wake, nr_requeue, compare, expected, shared);
    return r < 0 ? set_errno((int)-r) : PyLong_FromLongLong(r);
}

/* set_shared_ranges([(start, end), ...]): the cage's MAP_SHARED regions now. */
static PyObject *Slot_set_shared_ranges(SlotObject *s, PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "expected a list of (start, end)");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    uint64_t start[SHARED_RANGES], end[SHARED_RANGES];
    for (Py_ssize_t i = 0; i < n && i < SHARED_RANGES; i++) {
        unsigned long long a, b;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "KK", &a, &b)) {
            Py_DECREF(seq);
            return NULL;
        }
        start[i] = a;
        end[i] = b;
    }
    Py_DECREF(seq);
    pthread_mutex_lock(&s->ranges_lock);
    s->shared_count = n > SHARED_RANGES ? -1 : (int)n;
    for (Py_ssize_t i = 0; i < n && i < SHARED_RANGES; i++) {
        s->shared_start[i] = start[i];
        s->shared_end[i] = end[i];
    }
    pthread_mutex_unlock(&s->ranges_lock);
    Py_RETURN_NONE;
}

static PyObject *Slot_get_futex_waiters(SlotObject *s, void *unused)
{
    return PyLong_FromLong(__atomic_load_n(&s->futex_waiters, __ATOMIC_RELAXED));
}

#define CAGE_ID_BITS 0x7fffffffffffffffLL   /* a cage id without GRATE_MEMORY_FLAG */
/* ------------------------------------------------------------- signal masks
 *
 * A thread's blocked-signal mask lives in a MaskCell (ThreadSignals.mask), so that
 * rt_sigprocmask can change it here, without Python. What a new mask lets through, or
 * holds back, matters only when a signal is pending: Slot.signals_quiet says none is,
 * and Python clears it before it reads any mask (and sets it again once nothing is
 * pending). Here the mask is stored first and the flag read after: so either Python
 * reads the new mask, or this reads the flag cleared and has Python settle (the
 * settler set at init); never neither (a signal left pending and unblocked, told to
 * nobody). Only the thread itself changes its mask; others only read it.
 *
 * While signals are pending but none can be taken (all blocked: a child's SIGCHLD during
 * a fork, where the parent blocks every signal), a cell's `held` says which are pending
 * for its thread (the process's and its own), and a new mask that still blocks them all
 * changes nothing Python decides: that one settles nothing. Python makes `held` unknown
 * (HELD_UNKNOWN) before it reads any mask, as the flag, and says it again once settled
 * with nothing to take; HELD_UNKNOWN is never blocked by a mask (SIGKILL and SIGSTOP
 * never are), so an unknown cell always settles. */
#define HELD_UNKNOWN UINT64_MAX

typedef struct {
    PyObject_HEAD
    uint64_t mask;
    uint64_t held;
} MaskCellObject;

static PyObject *MaskCell_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    unsigned long long mask = 0;
    if (!PyArg_ParseTuple(args, "|K", &mask))
        return NULL;
    MaskCellObject *c = (MaskCellObject *)type->tp_alloc(type, 0);
    if (c) {
        c->mask = mask;
        c->held = HELD_UNKNOWN;
    }
    return (PyObject *)c;
}

static PyObject *MaskCell_get_value(MaskCellObject *c, void *unused)
{
    return PyLong_FromUnsignedLongLong(__atomic_load_n(&c->mask, __ATOMIC_SEQ_CST));
}

static int MaskCell_set_value(MaskCellObject *c, PyObject *value, void *unused)
{
    if (!value || !PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "a mask is an int");
        return -1;
    }
    uint64_t mask = PyLong_AsUnsignedLongLongMask(value);
    if (PyErr_Occurred())
        return -1;
    __atomic_store_n(&c->mask, mask, __ATOMIC_SEQ_CST);
    return 0;
}

static PyObject *MaskCell_get_held(MaskCellObject *c, void *unused)
{
    uint64_t held = __atomic_load_n(&c->held, __ATOMIC_SEQ_CST);
    if (held == HELD_UNKNOWN)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(held);
}

static int MaskCell_set_held(MaskCellObject *c, PyObject *value, void *unused)
{
    uint64_t held = HELD_UNKNOWN;
    if (!value || (value != Py_None && !PyLong_Check(value))) {
        PyErr_SetString(PyExc_TypeError, "held is an int or None");
        return -1;
    }
    if (value != Py_None) {
        held = PyLong_AsUnsignedLongLongMask(value);
        if (PyErr_Occurred())
            return -1;
    }
    __atomic_store_n(&c->held, held, __ATOMIC_SEQ_CST);
    return 0;
}

static PyGetSetDef MaskCell_getset[] = {
    {"value", (getter)MaskCell_get_value, (setter)MaskCell_set_value, "the mask's bits", NULL},
    {"held", (getter)MaskCell_get_held, (setter)MaskCell_set_held,
     "the signals pending for the thread while none can be taken (None: unknown)", NULL},
    {NULL}
};

static PyTypeObject MaskCellType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.MaskCell",
    .tp_basicsize = sizeof(MaskCellObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A thread's blocked-signal mask: MaskCell(bits=0)",
    .tp_new = MaskCell_new,
    .tp_getset = MaskCell_getset,
};

/* The cage thread this host thread runs: its slot (borrowed, as own_wake_slot) and
 * its mask (held until thread_done). */
static __thread SlotObject *own_mask_slot;
static __thread MaskCellObject *own_mask_cell;
static PyObject *signal_settler;    /* settle(cage): a pending signal met a new mask */

#define G_SIG_BLOCK 0
#define G_SIG_UNBLOCK 1
#define G_SIG_SETMASK 2
#define G_UNBLOCKABLE ((1ULL << (9 - 1)) | (1ULL << (19 - 1)))   /* SIGKILL, SIGSTOP */

/* rt_sigprocmask(how, set, oldset, 8) of the calling thread, when it is the cage's own;
 * any error, and any other case, is Python's (it reads the set before it changes the
 * mask, and writes the old one after, as Linux). */
static int fast_sigprocmask(SlotObject *s, MemoryObject *m, const int64_t *a, int64_t *result)
{
    MaskCellObject *cell = own_mask_cell;
    uint64_t set_at = (uint64_t)a[1], old_at = (uint64_t)a[2];
    int how = (int32_t)a[0];
    if (own_mask_slot != s || !cell || !signal_settler || !m || m->readonly || a[3] != 8 ||
        (set_at && how != G_SIG_BLOCK && how != G_SIG_UNBLOCK && how != G_SIG_SETMASK) ||
        (set_at && !memory_in_bounds(m, set_at, 8)) ||
        (old_at && !memory_writable(m, old_at, 8)))
        return 0;
    uint64_t previous = __atomic_load_n(&cell->mask, __ATOMIC_SEQ_CST), next = previous;
    if (set_at) {
        uint64_t set;
        memcpy(&set, m->base + set_at, sizeof set);
        set &= ~G_UNBLOCKABLE;
        next = how == G_SIG_BLOCK ? previous | set : how == G_SIG_UNBLOCK ? previous & ~set : set;
        __atomic_store_n(&cell->mask, next, __ATOMIC_SEQ_CST);
    }
    if (old_at)
        memcpy(m->base + old_at, &previous, sizeof previous);
    *result = 0;
    if (set_at && !__atomic_load_n(&s->signals_quiet, __ATOMIC_SEQ_CST) &&
        (__atomic_load_n(&cell->held, __ATOMIC_SEQ_CST) & ~next)) {
        PyGILState_STATE g = PyGILState_Ensure();
        PyObject *res = PyObject_CallOneArg(signal_settler, s->cage);
        if (!res)
            *result = exception_to_errno(s);
        Py_XDECREF(res);
        PyGILState_Release(g);
    }
    return 1;
}

/* ---------------------------------------------------------- setjmp and longjmp
 *
 * In a program that forks, Asyncify also carries setjmp and longjmp (calls 1020 and 1021):
 * setjmp unwinds the wasm stack out of the instance, keeps the frames unwound as a jump
 * point, and rewinds them so that the call returns 0; longjmp unwinds and rewinds the
 * frames of a jump point, whose setjmp then returns the value. Through the Python
 * handlers each cost 10-20 us of Python per call (a script making many pcalls in Lua
 * built with fork took 53 s instead of 1.2 s). Here, when the instance was entered by
 * Unwinder.enter on this host thread and nothing but wasm lies between (no Python
 * handler, no epoch tick's Python), the whole cycle runs without the GIL: the call starts
 * the unwind, Unwinder.enter sees the export return, keeps or restores the frames, starts
 * the rewind and calls the export again, and the rewound call returns the result. The
 * first setjmp of an instance, and any other case, is the Python handler's, which uses
 * the same jump points (JumpPoints), so the two can take each other's over.
 *
 * fork (57) is unwound the same way; once the stack is out, Python makes the child from
 * it (Cage.fork_unwound, the GIL taken for that alone), and the rewound call returns the
 * child's id. A rewind Python starts in a bound instance (a fork's child, which the fork
 * binds; a first setjmp's or fork's) is begun here too (Unwinder.rewind), so the call
 * it returns to ends it without the handler. Through the handlers a fork cost two
 * handler calls and four of Asyncify's exports called from Python: ~15 us.
 *
 * The frames are the cage's own bytes, in its memory: every host access is bounds
 * checked, and a header or token the program spoiled only ends that program. */

/* Wasmtime C API shapes for globals: wasmtime_global_t and wasmtime_val_t (init checks
 * their sizes against wasmtime-py's). */
typedef struct {
    uint64_t store_id;
    uint32_t private1, private2, private3;
} wt_global_t;

typedef struct {
    uint8_t kind;
    union {
        int32_t i32;
        int64_t i64;
        uint8_t bytes[24];
    } of;
} wt_val_t;

#define WT_I32 0
#define WT_F64 3
typedef void (*wt_global_get_fn)(void *ctx, const wt_global_t *global, wt_val_t *out);
typedef void *(*wt_global_set_fn)(void *ctx, const wt_global_t *global, const wt_val_t *val);
static wt_global_get_fn global_get;
static wt_global_set_fn global_set;

/* What the frames of one process tree's jump points hold of the host's memory at once:
 * shared by its cages' JumpPoints (a fork's copy shares its parent's) and by each of
 * those frames, it bounds the tree, where each cage's own most would let a thousand
 * forked cages hold a thousand times as much. */
typedef struct {
    uint64_t held;       /* atomic: bytes of frames alive */
    uint64_t most;
    uint32_t refs;       /* atomic: the JumpPoints and frames that point to it */
} FrameBudget;

static void budget_let_go(FrameBudget *b)
{
    if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
        PyMem_RawFree(b);
}

/* One jump point's frames, shared by the copies fork makes of the cage's points. */
typedef struct {
    uint32_t refs;       /* atomic: a parent's and its forks' JumpPoints hold it at once */
    uint32_t len;
    FrameBudget *budget; /* its tree's, which it is counted in while it lives */
    uint8_t bytes[];
} Frames;

static void frames_let_go(Frames *f)
{
    if (f && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        __atomic_sub_fetch(&f->budget->held, f->len, __ATOMIC_ACQ_REL);
        budget_let_go(f->budget);
        PyMem_RawFree(f);
    }
}

#define JUMP_BUCKETS 2048        /* tokens are consecutive: token % JUMP_BUCKETS spreads */
#define NO_POINT (-1)

typedef struct {
    uint64_t token;
    Frames *frames;
    uint32_t stack_pointer;
    uint32_t env;                /* the jmp_buf its setjmp filled */
    int older, newer;            /* the list from least to most recently used */
    int chain;                   /* the next point in its bucket, or the next free one */
    int env_chain;               /* while `latest`: the next latest point in its env bucket */
    char latest;                 /* the last point setjmp filled its jmp_buf with */
} JumpPoint;

/* A program's outermost jump point (an interpreter's top-level error handler) must
 * outlive the thousands of points its protected calls make after it, where plain LRU
 * forgets it. A setjmp into a jmp_buf supersedes the point the buffer held; made at the
 * same stack depth as that one or above it (its stack pointer no lower), it proves that
 * point's function has returned (the next pcall at the same depth), which goes to the
 * least recently used end, the first to go when room is needed. Made deeper (a nested
 * TRY over one global jmp_buf, whose outer point a saved copy of the buffer's bytes
 * will jump to, as C allows), it leaves that point where it is. */
typedef struct {
    int buckets[JUMP_BUCKETS];
    int env_buckets[JUMP_BUCKETS];   /* the latest point of each jmp_buf */
    int oldest, newest, free_list, count;
    uint64_t bytes;                  /* of the frames held */
    JumpPoint points[];              /* the JumpPoints' most */
} PointTable;

#define ENV_BUCKET(env) (((env) >> 3) % JUMP_BUCKETS)

/* A cage's jump points by token: what setjmp kept, for longjmp. The threads of a cage
 * share it, and the trampoline uses it without the GIL: every use holds `lock`. */
typedef struct {
    PyObject_HEAD
    pthread_mutex_t lock;
    PointTable *table;           /* made at the first save */
    uint64_t next_token;
    int most;                    /* points kept: past it the least recently used go */
    uint64_t most_bytes;         /* of their frames (host memory outside the cage's budget) */
    FrameBudget *budget;         /* its tree's */
} JumpPointsObject;

static PyTypeObject JumpPointsType;

static PointTable *point_table_new(int most)
{
    PointTable *t = PyMem_RawMalloc(sizeof *t + (size_t)most * sizeof(JumpPoint));
    if (!t)
        return NULL;
    for (int i = 0; i < JUMP_BUCKETS; i++)
        t->buckets[i] = t->env_buckets[i] = NO_POINT;
    for (int i = 0; i < most; i++)
        t->points[i].chain = i + 1 < most ? i + 1 : NO_POINT;
    t->free_list = 0;
    t->oldest = t->newest = NO_POINT;
    t->count = 0;
    t->bytes = 0;
    return t;
}

static int point_find(PointTable *t, uint64_t token)
{
    if (!t)
        return NO_POINT;
    for (int i = t->buckets[token % JUMP_BUCKETS]; i != NO_POINT; i = t->points[i].chain)
        if (t->points[i].token == token)
            return i;
    return NO_POINT;
}

static void point_unlink(PointTable *t, int i)
{
    JumpPoint *p = &t->points[i];
    if (p->older != NO_POINT)
        t->points[p->older].newer = p->newer;
    else
        t->oldest = p->newer;
    if (p->newer != NO_POINT)
        t->points[p->newer].older = p->older;
    else
        t->newest = p->older;
}

/* Put point i at the most recently used end of the list, or at the least. */
static void point_link(PointTable *t, int i, int newest)
{
    JumpPoint *p = &t->points[i];
    int *end = newest ? &t->newest : &t->oldest, *other_end = newest ? &t->oldest : &t->newest;
    *(newest ? &p->older : &p->newer) = *end;
    *(newest ? &p->newer : &p->older) = NO_POINT;
    if (*end != NO_POINT) {
        JumpPoint *was = &t->points[*end];
        *(newest ? &was->newer : &was->older) = i;
    } else {
        *other_end = i;
    }
    *end = i;
}

static void point_not_latest(PointTable *t, int i)
{
    JumpPoint *p = &t->points[i];
    if (!p->latest)
        return;
    int *at = &t->env_buckets[ENV_BUCKET(p->env)];
    while (*at != i)
        at = &t->points[*at].env_chain;
    *at = p->env_chain;
    p->latest = 0;
}

static void point_remove(PointTable *t, int i)
{
    JumpPoint *p = &t->points[i];
    point_not_latest(t, i);
    int *at = &t->buckets[p->token % JUMP_BUCKETS];
    while (*at != i)
        at = &t->points[*at].chain;
    *at = p->chain;
    point_unlink(t, i);
    t->bytes -= p->frames->len;
    frames_let_go(p->frames);
    p->frames = NULL;
    p->chain = t->free_list;
    t->free_list = i;
    t->count--;
}

/* Under the lock: keep `frames` (taken over) as point `token` of jmp_buf `env`, the
 * latest one setjmp filled it with if `latest`. */
static void points_add_locked(JumpPointsObject *j, uint64_t token, Frames *frames,
                              uint32_t stack_pointer, uint32_t env, int latest)
{
    PointTable *t = j->table;
    for (int k = latest ? t->env_buckets[ENV_BUCKET(env)] : NO_POINT; k != NO_POINT;
         k = t->points[k].env_chain) {
        if (t->points[k].env == env) {
            point_not_latest(t, k);
            if (t->points[k].stack_pointer <= stack_pointer) {   /* returned: first to go */
                point_unlink(t, k);
                point_link(t, k, 0);
            }
            break;
        }
    }
    while (t->count && (t->free_list == NO_POINT || t->bytes + frames->len > j->most_bytes))
        point_remove(t, t->oldest);
    int i = t->free_list;
    JumpPoint *p = &t->points[i];
    t->free_list = p->chain;
    p->token = token;
    p->frames = frames;
    p->stack_pointer = stack_pointer;
    p->env = env;
    p->latest = (char)latest;
    if (latest) {
        p->env_chain = t->env_buckets[ENV_BUCKET(env)];
        t->env_buckets[ENV_BUCKET(env)] = i;
    }
    p->chain = t->buckets[p->token % JUMP_BUCKETS];
    t->buckets[p->token % JUMP_BUCKETS] = i;
    point_link(t, i, 1);
    t->count++;
    t->bytes += frames->len;
}

/* Keep `len` bytes at `bytes` with the stack pointer as jmp_buf `env`'s point: the new
 * point's token, or 0 when the host has no memory for it. Without the GIL. */
static uint64_t points_save(JumpPointsObject *j, const uint8_t *bytes, uint32_t len,
                            uint32_t stack_pointer, uint32_t env)
{
    FrameBudget *b = j->budget;
    if (__atomic_add_fetch(&b->held, len, __ATOMIC_ACQ_REL) > b->most) {
        /* the tree holds its most: this cage's own points go first, oldest first (those
         * it shares with a parent or a child stay until they let go too) */
        pthread_mutex_lock(&j->lock);
        while (j->table && j->table->count && __atomic_load_n(&b->held, __ATOMIC_ACQUIRE) > b->most)
            point_remove(j->table, j->table->oldest);
        pthread_mutex_unlock(&j->lock);
        if (__atomic_load_n(&b->held, __ATOMIC_ACQUIRE) > b->most) {
            __atomic_sub_fetch(&b->held, len, __ATOMIC_ACQ_REL);
            return 0;
        }
    }
    Frames *f = PyMem_RawMalloc(sizeof *f + len);
    if (!f) {
        __atomic_sub_fetch(&b->held, len, __ATOMIC_ACQ_REL);
        return 0;
    }
    f->refs = 1;
    f->len = len;
    f->budget = b;
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
    memcpy(f->bytes, bytes, len);
    pthread_mutex_lock(&j->lock);
    if (!j->table && !(j->table = point_table_new(j->most))) {
        pthread_mutex_unlock(&j->lock);
        frames_let_go(f);
        return 0;
    }
    uint64_t token = j->next_token++;
    points_add_locked(j, token, f, stack_pointer, env, 1);
    pthread_mutex_unlock(&j->lock);
    return token;
}

/* The frames (held: let go of them) and stack pointer of point `token`, now the most
 * recently used; NULL if there is none. Without the GIL. */
static Frames *points_take(JumpPointsObject *j, uint64_t token, uint32_t *stack_pointer)
{
    pthread_mutex_lock(&j->lock);
    int i = point_find(j->table, token);
    Frames *f = NULL;
    if (i != NO_POINT) {
        JumpPoint *p = &j->table->points[i];
        point_unlink(j->table, i);
        point_link(j->table, i, 1);
        f = p->frames;
        __atomic_add_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
        *stack_pointer = p->stack_pointer;
    }
    pthread_mutex_unlock(&j->lock);
    return f;
}

static int points_have(JumpPointsObject *j, uint64_t token)
{
    pthread_mutex_lock(&j->lock);
    int found = point_find(j->table, token) != NO_POINT;
    pthread_mutex_unlock(&j->lock);
    return found;
}

static void points_clear_locked(JumpPointsObject *j)
{
    PointTable *t = j->table;
    if (!t)
        return;
    for (int i = t->oldest; i != NO_POINT; i = t->points[i].newer)
        frames_let_go(t->points[i].frames);
    PyMem_RawFree(t);
    j->table = NULL;
}

static PyObject *JumpPoints_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    unsigned long long first, most_bytes, tree_most_bytes;
    int most;
    if (!PyArg_ParseTuple(args, "KiKK", &first, &most, &most_bytes, &tree_most_bytes))
        return NULL;
    if (most < 1 || most > (1 << 20)) {
        PyErr_SetString(PyExc_ValueError, "JumpPoints: keep 1 to 2**20 points");
        return NULL;
    }
    FrameBudget *b = PyMem_RawMalloc(sizeof *b);
    if (!b)
        return PyErr_NoMemory();
    b->held = 0;
    b->most = tree_most_bytes;
    b->refs = 1;
    JumpPointsObject *j = (JumpPointsObject *)type->tp_alloc(type, 0);
    if (!j) {
        PyMem_RawFree(b);
        return NULL;
    }
    pthread_mutex_init(&j->lock, NULL);
    j->table = NULL;
    j->next_token = first ? first : 1;
    j->most = most;
    j->most_bytes = most_bytes;
    j->budget = b;
    return (PyObject *)j;
}

static void JumpPoints_dealloc(JumpPointsObject *j)
{
    points_clear_locked(j);
    budget_let_go(j->budget);
    pthread_mutex_destroy(&j->lock);
    Py_TYPE(j)->tp_free((PyObject *)j);
}

static PyObject *JumpPoints_save(JumpPointsObject *j, PyObject *args)
{
    Py_buffer frames;
    unsigned int stack_pointer, env;
    if (!PyArg_ParseTuple(args, "y*II", &frames, &stack_pointer, &env))
        return NULL;
    uint64_t token = frames.len <= UINT32_MAX
        ? points_save(j, frames.buf, (uint32_t)frames.len, stack_pointer, env) : 0;
    PyBuffer_Release(&frames);
    if (!token)
        return PyErr_NoMemory();
    return PyLong_FromUnsignedLongLong(token);
}

static PyObject *JumpPoints_take(JumpPointsObject *j, PyObject *arg)
{
    uint64_t token = PyLong_AsUnsignedLongLongMask(arg);
    if (PyErr_Occurred())
        return NULL;
    uint32_t stack_pointer;
    Frames *f = points_take(j, token, &stack_pointer);
    if (!f)
        Py_RETURN_NONE;
    PyObject *r = Py_BuildValue("(y#I)", (const char *)f->bytes, (Py_ssize_t)f->len,
                                stack_pointer);
    frames_let_go(f);
    return r;
}

static int JumpPoints_contains(JumpPointsObject *j, PyObject *arg)
{
    if (!PyLong_Check(arg))
        return 0;
    uint64_t token = PyLong_AsUnsignedLongLongMask(arg);
    if (PyErr_Occurred())
        return -1;
    return points_have(j, token);
}

static Py_ssize_t JumpPoints_len(JumpPointsObject *j)
{
    pthread_mutex_lock(&j->lock);
    Py_ssize_t n = j->table ? j->table->count : 0;
    pthread_mutex_unlock(&j->lock);
    return n;
}

static PyObject *JumpPoints_copy(JumpPointsObject *j, PyObject *unused)
{
    JumpPointsObject *c = (JumpPointsObject *)JumpPointsType.tp_alloc(&JumpPointsType, 0);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->table = NULL;
    pthread_mutex_lock(&j->lock);
    c->next_token = j->next_token;
    c->most = j->most;
    c->most_bytes = j->most_bytes;
    c->budget = j->budget;
    __atomic_add_fetch(&c->budget->refs, 1, __ATOMIC_ACQ_REL);
    if (j->table && !(c->table = point_table_new(c->most))) {
        pthread_mutex_unlock(&j->lock);
        Py_DECREF(c);
        return PyErr_NoMemory();
    }
    if (j->table) {
        for (int i = j->table->oldest; i != NO_POINT; i = j->table->points[i].newer) {
            JumpPoint *p = &j->table->points[i];
            __atomic_add_fetch(&p->frames->refs, 1, __ATOMIC_ACQ_REL);
            points_add_locked(c, p->token, p->frames, p->stack_pointer, p->env, p->latest);
        }
    }
    pthread_mutex_unlock(&j->lock);
    return (PyObject *)c;
}

static PyObject *JumpPoints_clear(JumpPointsObject *j, PyObject *unused)
{
    pthread_mutex_lock(&j->lock);
    points_clear_locked(j);
    pthread_mutex_unlock(&j->lock);
    Py_RETURN_NONE;
}

static PyMethodDef JumpPoints_methods[] = {
    {"save", (PyCFunction)JumpPoints_save, METH_VARARGS,
     "save(frames, stack_pointer, env) -> token of jmp_buf env's new point (the least "
     "recently used go, superseded ones first)"},
    {"take", (PyCFunction)JumpPoints_take, METH_O,
     "take(token) -> (frames, stack_pointer), now the most recently used; None if gone"},
    {"copy", (PyCFunction)JumpPoints_copy, METH_NOARGS, "fork's copy: the same points and tokens"},
    {"clear", (PyCFunction)JumpPoints_clear, METH_NOARGS, "forget every point (exec)"},
    {NULL}
};

static PySequenceMethods JumpPoints_as_sequence = {
    .sq_length = (lenfunc)JumpPoints_len,
    .sq_contains = (objobjproc)JumpPoints_contains,
};

static PyTypeObject JumpPointsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.JumpPoints",
    .tp_basicsize = sizeof(JumpPointsObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A cage's setjmp jump points by token: JumpPoints(first_token, most, most_bytes, "
              "tree_most_bytes)",
    .tp_new = JumpPoints_new,
    .tp_dealloc = (destructor)JumpPoints_dealloc,
    .tp_methods = JumpPoints_methods,
    .tp_as_sequence = &JumpPoints_as_sequence,
};

/* What the trampoline is doing to an instance's stack: a setjmp, a longjmp or a fork. */
enum { JUMP_NONE, JUMP_SAVE, JUMP_RESTORE, JUMP_FORK };
#define G_ERESTARTNOINTR 513    /* what the first pass of fork returns: it is made again */

/* One instance's unwinds (a cage thread's): the Asyncify buffer, whether its stack is
 * being rewound (by the trampoline or by Python: `rewinding`), and what the trampoline
 * needs to unwind it by itself once bound to the instance's exports. */
typedef struct {
    PyObject_HEAD
    uint32_t buffer;             /* guest address of the Asyncify buffer; 0: none yet */
    uint32_t buffer_size;
    char rewinding;              /* a T_BOOL member */
    int rewind_here;             /* the rewind is the trampoline's, which ends it */
    int pending;                 /* JUMP_*: an unwind the trampoline started */
    uint32_t env;                /* JUMP_SAVE: where the token goes */
    uint64_t token;              /* JUMP_RESTORE: the point, and what setjmp returns */
    int64_t value;
    int64_t result;              /* what the rewound call (setjmp, fork) returns */
    void *ctx;                   /* bound: the instance's store context, else NULL */
    wt_func_t start_unwind, stop_unwind, start_rewind, stop_rewind;
    wt_global_t stack_pointer;
    JumpPointsObject *points;
    const SlotObject *slot;      /* while entered: the slot its calls go to (compared) */
} UnwinderObject;

/* The instance this host thread entered through Unwinder.enter, while nothing but wasm
 * runs above that entry (hidden while Python runs: call_python, the epoch tick). */
static __thread UnwinderObject *entered;

static PyObject *Unwinder_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    UnwinderObject *u = (UnwinderObject *)type->tp_alloc(type, 0);
    return (PyObject *)u;     /* zeroed: unbound, nothing pending */
}

static void Unwinder_dealloc(UnwinderObject *u)
{
    Py_CLEAR(u->points);
    Py_TYPE(u)->tp_free((PyObject *)u);
}

static int copy_func(PyObject *address, wt_func_t *out)
{
    const wt_func_t *f = PyLong_AsVoidPtr(address);
    if (!f) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "no function");
        return -1;
    }
    *out = *f;
    return 0;
}

/* bind(context, start_unwind, stop_unwind, start_rewind, stop_rewind, stack_pointer,
 * points, buffer_size): the addresses of the instance's Asyncify exports (their
 * wasmtime_func_t) and stack-pointer global (its wasmtime_global_t), copied. */
static PyObject *Unwinder_bind(UnwinderObject *u, PyObject *args)
{
    PyObject *ctx, *funcs[4], *sp;
    JumpPointsObject *points;
    unsigned int buffer_size;
    if (!PyArg_ParseTuple(args, "OOOOOOO!I", &ctx, &funcs[0], &funcs[1], &funcs[2], &funcs[3],
                          &sp, &JumpPointsType, &points, &buffer_size))
        return NULL;
    void *context = PyLong_AsVoidPtr(ctx);
    const wt_global_t *global = PyLong_AsVoidPtr(sp);
    if (PyErr_Occurred())
        return NULL;
    if (!context || !global || buffer_size < 16) {
        PyErr_SetString(PyExc_ValueError, "bind: no store, global or buffer");
        return NULL;
    }
    wt_func_t f[4];
    for (int i = 0; i < 4; i++)
        if (copy_func(funcs[i], &f[i]))
            return NULL;
    u->start_unwind = f[0];
    u->stop_unwind = f[1];
    u->start_rewind = f[2];
    u->stop_rewind = f[3];
    u->stack_pointer = *global;
    u->buffer_size = buffer_size;
    Py_XSETREF(u->points, (JumpPointsObject *)Py_NewRef(points));
    u->ctx = context;
    Py_RETURN_NONE;
}

static PyObject *Unwinder_reset(UnwinderObject *u, PyObject *unused)
{
    u->ctx = NULL;
    u->buffer = 0;
    u->rewinding = u->rewind_here = 0;
    u->pending = JUMP_NONE;
    Py_CLEAR(u->points);
    Py_RETURN_NONE;
}

/* Call one of the instance's Asyncify exports (`arg`, ignored by those without one): 0, else -1
 * with the failure in *err / *trap. */
static int asyncify_call(UnwinderObject *u, const wt_func_t *f, uint32_t arg, void **err,
                         void **trap)
{
    wt_val_raw_t v[1];
    v[0].i64 = 0;
    v[0].i32 = (int32_t)arg;
    *trap = NULL;
    *err = func_call_unchecked(u->ctx, f, v, 1, trap);
    return *err || *trap ? -1 : 0;
}

static void drop_failure(void *err, void *trap)
{
    if (err)
        error_delete(err);
    if (trap)
        trap_delete(trap);
}

/* The buffer's header: where the frames end (Asyncify's current pointer), and its end. */
static int set_buffer_header(UnwinderObject *u, MemoryObject *m, uint32_t current)
{
    uint64_t at = u->buffer;
    if (!at || !memory_writable(m, at, u->buffer_size))
        return -1;
    uint32_t header[2] = {current, (uint32_t)(at + u->buffer_size)};
    memcpy(m->base + at, header, sizeof header);
    return 0;
}

/* From the call: unwind the stack for a setjmp (JUMP_SAVE), longjmp (JUMP_RESTORE) or
 * fork (JUMP_FORK).
 * 1 with the call's result, or 0 to let the Python handler do it (no buffer yet, or
 * none inside the memory). */
static int begin_jump(UnwinderObject *u, MemoryObject *m, int kind, int64_t *result)
{
    if (set_buffer_header(u, m, u->buffer + 8))
        return 0;
    void *err, *trap;
    if (asyncify_call(u, &u->start_unwind, u->buffer, &err, &trap)) {
        drop_failure(err, trap);       /* stopped at a tick: killed, or a bug */
        *result = -EINTR;
        return 1;
    }
    u->pending = kind;
    *result = kind == JUMP_FORK ? -G_ERESTARTNOINTR : 0;   /* as the handler's (sys_fork) */
    return 1;
}

/* The call a rewind the trampoline began has reached (setjmp's, longjmp's or fork's):
 * 1 with what it returns, or 0 when the rewind is Python's (its handler ends it). */
static int end_rewind(UnwinderObject *u, int64_t *result)
{
    if (!u->rewind_here)
        return 0;
    void *err, *trap;
    u->rewinding = u->rewind_here = 0;
    if (asyncify_call(u, &u->stop_rewind, 0, &err, &trap)) {
        drop_failure(err, trap);
        *result = -EINTR;
        return 1;
    }
    *result = u->result;
    return 1;
}

/* The stack is out (the buffer holds its frames): put it back, the call that unwound it
 * to return u->result. 0, or -1 with the failure in *err / *trap. */
static int begin_rewind(UnwinderObject *u, void **err, void **trap)
{
    u->rewinding = u->rewind_here = 1;
    if (asyncify_call(u, &u->start_rewind, u->buffer, err, trap)) {
        u->rewinding = u->rewind_here = 0;
        return -1;
    }
    return 0;
}

static int fast_setjmp(SlotObject *s, MemoryObject *m, const int64_t *a, int64_t *result)
{
    UnwinderObject *u = entered;
    if (!u || u->slot != s || !u->ctx || !m || m->readonly || u->pending)
        return 0;
    if (u->rewinding)
        return end_rewind(u, result);
    uint64_t env = (uint64_t)a[0];
    if (!memory_in_bounds(m, env, 8)) {
        *result = -EFAULT;
        return 1;
    }
    u->env = (uint32_t)env;
    return begin_jump(u, m, JUMP_SAVE, result);
}

static int fast_longjmp(SlotObject *s, MemoryObject *m, const int64_t *a, int64_t *result)
{
    UnwinderObject *u = entered;
    if (!u || u->slot != s || !u->ctx || !m || m->readonly || u->pending || u->rewinding)
        return 0;
    uint64_t env = (uint64_t)a[0], token;
    if (!memory_in_bounds(m, env, 8)) {
        *result = -EFAULT;
        return 1;
    }
    memcpy(&token, m->base + env, sizeof token);
    if (!points_have(u->points, token)) {
        *result = -EINVAL;             /* as the handler: a jmp_buf no setjmp filled */
        return 1;
    }
    u->token = token;
    u->value = a[1];
    return begin_jump(u, m, JUMP_RESTORE, result);
}

/* fork, as setjmp: the call unwinds the stack here; once it is out, Python makes the
 * child from the frames in the buffer (fork_in_python), and the rewound call returns
 * the child's id. A rewind Python began (the child's, and a fork made before the
 * instance was bound) ends in the handler. */
static int fast_fork(SlotObject *s, MemoryObject *m, const int64_t *a, int64_t *result)
{
    UnwinderObject *u = entered;
    if (!u || u->slot != s || !u->ctx || !m || m->readonly || u->pending)
        return 0;
    if (u->rewinding)
        return end_rewind(u, result);
    return begin_jump(u, m, JUMP_FORK, result);
}

/* ------------------------------------------------------------ a parked thread's wake
 *
 * A fork's child starts on a parked host thread (stacks.run_pooled), which waits on a
 * Wake: a semaphore that C can post without the GIL. Woken while the forking thread
 * held the GIL, on one CPU the child's thread ran at once, found the GIL taken and
 * waited, and each hand-off of the GIL that followed cost two more context switches
 * (~7 a fork+exit+wait, where 2 do). So the wake made inside fork_in_python is left
 * here (hand_over_after_fork) and posted once this thread has let the GIL go: the
 * child then finds it free. */
typedef struct {
    PyObject_HEAD
    sem_t sem;
} WakeObject;

static PyObject *Wake_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    if (!PyArg_ParseTuple(args, ""))
        return NULL;
    WakeObject *w = (WakeObject *)type->tp_alloc(type, 0);
    if (!w)
        return NULL;
    if (sem_init(&w->sem, 0, 0) != 0) {
        Py_DECREF(w);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return (PyObject *)w;
}

static void Wake_dealloc(WakeObject *w)
{
    sem_destroy(&w->sem);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

/* post(): wake the waiter (or the next wait returns at once). */
static PyObject *Wake_post(WakeObject *w, PyObject *unused)
{
    sem_post(&w->sem);
    Py_RETURN_NONE;
}

/* wait(timeout=None) -> bool: False if `timeout` seconds passed first. */
static PyObject *Wake_wait(WakeObject *w, PyObject *args)
{
    PyObject *timeout = Py_None;
    if (!PyArg_ParseTuple(args, "|O", &timeout))
        return NULL;
    double seconds = -1;
    if (timeout != Py_None) {
        seconds = PyFloat_AsDouble(timeout);
        if (seconds == -1 && PyErr_Occurred())
            return NULL;
        if (seconds < 0)
            seconds = 0;
        if (seconds > 1e9)      /* past any deadline worth keeping: no timeout */
            seconds = -1;
    }
    int r, err;
    Py_BEGIN_ALLOW_THREADS
    if (seconds < 0) {
        while ((r = sem_wait(&w->sem)) != 0 && errno == EINTR)
            ;
    } else {
        struct timespec at;
        clock_gettime(CLOCK_REALTIME, &at);
        time_t whole = (time_t)seconds;
        at.tv_sec += whole;
        at.tv_nsec += (long)((seconds - (double)whole) * 1e9);
        if (at.tv_nsec >= 1000000000L) {
            at.tv_sec += at.tv_nsec / 1000000000L;
            at.tv_nsec %= 1000000000L;
        }
        while ((r = sem_timedwait(&w->sem, &at)) != 0 && errno == EINTR)
            ;
    }
    err = errno;
    Py_END_ALLOW_THREADS
    if (r == 0)
        Py_RETURN_TRUE;
    if (err == ETIMEDOUT)
        Py_RETURN_FALSE;
    errno = err;
    return PyErr_SetFromErrno(PyExc_OSError);
}

static PyMethodDef Wake_methods[] = {
    {"post", (PyCFunction)Wake_post, METH_NOARGS, "post(): wake the waiter"},
    {"wait", (PyCFunction)Wake_wait, METH_VARARGS,
     "wait(timeout=None) -> bool: False if timeout seconds passed first"},
    {NULL}
};

static PyTypeObject WakeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.Wake",
    .tp_basicsize = sizeof(WakeObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A parked host thread's wake, which C posts without the GIL: Wake()",
    .tp_new = Wake_new,
    .tp_dealloc = (destructor)Wake_dealloc,
    .tp_methods = Wake_methods,
};

static __thread int forking_here;               /* inside fork_in_python */
static __thread WakeObject *wake_after_fork;    /* held: to post once the GIL is let go */
static __thread WakeObject *wake_posted;        /* held: posted, let go with the GIL */

/* hand_over_after_fork(wake) -> bool: True if the trampoline will post `wake` (a parked
 * thread's, for a fork's child) once the calling thread, which is making the child, has
 * let the GIL go; False (the caller posts it now) anywhere else. */
static PyObject *mod_hand_over_after_fork(PyObject *self, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, &WakeType)) {
        PyErr_SetString(PyExc_TypeError, "hand_over_after_fork(Wake)");
        return NULL;
    }
    if (!forking_here || wake_after_fork)
        Py_RETURN_FALSE;
    wake_after_fork = (WakeObject *)Py_NewRef(arg);
    Py_RETURN_TRUE;
}

/* Without the GIL: post the wake hand_over_after_fork took (kept until the GIL is
 * held again: let_go_of_posted_wake). */
static void wake_forked_child(void)
{
    if (!wake_after_fork)
        return;
    sem_post(&wake_after_fork->sem);
    wake_posted = wake_after_fork;
    wake_after_fork = NULL;
}

/* With the GIL. */
static void let_go_of_posted_wake(void)
{
    Py_CLEAR(wake_posted);
}

/* With the GIL: the cage's fork of its unwound thread (Cage.fork_unwound), the child's
 * id or -errno. */
static int64_t fork_in_python(SlotObject *s)
{
    PyObject *res = PyObject_CallMethod(s->cage, "fork_unwound", NULL);
    if (!res)
        return exception_to_errno(s);
    int64_t r = PyLong_AsLongLong(res);
    Py_DECREF(res);
    if (r == -1 && PyErr_Occurred())
        r = exception_to_errno(s);
    return r;
}

/* The stack is out: keep or restore the frames and start the rewind. 0, or -1 with
 * the failure in *err / *trap (a stop whose message says what went wrong). */
static int finish_jump(UnwinderObject *u, SlotObject *s, void **err, void **trap)
{
    int kind = u->pending;
    u->pending = JUMP_NONE;
    if (asyncify_call(u, &u->stop_unwind, 0, err, trap))
        return -1;
    MemoryObject *m = s->memory;
    const char *spoiled = NULL;
    uint64_t at = u->buffer;
    if (!m || !memory_writable(m, at, u->buffer_size)) {
        spoiled = "the stack's unwound frames are out of its memory";
    } else if (kind == JUMP_SAVE) {
        uint32_t current;
        memcpy(&current, m->base + at, sizeof current);
        wt_val_t sp;
        memset(&sp, 0, sizeof sp);
        global_get(u->ctx, &u->stack_pointer, &sp);
        uint64_t token;
        if (current < at + 8 || current > at + u->buffer_size)
            spoiled = "setjmp: the program overwrote its unwound frames";
        else if (!memory_writable(m, u->env, 8))
            spoiled = "setjmp: its jmp_buf is out of its memory";
        else if (!(token = points_save(u->points, m->base + at + 8,
                                       (uint32_t)(current - at - 8), (uint32_t)sp.of.i32,
                                       u->env)))
            spoiled = "setjmp: the host is out of memory for its frames";
        else
            memcpy(m->base + u->env, &token, sizeof token);
        u->result = 0;
    } else {
        uint32_t stack_pointer;
        Frames *f = points_take(u->points, u->token, &stack_pointer);
        if (!f) {
            spoiled = "longjmp: its jump point was forgotten meanwhile";
        } else if (f->len > u->buffer_size - 8) {
            spoiled = "longjmp: its frames do not fit the buffer";
        } else {
            memcpy(m->base + at + 8, f->bytes, f->len);
            set_buffer_header(u, m, (uint32_t)(at + 8 + f->len));
            wt_val_t sp;
            memset(&sp, 0, sizeof sp);
            sp.kind = WT_I32;
            sp.of.i32 = (int32_t)stack_pointer;
            void *failed = global_set(u->ctx, &u->stack_pointer, &sp);
            if (failed) {
                error_delete(failed);
                spoiled = "longjmp: its stack pointer cannot be set";
            }
        }
        frames_let_go(f);
        u->result = u->value ? u->value : 1;
    }
    if (spoiled) {                     /* the cage's stop, told as the trampoline's */
        PyGILState_STATE g = PyGILState_Ensure();
        Py_XSETREF(stop_text, PyUnicode_FromString(spoiled));
        PyErr_Clear();
        PyGILState_Release(g);
        stop_made = STOP_CAGE;
        stop_slot = s;
        *err = NULL;
        *trap = trap_new(spoiled, strlen(spoiled));
        return -1;
    }
    return begin_rewind(u, err, trap);
}

#define CALL_EXPORT_ARGS 8

/* Call export `func` of the instance whose context is `ctx` with `n` i32 `args`, without
 * the GIL; with `u`, the trampoline's setjmp, longjmp and fork run here. None; the stop's
 * message (str) when the trampoline stopped the instance, whose calls go to `slot`;
 * else the (error, trap) addresses of the failure. */
static PyObject *call_wasm(void *ctx, wt_func_t func, const wt_val_raw_t *args, size_t n,
                           const void *slot, UnwinderObject *u)
{
    void *trap = NULL, *err;
    stop_made = STOP_NONE;         /* one made before, out of this call */
    stop_slot = NULL;
    Py_CLEAR(stop_text);
    UnwinderObject *outer = entered;
    Py_BEGIN_ALLOW_THREADS
    if (u)
        u->slot = slot;
    for (;;) {
        wt_val_raw_t vals[CALL_EXPORT_ARGS];
        memcpy(vals, args, sizeof vals);
        entered = u;
        err = func_call_unchecked(ctx, &func, vals, n ? n : 1, &trap);
        entered = outer;
        if (err || trap || !u || u->pending == JUMP_NONE)
            break;
        if (u->pending == JUMP_FORK) {     /* out for fork: Python makes the child */
            u->pending = JUMP_NONE;
            if (asyncify_call(u, &u->stop_unwind, 0, &err, &trap))
                break;
            Py_BLOCK_THREADS
            let_go_of_posted_wake();
            int outer = forking_here;
            forking_here = 1;
            u->result = fork_in_python((SlotObject *)slot);
            forking_here = outer;
            Py_UNBLOCK_THREADS
            wake_forked_child();
            if (begin_rewind(u, &err, &trap))
                break;
        } else if (finish_jump(u, (SlotObject *)slot, &err, &trap)) {
            break;
        }
    }
    if (u)
        u->slot = NULL;
    Py_END_ALLOW_THREADS
    let_go_of_posted_wake();
    int stop = stop_slot == slot ? stop_made : STOP_NONE;
    stop_made = STOP_NONE;
    stop_slot = NULL;
    if (!err && !trap)
        Py_RETURN_NONE;
    if (stop != STOP_NONE) {       /* the trampoline's own stop: its message is known */
        drop_failure(err, trap);
        PyObject *text = stop == STOP_THREAD ? PyUnicode_FromString("thread exit")
                         : stop_text ? Py_NewRef(stop_text) : PyUnicode_FromString("cage stopped");
        Py_CLEAR(stop_text);
        return text;
    }
    return Py_BuildValue("(KK)", (unsigned long long)(uintptr_t)err,
                         (unsigned long long)(uintptr_t)trap);
}

/* The i32 arguments args[first:] (at most CALL_EXPORT_ARGS) into vals: their count, or -1. */
static Py_ssize_t i32_args(PyObject *const *args, Py_ssize_t first, Py_ssize_t nargs,
                           wt_val_raw_t *vals)
{
    memset(vals, 0, sizeof(wt_val_raw_t) * CALL_EXPORT_ARGS);
    if (nargs - first > CALL_EXPORT_ARGS) {
        PyErr_SetString(PyExc_TypeError, "at most 8 arguments");
        return -1;
    }
    for (Py_ssize_t i = first; i < nargs; i++) {
        long long v = PyLong_AsLongLong(args[i]);
        if (v == -1 && PyErr_Occurred())
            return -1;
        vals[i - first].i32 = (int32_t)(uint32_t)v;      /* the low 32 bits, as wasm's i32 */
    }
    return nargs - first;
}

/* call_export(context, func, slot, *i32 args) -> call_wasm's outcome.
 * Calls a wasm export that takes i32s and returns nothing, `func` the address of its
 * wasmtime_func_t, without the GIL. What entering a thread and each of Asyncify's
 * exports around a fork cost in ctypes' conversions was more than the call. */
static PyObject *mod_call_export(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 3) {
        PyErr_SetString(PyExc_TypeError, "call_export(context, func, slot, *args)");
        return NULL;
    }
    void *ctx = PyLong_AsVoidPtr(args[0]);
    const wt_func_t *where = PyLong_AsVoidPtr(args[1]);
    if (PyErr_Occurred())
        return NULL;
    if (!ctx || !where) {
        PyErr_SetString(PyExc_ValueError, "call_export: no store or function");
        return NULL;
    }
    wt_val_raw_t vals[CALL_EXPORT_ARGS];
    Py_ssize_t n = i32_args(args, 3, nargs, vals);
    if (n < 0)
        return NULL;
    return call_wasm(ctx, *where, vals, (size_t)n, args[2], NULL);
}

/* enter(func, slot, *i32 args): call_export into the bound instance, where the
 * trampoline may unwind and rewind the stack for setjmp, longjmp and fork. */
static PyObject *Unwinder_enter(UnwinderObject *u, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2 || !PyObject_TypeCheck(args[1], &SlotType)) {
        PyErr_SetString(PyExc_TypeError, "enter(func, slot, *args)");
        return NULL;
    }
    if (!u->ctx) {
        PyErr_SetString(PyExc_ValueError, "enter: not bound to an instance");
        return NULL;
    }
    const wt_func_t *where = PyLong_AsVoidPtr(args[0]);
    if (!where) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "enter: no function");
        return NULL;
    }
    wt_val_raw_t vals[CALL_EXPORT_ARGS];
    Py_ssize_t n = i32_args(args, 2, nargs, vals);
    if (n < 0)
        return NULL;
    return call_wasm(u->ctx, *where, vals, (size_t)n, args[1], u);
}

/* rewind(result) -> None, or the (error, trap) addresses of a failure: put the stack
 * Python unwound back in (fork, a first setjmp, a longjmp), the call that unwound it to
 * return `result` when the trampoline meets it again (see fast_fork). */
static PyObject *Unwinder_rewind(UnwinderObject *u, PyObject *arg)
{
    long long result = PyLong_AsLongLong(arg);
    if (result == -1 && PyErr_Occurred())
        return NULL;
    if (!u->ctx || u->pending || u->rewinding) {
        PyErr_SetString(PyExc_ValueError, "rewind: not bound, or already unwinding");
        return NULL;
    }
    void *err, *trap;
    int failed;
    u->result = result;
    Py_BEGIN_ALLOW_THREADS
    failed = begin_rewind(u, &err, &trap);
    Py_END_ALLOW_THREADS
    if (!failed)
        Py_RETURN_NONE;
    return Py_BuildValue("(KK)", (unsigned long long)(uintptr_t)err,
                         (unsigned long long)(uintptr_t)trap);
}

/* take_rewind_result() -> what the setjmp the trampoline is rewinding to returns, or
 * None when the rewind is Python's: the call reached a handler (a grate took setjmp
 * but not longjmp), which ends the rewind. */
static PyObject *Unwinder_take_rewind_result(UnwinderObject *u, PyObject *unused)
{
    if (!u->rewind_here)
        Py_RETURN_NONE;
    u->rewind_here = 0;
    return PyLong_FromLongLong(u->result);
}

static PyObject *Unwinder_get_busy(UnwinderObject *u, void *unused)
{
    return PyBool_FromLong(u->pending != JUMP_NONE || u->rewinding);
}

static PyObject *Unwinder_get_bound(UnwinderObject *u, void *unused)
{
    return PyBool_FromLong(u->ctx != NULL);
}

static PyMemberDef Unwinder_members[] = {
    {"buffer", T_UINT, offsetof(UnwinderObject, buffer), 0,
     "guest address of the instance's Asyncify buffer (0: none yet)"},
    {"rewinding", T_BOOL, offsetof(UnwinderObject, rewinding), 0,
     "the stack is being rewound (set by Python for its own rewinds)"},
    {NULL}
};

static PyGetSetDef Unwinder_getset[] = {
    {"busy", (getter)Unwinder_get_busy, NULL,
     "the stack is being unwound or rewound by the trampoline, or rewound by Python", NULL},
    {"bound", (getter)Unwinder_get_bound, NULL, "bind() was called since the last reset()",
     NULL},
    {NULL}
};

static PyMethodDef Unwinder_methods[] = {
    {"bind", (PyCFunction)Unwinder_bind, METH_VARARGS,
     "bind(context, start_unwind, stop_unwind, start_rewind, stop_rewind, stack_pointer, "
     "points, buffer_size): the instance's Asyncify exports and globals, by address"},
    {"reset", (PyCFunction)Unwinder_reset, METH_NOARGS,
     "the instance is replaced (exec): unbound, no buffer, nothing pending"},
    {"rewind", (PyCFunction)Unwinder_rewind, METH_O,
     "rewind(result): start rewinding the stack Python unwound, the call to return result"},
    {"enter", (PyCFunction)(void (*)(void))Unwinder_enter, METH_FASTCALL,
     "enter(func, slot, *i32 args) -> as call_export"},
    {"take_rewind_result", (PyCFunction)Unwinder_take_rewind_result, METH_NOARGS,
     "the result of the trampoline's rewind, ended by a handler; None if Python's"},
    {NULL}
};

static PyTypeObject UnwinderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.Unwinder",
    .tp_basicsize = sizeof(UnwinderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An instance's unwinds (setjmp, longjmp, fork): Unwinder()",
    .tp_new = Unwinder_new,
    .tp_dealloc = (destructor)Unwinder_dealloc,
    .tp_members = Unwinder_members,
    .tp_getset = Unwinder_getset,
    .tp_methods = Unwinder_methods,
};

#define CAGE_ENDED 4095   /* -CAGE_ENDED: the cage acted for ended during the call (ops.py) */

/* Whether cage `id` of `domain` is ending (or gone). */
static int target_ending(int64_t domain, int64_t id)
{
    pthread_mutex_lock(&registry_lock);
    SlotObject *t = registry_get_locked(domain, id);
    int ending = !t || __atomic_load_n(&t->exiting, __ATOMIC_ACQUIRE);
    pthread_mutex_unlock(&registry_lock);
    return ending;
}

/* make_threei_call within make_threei_call on one thread, as ops.MAX_NESTING: a grate
 * whose handler calls itself gets ELOOP rather than the end of its wasm stack. */
#define MAX_NESTING 64
static __thread int threei_nesting;

/* make_threei_call from cage `s` (block: nr, self, target, 6 x (arg, cage)) when
 * the caller's table sends `nr` to a wasm grate or answers it from ids. Returns
 * 0 to let the Python handler do it (anything else, or a case to refuse). */
static int threei_call_in_c(SlotObject *s, MemoryObject *m, uint64_t block, int64_t *result)
{
    if (!m || !memory_in_bounds(m, block, 15 * 8))
        return 0;
    int64_t v[15];
    memcpy(v, m->base + block, sizeof v);
    int64_t nr = v[0], target = v[2] & CAGE_ID_BITS;
    if (nr < 0 || nr >= NSYSCALLS)
        return 0;
    Entry *e = &s->table[nr];
    int fast = __atomic_load_n(&e->fast, __ATOMIC_ACQUIRE);
    if (fast != FAST_GRATE && !(fast >= FAST_GETPID && fast <= FAST_GETEGID))
        return 0;
    int64_t args[6], cages[6];
    pthread_mutex_lock(&registry_lock);
    int allowed = registry_may_act_locked(s, target);
    for (int i = 0; i < 6 && allowed == 1; i++) {
        args[i] = v[3 + 2 * i];
        cages[i] = v[4 + 2 * i] & CAGE_ID_BITS;
        if (cages[i] != target)
            allowed = registry_may_act_locked(s, cages[i]);
    }
    int64_t id_answer = 0;
    if (allowed == 1 && fast != FAST_GRATE) {
        SlotObject *t = registry_get_locked(s->domain, target);
        if (t)
            id_answer = t->ids[fast];
        else
            allowed = -1;
    }
    pthread_mutex_unlock(&registry_lock);
    if (allowed != 1)
        return 0;  /* Python gives the precise error (EPERM, ESRCH) */
    if (fast != FAST_GRATE) {
        *result = id_answer;
        return 1;
    }
    if (threei_nesting >= MAX_NESTING) {
        *result = -ELOOP;
        return 1;
    }
    GrateHandlerObject *h = hold_handler(&e->grate);
    if (!h) {
        *result = -ELOOP;
        return 1;
    }
    int ending_before = target_ending(s->domain, target);
    threei_nesting++;
    *result = grate_call(h->grate, h->fn_ptr, target, args, cages);
    threei_nesting--;
    let_go_handler();
    /* The cage acted for began to end during the call: no result (ops.CAGE_ENDED). */
    if (!ending_before && target_ending(s->domain, target))
        *result = -CAGE_ENDED;
    return 1;
}

static int64_t exception_to_errno(SlotObject *s);

/* The host touched the cage's null page (a memory.fill at 0): the call does not
 * happen, the cage gets its SIGSEGV as from a fault (Python decides how). */
static int64_t null_page_fault(SlotObject *s, int kind)
{
    PyGILState_STATE g = PyGILState_Ensure();
    int64_t r = -EINTR;
    PyObject *res = PyObject_CallMethod(s->cage, "null_page_fault", "i", kind);
    if (!res)
        r = exception_to_errno(s);
    Py_XDECREF(res);
    PyGILState_Release(g);
    return r;
}

/* The cage's memory is larger than its charge: the program grew it itself (memory.grow)
 * and a bounds check has seen it since. Its cage charges it now, or is killed for it
 * (Cage.charge_grown_memory): before the call, which could fill it from the kernel or
 * wait where no epoch tick reaches the cage. */
static void charge_grown_memory(SlotObject *s)
{
    PyGILState_STATE g = PyGILState_Ensure();
    if (s->cage != Py_None) {
        PyObject *res = PyObject_CallMethod(s->cage, "charge_grown_memory", NULL);
        if (!res)
            PyErr_WriteUnraisable(s->cage);
        Py_XDECREF(res);
    }
    PyGILState_Release(g);
}

/* ------------------------------------------------------------ permission checks
 *
 * Lind run as root would let every cage past the file mode bits: the host kernel
 * skips them for a thread holding CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH or CAP_FOWNER.
 * Capabilities are per thread, so a host thread making a call for a cage whose
 * effective uid is not 0 first takes those three out of its effective set (they stay
 * permitted): the kernel then checks the mode bits as for any other user, the owner's
 * for the files of Lind's user (which the cage sees as its own), the others' for the
 * rest, as the cage's view of owners says. A root cage's call, or Lind's own work
 * on what a cage left (act_for_lind), takes them back. Each thread remembers what it
 * holds, across cages too (a pooled thread keeps it parked), so a call costs one
 * comparison; the two system calls (~1 us) come only when a thread goes from one kind
 * of cage to the other. A call made inside another (a grate's calls while it serves a
 * cage) acts for its own cage, then the outer call's cage is acted for again. A
 * Python grate's handler runs with the checks of the cage whose call it serves. Lind
 * without these capabilities has nothing to do. */
#define DAC_CAPS ((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH) | (1u << CAP_FOWNER))
static int dac_caps = -1;                  /* -1: not looked at; else: Lind may hold them */
/* -1: unknown; 1: without them; 0: with them (initial-exec: a load, not a call) */
static __thread int thread_checks __attribute__((tls_model("initial-exec"))) = -1;

static int capabilities(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d)
{
    h->version = _LINUX_CAPABILITY_VERSION_3;
    h->pid = 0;
    return (int)syscall(SYS_capget, h, d);
}

static void set_mode_checks(int checks)
{
    struct __user_cap_header_struct h;
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    if (capabilities(&h, d) == 0) {
        if (checks)
            d[0].effective &= ~DAC_CAPS;
        else
            d[0].effective |= d[0].permitted & DAC_CAPS;
        syscall(SYS_capset, &h, d);
    }
    thread_checks = checks;     /* even if refused: a refusal would be every call's */
}

/* The calling thread acts for a cage with effective uid `euid`. */
static inline void act_as(int64_t euid)
{
    int held = __atomic_load_n(&dac_caps, __ATOMIC_RELAXED);
    if (__builtin_expect(held < 0, 0)) {     /* first call: every thread finds the same */
        struct __user_cap_header_struct h;
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
        held = capabilities(&h, d) == 0 && (d[0].permitted & DAC_CAPS) != 0;
        __atomic_store_n(&dac_caps, held, __ATOMIC_RELAXED);
    }
    int checks = euid != 0;
    if (held && checks != thread_checks)
        set_mode_checks(checks);
}

/* act_as(euid): the calling thread acts for a cage of that effective uid (a call
 * made for another cage than the one whose call it serves: make_threei_call's). */
static PyObject *mod_act_as(PyObject *self, PyObject *arg)
{
    long long euid = PyLong_AsLongLong(arg);
    if (euid == -1 && PyErr_Occurred())
        return NULL;
    int before = thread_checks;
    act_as(euid);
    return PyLong_FromLong(before);
}

/* act_for_lind(): the calling thread does Lind's own work now (removing what a cage
 * left), or its capabilities changed behind this module's back (setfsuid back to 0
 * gives them back): it holds every override Lind's user has again. */
static PyObject *mod_act_for_lind(PyObject *self, PyObject *unused)
{
    int before = thread_checks;
    if (__atomic_load_n(&dac_caps, __ATOMIC_RELAXED) > 0)
        set_mode_checks(0);
    return PyLong_FromLong(before);
}

/* The checks the thread held before act_as or act_for_lind (what they returned; -1,
 * never set: a thread of the embedding program, which holds what Lind's user holds). */
static void put_checks_back(int before)
{
    int want = before < 0 ? 0 : before;
    if (__atomic_load_n(&dac_caps, __ATOMIC_RELAXED) > 0 && thread_checks != want)
        set_mode_checks(want);
}

static PyObject *mod_checks_back(PyObject *self, PyObject *arg)
{
    long before = PyLong_AsLong(arg);
    if (before == -1 && PyErr_Occurred())
        return NULL;
    put_checks_back((int)before);
    Py_RETURN_NONE;
}

/* One system call from the cage through its table. Caller does not hold the GIL;
 * `m` is the cage's memory, used by the fast entries: its own thread's view, or
 * one the caller pinned (a call made for the cage from another thread). */
static int64_t dispatch(SlotObject *s, MemoryObject *m, int nr, const int64_t *a)
{
    if (nr < 0 || nr >= NSYSCALLS)
        return -ENOSYS;
    int hit;
    if (__builtin_expect(__atomic_load_n(&guard_hits, __ATOMIC_RELAXED) != 0, 0) && m &&
        (hit = guard_taken(m)))
        return null_page_fault(s, hit);
    if (m && __builtin_expect(m->size > __atomic_load_n(&s->memory_charged, __ATOMIC_ACQUIRE), 0)
        && m == s->memory) {
        charge_grown_memory(s);
        if (__atomic_load_n(&s->exiting, __ATOMIC_ACQUIRE))
            return -EINTR;      /* killed for it: the call is never made */
    }
    Entry *e = &s->table[nr];
    int fast = __atomic_load_n(&e->fast, __ATOMIC_ACQUIRE);
    if (fast >= FAST_GETPID && fast <= FAST_GETEGID)
        return s->ids[fast];
    act_as(s->ids[FAST_GETEUID]);
    switch (fast) {
    case FAST_CLOSE: {
        int64_t r;
        if (a[0] < 0 || a[0] >= s->fd_limit)
            return -EBADF;
        if (fast_close(s, a[0], &r))
            return r;
        break;
    }
    case FAST_FSTAT: {
        int64_t r;
        if (fast_fstat(s, m, a, &r))
            return r;
        break;
    }
    case FAST_NEWFSTATAT: {
        int64_t r;
        if (fast_stat_path(s, m, a, &r))
            return r;
        break;
    }
    case FAST_OPEN: case FAST_OPENAT: {
        int64_t r;
        int at = fast == FAST_OPENAT;
        if (fast_open(s, m, at ? a[0] : G_AT_FDCWD, (uint64_t)a[at], a[at + 1], a[at + 2], &r))
            return r;
        break;
    }
    case FAST_READ: case FAST_WRITE: case FAST_PREAD: case FAST_PWRITE: case FAST_LSEEK: {
        int64_t r;
        if (fast_io(s, m, fast, a, &r))
            return r;
        break;
    }
    case FAST_GRATE: {
        GrateHandlerObject *h = hold_handler(&e->grate);
        if (!h)
            return -ELOOP;
        int64_t r = grate_call(h->grate, h->fn_ptr, s->ids[FAST_GETPID], a, NULL);
        let_go_handler();
        act_as(s->ids[FAST_GETEUID]);   /* the grate's calls acted for the grate */
        return r;
    }
    case FAST_THREEI_CALL: {
        int64_t r;
        if (threei_call_in_c(s, m, (uint64_t)a[0], &r)) {
            act_as(s->ids[FAST_GETEUID]);   /* a grate it reached acted for its cage */
            return r;
        }
        break;
    }
    case FAST_GETRANDOM: {
        int64_t r;
        if (fast_getrandom(m, a, &r))
            return r;
        break;
    }
    case FAST_CLOCK_GETTIME: {
        int64_t r;
        if (fast_clock_gettime(m, a, &r))
            return r;
        break;
    }
    case FAST_NANOSLEEP: {
        int64_t r;
        if (fast_sleep(s, m, CLOCK_MONOTONIC, 0, (uint32_t)a[0], &r))
            return r;
        break;
    }
    case FAST_CLOCK_NANOSLEEP: {
        int64_t r;
        if (fast_sleep(s, m, (uint32_t)a[0], (a[1] & TIMER_ABSTIME) != 0, (uint32_t)a[2], &r))
            return r;
        break;
    }
    case FAST_READV: case FAST_WRITEV: {
        int64_t r;
        if (fast_iov(s, m, fast, a, &r))
            return r;
        break;
    }
    case FAST_SENDTO: case FAST_RECVFROM: {
        int64_t r;
        if (fast_sock(s, m, fast, a, &r))
            return r;
        break;
    }
    case FAST_EPOLL_PWAIT: {
        int64_t r;
        if (fast_epoll(s, m, a, &r))
            return r;
        break;
    }
    case FAST_FUTEX: {
        int64_t r;
        if (fast_futex(s, m, a, &r))
            return r;
        break;
    }
    case FAST_SIGPROCMASK: {
        int64_t r;
        if (fast_sigprocmask(s, m, a, &r))
            return r;
        break;
    }
    case FAST_ACCESS: case FAST_FACCESSAT: {
        int64_t r;
        int at = fast == FAST_FACCESSAT;
        if (fast_access(s, m, at ? a[0] : G_AT_FDCWD, (uint64_t)a[at], a[at + 1], &r))
            return r;
        break;
    }
    case FAST_READLINK: case FAST_READLINKAT: {
        int64_t r;
        int at = fast == FAST_READLINKAT;
        if (fast_readlink(s, m, at ? a[0] : G_AT_FDCWD, (uint64_t)a[at], (uint64_t)a[at + 1],
                          a[at + 2], &r))
            return r;
        break;
    }
    case FAST_UNLINK: case FAST_RMDIR: case FAST_UNLINKAT: {
        int64_t r;
        int at = fast == FAST_UNLINKAT;
        if (fast_unlink(s, m, at ? a[0] : G_AT_FDCWD, (uint64_t)a[at],
                        at ? a[2] : fast == FAST_RMDIR ? G_AT_REMOVEDIR : 0, &r))
            return r;
        break;
    }
    case FAST_RENAME: case FAST_RENAMEAT: {
        int64_t r;
        int at = fast == FAST_RENAMEAT;
        if (fast_rename(s, m, at ? a[0] : G_AT_FDCWD, (uint64_t)a[at], at ? a[2] : G_AT_FDCWD,
                        (uint64_t)a[at ? 3 : 1], &r))
            return r;
        break;
    }
    case FAST_PSELECT6: {
        int64_t r;
        if (fast_pselect(s, m, a, &r))
            return r;
        break;
    }
    case FAST_POLL: {
        int64_t r;
        if (fast_poll(s, m, a, &r))
            return r;
        break;
    }
    case FAST_IOCTL: {
        /* TCGETS and TIOCGWINSZ (isatty, tcgetattr) of a file the trampoline mirrors: a
         * host file, pipe or socket that fdtable found was no terminal (IO_TTY) */
        uint32_t request = (uint32_t)a[1];
        if ((request == 0x5401 || request == 0x5413) && a[0] >= 0 && a[0] < FD_MIRROR &&
            __atomic_load_n(&s->fds[a[0]].host_fd, __ATOMIC_ACQUIRE) >= 0 &&
            __atomic_load_n(&s->fds[a[0]].kind, __ATOMIC_ACQUIRE) != IO_TTY)
            return -ENOTTY;
        break;
    }
    case FAST_SETJMP: case FAST_LONGJMP: case FAST_FORK: {
        int64_t r;
        if ((fast == FAST_SETJMP ? fast_setjmp : fast == FAST_LONGJMP ? fast_longjmp
             : fast_fork)(s, m, a, &r))
            return r;
        break;
    }
    default:
        break;
    }
    PyGILState_STATE g = PyGILState_Ensure();
    int64_t r = e->handler ? call_python(s, e, a) : -ENOSYS;  /* read with the GIL */
    PyGILState_Release(g);
    act_as(s->ids[FAST_GETEUID]);   /* a grate's handler may have acted for another cage */
    return r;
}

/* Map a Python exception raised by a handler to -errno; anything that is not an
 * OSError is a bug in the handler: the cage is stopped, the host keeps going. */
static int64_t exception_to_errno(SlotObject *s)
{
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    int64_t r = -EIO;
    if (PyErr_GivenExceptionMatches(exc, PyExc_OSError)) {
        PyObject *eno = PyObject_GetAttrString(exc, "errno");
        if (eno && PyLong_Check(eno))
            r = -PyLong_AsLongLong(eno);
        Py_XDECREF(eno);
        PyErr_Clear();
    } else {
        PyObject *text = PyObject_Str(exc);
        s->exiting = 1;
        Py_XSETREF(s->trap_message, text ? text : PyUnicode_FromString("internal error"));
        PyErr_Clear();
        PyObject *cage = s->cage;
        PyObject *res = PyObject_CallMethod(cage, "internal_error", "O", exc);
        Py_XDECREF(res);
        PyErr_Clear();
    }
    Py_XDECREF(exc);
    return r;
}

static int64_t call_python(SlotObject *s, Entry *e, const int64_t *a)
{
    UnwinderObject *hidden = entered;    /* Python may enter wasm: not this entry's */
    entered = NULL;
    int64_t r = call_python_handler(s, e, a);
    entered = hidden;
    return r;
}

static int64_t call_python_handler(SlotObject *s, Entry *e, const int64_t *a)
{
    PyObject *argv[8];
    argv[0] = NULL;
    argv[1] = s->cage;
    if (s->cage == Py_None)      /* ended (forget_cage): a grate acting for it late */
        return -ESRCH;
    int i;
    for (i = 0; i < 6; i++) {
        argv[2 + i] = PyLong_FromLongLong(a[i]);
        if (!argv[2 + i])
            break;
    }
    int64_t r;
    if (i < 6) {
        r = exception_to_errno(s);
    } else {
        PyObject *res = PyObject_Vectorcall(e->handler, argv + 1, 7 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        if (!res) {
            r = exception_to_errno(s);
        } else {
            r = PyLong_AsLongLong(res);
            Py_DECREF(res);
            if (r == -1 && PyErr_Occurred())
                r = exception_to_errno(s);
        }
    }
    for (int j = 0; j < i; j++)
        Py_DECREF(argv[2 + j]);
    return r;
}

static PyObject *Slot_call(SlotObject *s, PyObject *args)
{
    int nr;
    long long a[6] = {0};
    if (!PyArg_ParseTuple(args, "i|LLLLLL", &nr, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]))
        return NULL;
    int64_t r;
    MemoryObject *m = s->memory;   /* pinned: the cage may end while this call runs */
    if (m)
        memory_pin(m);
    int before = thread_checks;
    Py_BEGIN_ALLOW_THREADS
    r = dispatch(s, m, nr, (const int64_t *)a);
    /* a call Python makes for a cage (WASI's preopens, 3i from the host) from a thread
     * that runs no cage thread (the embedding program's): it keeps what it held */
    if (!own_mask_slot)
        put_checks_back(before);
    Py_END_ALLOW_THREADS
    if (m)
        memory_unpin(m);
    return PyLong_FromLongLong(r);
}

static PyObject *Slot_set_memory_charged(SlotObject *s, PyObject *arg)
{
    unsigned long long bytes = PyLong_AsUnsignedLongLong(arg);
    if (bytes == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    __atomic_store_n(&s->memory_charged, (uint64_t)bytes, __ATOMIC_RELEASE);
    Py_RETURN_NONE;
}

/* forget_cage(): the cage has ended; a call that still reaches this slot (a grate
 * thread in the middle of acting for it) is ESRCH, and the cage and its slot no longer
 * keep each other alive (their cycle left them to Python's collector). */
static PyObject *Slot_forget_cage(SlotObject *s, PyObject *unused)
{
    Py_SETREF(s->cage, Py_NewRef(Py_None));
    Py_RETURN_NONE;
}

static PyObject *Slot_set_signals_quiet(SlotObject *s, PyObject *arg)
{
    int quiet = PyObject_IsTrue(arg);
    if (quiet < 0)
        return NULL;
    __atomic_store_n(&s->signals_quiet, quiet, __ATOMIC_SEQ_CST);
    Py_RETURN_NONE;
}

static PyObject *Slot_get_exiting(SlotObject *s, void *unused)
{
    return PyBool_FromLong(s->exiting);
}

static PyMethodDef Slot_methods[] = {
    {"set", (PyCFunction)Slot_set, METH_VARARGS, "set(nr, handler_or_None, fast_code, owner=0)"},
    {"get", (PyCFunction)Slot_get, METH_O, "get(nr) -> (handler_or_None, fast_code)"},
    {"owner", (PyCFunction)Slot_owner, METH_O, "owner(nr) -> who installed the entry"},
    {"set_ids", (PyCFunction)Slot_set_ids, METH_VARARGS,
     "set_ids(pid, ppid, uid, euid, gid, egid[, suid]) (suid: euid's when not given)"},
    {"set_fd_limit", (PyCFunction)Slot_set_fd_limit, METH_O, "fds at or above this are EBADF"},
    {"set_memory", (PyCFunction)Slot_set_memory, METH_O, "the cage's Memory, for fast I/O"},
    {"mirror_fd", (PyCFunction)Slot_mirror_fd, METH_VARARGS,
     "mirror_fd(fd, host_fd, readable, writable, kind=IO_PLAIN); host_fd -1 forgets fd"},
    {"acquire_wake", (PyCFunction)Slot_acquire_wake, METH_NOARGS,
     "the cage's wake eventfd for one wait (ESRCH once it ended); release_wake() after"},
    {"release_wake", (PyCFunction)Slot_release_wake, METH_NOARGS, "the wait is over"},
    {"wake", (PyCFunction)Slot_wake, METH_NOARGS, "end the cage's wait on a host fd"},
    {"close_wake", (PyCFunction)Slot_close_wake, METH_NOARGS, "the cage ended: close its wake fd"},
    {"stop", (PyCFunction)Slot_stop, METH_O, "stop the cage when the current call returns"},
    {"resume", (PyCFunction)Slot_resume, METH_NOARGS, "clear a stop request"},
    {"copy_table", (PyCFunction)Slot_copy_table, METH_O, "copy_table(other): take all its entries"},
    {"copy_fds", (PyCFunction)Slot_copy_fds, METH_O,
     "copy_fds(parent): a forked child's fd mirror, its parent's"},
    {"call", (PyCFunction)Slot_call, METH_VARARGS, "call(nr, a1..a6) through the table"},
    {"futex_wait", (PyCFunction)Slot_futex_wait, METH_VARARGS,
     "futex_wait(memory, addr, expected, shared, bitset, deadline_ns, realtime, wake_fd)"},
    {"futex_wake", (PyCFunction)Slot_futex_wake, METH_VARARGS,
     "futex_wake(memory, addr, count, shared, bitset) -> woken"},
    {"futex_requeue", (PyCFunction)Slot_futex_requeue, METH_VARARGS,
     "futex_requeue(memory, addr, target, nr_wake, nr_requeue, compare, expected, shared)"},
    {"set_shared_ranges", (PyCFunction)Slot_set_shared_ranges, METH_O,
     "set_shared_ranges([(start, end)]): the cage's MAP_SHARED regions"},
    {"set_files", (PyCFunction)Slot_set_files, METH_O,
     "set_files(mounts_or_None): where the opens served here resolve"},
    {"set_cwd", (PyCFunction)Slot_set_cwd, METH_O, "set_cwd(path: bytes): the cage's cwd"},
    {"set_startup_strings", (PyCFunction)Slot_set_startup_strings, METH_VARARGS,
     "set_startup_strings(argc, argv, envc, env): what crt1's start-up imports answer"},
    {"set_umask", (PyCFunction)Slot_set_umask, METH_O, "set_umask(mask): the cage's umask"},
    {"set_memory_charged", (PyCFunction)Slot_set_memory_charged, METH_O,
     "set_memory_charged(bytes): what the cage's memory is charged (grown past: a tick asks)"},
    {"forget_cage", (PyCFunction)Slot_forget_cage, METH_NOARGS,
     "forget_cage(): the cage has ended; calls through this slot are ESRCH"},
    {"set_signals_quiet", (PyCFunction)Slot_set_signals_quiet, METH_O,
     "set_signals_quiet(bool): nothing is pending for the cage (see signal masks)"},
    {"set_file_size_limited", (PyCFunction)Slot_set_file_size_limited, METH_O,
     "set_file_size_limited(bool): whether RLIMIT_FSIZE is finite"},
    {"set_open_limit", (PyCFunction)Slot_set_open_limit, METH_O, "RLIMIT_NOFILE's soft limit"},
    {"set_fd_share", (PyCFunction)Slot_set_fd_share, METH_O,
     "set_fd_share(share): the FdShare its tree's host fds count in"},
    {"note_posix_locks", (PyCFunction)Slot_note_posix_locks, METH_NOARGS,
     "the cage holds POSIX locks: every close is Python's"},
    {"claim_fd", (PyCFunction)Slot_claim_fd, METH_O,
     "claim_fd(fd) -> bool: Python takes the number, unless opened here"},
    {"adopt_fd", (PyCFunction)Slot_adopt_fd, METH_O,
     "adopt_fd(fd) -> (fd, host_fd, flags, cloexec, is_dir, path) or None"},
    {"adopt_all", (PyCFunction)Slot_adopt_all, METH_O,
     "adopt_all(final) -> [(fd, host_fd, flags, cloexec, is_dir, path)]"},
    {NULL}
};

static PyGetSetDef Slot_getset[] = {
    {"exiting", (getter)Slot_get_exiting, NULL, "a stop was requested", NULL},
    {"futex_waiters", (getter)Slot_get_futex_waiters, NULL, "threads in a futex wait now", NULL},
    {NULL}
};

static PyTypeObject SlotType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.Slot",
    .tp_basicsize = sizeof(SlotObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A cage's 3i table: Slot(cage, domain=0): domain, the key of its Runtime",
    .tp_new = Slot_new,
    .tp_dealloc = (destructor)Slot_dealloc,
    .tp_traverse = (traverseproc)Slot_traverse,
    .tp_clear = (inquiry)Slot_clear,
    .tp_methods = Slot_methods,
    .tp_getset = Slot_getset,
};

/* ---------------------------------------------------------- slot references
 *
 * The env of an instance's lind.syscall imports: a word naming the Slot its calls go
 * to. An instance whose cage has ended may be taken by another cage of its tree (a
 * fork reuses it rather than instantiating the program again: Cage.forked), whose
 * slot the word then names. Borrowed, as a cage's instances never run once its slot
 * is released. */
typedef struct {
    PyObject_HEAD
    SlotObject *slot;
} SlotRefObject;

static PyObject *SlotRef_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PyObject *slot;
    if (!PyArg_ParseTuple(args, "O!", &SlotType, &slot))
        return NULL;
    SlotRefObject *r = (SlotRefObject *)type->tp_alloc(type, 0);
    if (r)
        r->slot = (SlotObject *)slot;
    return (PyObject *)r;
}

static PyObject *SlotRef_get_slot(SlotRefObject *r, void *unused)
{
    return Py_NewRef((PyObject *)r->slot);
}

static int SlotRef_set_slot(SlotRefObject *r, PyObject *slot, void *unused)
{
    if (!slot || !PyObject_TypeCheck(slot, &SlotType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Slot");
        return -1;
    }
    r->slot = (SlotObject *)slot;
    return 0;
}

static PyObject *SlotRef_get_address(SlotRefObject *r, void *unused)
{
    return PyLong_FromVoidPtr(&r->slot);
}

static PyGetSetDef SlotRef_getset[] = {
    {"slot", (getter)SlotRef_get_slot, (setter)SlotRef_set_slot, "the Slot calls go to", NULL},
    {"address", (getter)SlotRef_get_address, NULL, "the env word of the host functions", NULL},
    {NULL}
};

static PyTypeObject SlotRefType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lind.threei._accel.SlotRef",
    .tp_basicsize = sizeof(SlotRefObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The Slot an instance's system calls go to: SlotRef(slot)",
    .tp_new = SlotRef_new,
    .tp_getset = SlotRef_getset,
};

/* -------------------------------------------------------- the wasm import */

/* One thread of a cage ends (exit(2) in a cage with other threads): its call, made
 * through that cage's slot on this host thread, stops its instance when it returns
 * (not a grate worker's call made for it on the way, which goes through the grate's). */
static __thread SlotObject *thread_stopped;
/* The slot whose module this host thread is instantiating (refuse_calls_here). */
static __thread SlotObject *instantiating;

/* wasmtime_func_unchecked_callback_t for (i32 nr, i64 a1..a6) -> i64 */
static size_t lind_syscall_entry(void *env, void *caller, wt_val_raw_t *vals, size_t n)
{
    SlotObject *s = *(SlotObject **)env;   /* a SlotRef's word */
    if (instantiating == s) {   /* a start function: the cage is not made yet */
        vals[0].i64 = -ENOSYS;
        return 0;
    }
    int64_t a[6] = {vals[1].i64, vals[2].i64, vals[3].i64, vals[4].i64, vals[5].i64, vals[6].i64};
    vals[0].i64 = dispatch(s, s->memory, vals[0].i32, a);
    if (thread_stopped == s) {
        thread_stopped = NULL;
        stop_made = STOP_THREAD;
        stop_slot = s;
        return (size_t)trap_new("thread exit", strlen("thread exit"));
    }
    if (!s->exiting)
        return 0;
    PyGILState_STATE g = PyGILState_Ensure();
    Py_ssize_t len = 0;
    const char *msg = s->trap_message ? PyUnicode_AsUTF8AndSize(s->trap_message, &len) : NULL;
    if (!msg) {
        PyErr_Clear();
        msg = "cage stopped";
        len = (Py_ssize_t)strlen(msg);
    }
    void *trap = trap_new(msg, (size_t)len);
    Py_XSETREF(stop_text, PyUnicode_FromStringAndSize(msg, len));
    PyErr_Clear();
    stop_made = STOP_CAGE;
    stop_slot = s;
    PyGILState_Release(g);
    return (size_t)trap;
}

/* crt1's start-up imports, (i32, i32) -> i32 each: args_sizes_get(count, bytes) and
 * args_get(pointers, strings) [index 0, 1], the same for the environment [2, 3]; 0 or
 * -errno, as the microvisor answers. */
static int32_t startup_strings(SlotObject *s, unsigned index, uint32_t first, uint32_t second)
{
    MemoryObject *m = s->memory;
    if (instantiating == s)       /* a start function: the cage is not made yet */
        return -ENOSYS;
    if (!m || s->cage == Py_None)      /* ended: a stale instance's call */
        return -ESRCH;
    unsigned which = index >> 1;
    int32_t r = 0;
    pthread_mutex_lock(&s->files_lock);
    const char *strings = s->startup_strings[which];
    uint32_t count = s->startup_count[which], bytes = (uint32_t)s->startup_bytes[which];
    if (!(index & 1)) {
        if (!memory_writable(m, first, 4) || !memory_writable(m, second, 4)) {
            r = -EFAULT;
        } else {
            memcpy(m->base + first, &count, 4);
            memcpy(m->base + second, &bytes, 4);
        }
    } else if (!memory_writable(m, second, bytes) ||
               !memory_writable(m, first, (uint64_t)count * 4)) {
        r = -EFAULT;
    } else {
        if (bytes)
            memcpy(m->base + second, strings, bytes);
        uint32_t at = 0;
        for (uint32_t i = 0; i < count; i++) {
            uint32_t pointer = second + at;
            memcpy(m->base + first + 4 * (uint64_t)i, &pointer, 4);
            at += (uint32_t)strlen(strings + at) + 1;
        }
    }
    pthread_mutex_unlock(&s->files_lock);
    return r;
}

/* wasmtime_func_unchecked_callback_t for the start-up imports: the env word is a
 * SlotRef's address (8-aligned) with the import's index in its two low bits. */
static size_t lind_startup_entry(void *env, void *caller, wt_val_raw_t *vals, size_t n)
{
    uintptr_t word = (uintptr_t)env;
    SlotObject *s = *(SlotObject **)(word & ~(uintptr_t)3);
    vals[0].i32 = startup_strings(s, (unsigned)(word & 3), (uint32_t)vals[0].i32,
                                  (uint32_t)vals[1].i32);
    return 0;
}

static PyObject *mod_init(PyObject *self, PyObject *args)
{
    unsigned long long size_fn, data_fn, shared_size_fn, shared_data_fn, trap_fn, call_fn;
    unsigned long long error_delete_fn, trap_delete_fn, global_get_fn, global_set_fn;
    unsigned long long epoch_callback_fn_, epoch_deadline_fn;
    unsigned int val_size, global_size;
    if (!PyArg_ParseTuple(args, "KKKKKKKKKKKKII", &size_fn, &data_fn, &shared_size_fn,
                          &shared_data_fn, &trap_fn, &call_fn, &error_delete_fn, &trap_delete_fn,
                          &global_get_fn, &global_set_fn, &epoch_callback_fn_, &epoch_deadline_fn,
                          &val_size, &global_size))
        return NULL;
    if (val_size != sizeof(wt_val_t) || global_size != sizeof(wt_global_t)) {
        PyErr_Format(PyExc_RuntimeError, "wasmtime_val_t is %u bytes, wasmtime_global_t %u: "
                     "the trampoline was built for %zu and %zu", val_size, global_size,
                     sizeof(wt_val_t), sizeof(wt_global_t));
        return NULL;
    }
    global_get = (wt_global_get_fn)(uintptr_t)global_get_fn;
    global_set = (wt_global_set_fn)(uintptr_t)global_set_fn;
    error_delete = (wt_delete_fn)(uintptr_t)error_delete_fn;
    trap_delete = (wt_delete_fn)(uintptr_t)trap_delete_fn;
    sharedmemory_data_size = (wt_sharedmemory_data_size_fn)(uintptr_t)shared_size_fn;
    sharedmemory_data = (wt_sharedmemory_data_fn)(uintptr_t)shared_data_fn;
    func_call_unchecked = (wt_func_call_unchecked_fn)(uintptr_t)call_fn;
    memory_data_size = (wt_memory_data_size_fn)(uintptr_t)size_fn;
    memory_data = (wt_memory_data_fn)(uintptr_t)data_fn;
    trap_new = (wt_trap_new_fn)(uintptr_t)trap_fn;
    epoch_callback_set = (wt_epoch_callback_set_fn)(uintptr_t)epoch_callback_fn_;
    set_epoch_deadline = (wt_set_epoch_deadline_fn)(uintptr_t)epoch_deadline_fn;
    Py_RETURN_NONE;
}

/* Numeric globals, read and written by address (a wasmtime_global_t in wasmtime-py's
 * Global) in the store whose context is at `context`: what fork copies and thread
 * starts set, without ctypes' conversions (~2 us a call through it). */
static int global_args(PyObject *const *args, Py_ssize_t at, void **ctx, const wt_global_t **g)
{
    *ctx = PyLong_AsVoidPtr(args[at]);
    if (!*ctx && PyErr_Occurred())
        return -1;
    *g = PyLong_AsVoidPtr(args[at + 1]);
    if (!*g && PyErr_Occurred())
        return -1;
    if (!*ctx || !*g || !global_get) {
        PyErr_SetString(PyExc_ValueError, "no store or global");
        return -1;
    }
    return 0;
}

static int set_global(void *ctx, const wt_global_t *g, const wt_val_t *v)
{
    void *failed = global_set(ctx, g, v);
    if (failed) {
        error_delete(failed);
        PyErr_SetString(PyExc_ValueError, "the global cannot be set");
        return -1;
    }
    return 0;
}

/* global_i32(context, global) -> int */
static PyObject *mod_global_i32(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    void *ctx;
    const wt_global_t *g;
    if (n != 2) {
        PyErr_SetString(PyExc_TypeError, "global_i32(context, global)");
        return NULL;
    }
    if (global_args(args, 0, &ctx, &g) < 0)
        return NULL;
    wt_val_t v;
    memset(&v, 0, sizeof v);
    global_get(ctx, g, &v);
    if (v.kind != WT_I32) {
        PyErr_SetString(PyExc_TypeError, "not an i32 global");
        return NULL;
    }
    return PyLong_FromLong(v.of.i32);
}

/* set_global_i32(context, global, value): an i32 global (low 32 bits of `value`) */
static PyObject *mod_set_global_i32(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    void *ctx;
    const wt_global_t *g;
    if (n != 3) {
        PyErr_SetString(PyExc_TypeError, "set_global_i32(context, global, value)");
        return NULL;
    }
    if (global_args(args, 0, &ctx, &g) < 0)
        return NULL;
    unsigned long long value = PyLong_AsUnsignedLongLongMask(args[2]);
    if (value == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    wt_val_t v;
    memset(&v, 0, sizeof v);
    v.kind = WT_I32;
    v.of.i32 = (int32_t)(uint32_t)value;
    if (set_global(ctx, g, &v) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* copy_global(source_context, source, target_context, target): a numeric global's
 * value into one of the same type (Wasmtime checks the type). */
static PyObject *mod_copy_global(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    void *from_ctx, *to_ctx;
    const wt_global_t *from, *to;
    if (n != 4) {
        PyErr_SetString(PyExc_TypeError, "copy_global(source_context, source, target_context, target)");
        return NULL;
    }
    if (global_args(args, 0, &from_ctx, &from) < 0 || global_args(args, 2, &to_ctx, &to) < 0)
        return NULL;
    wt_val_t v;
    memset(&v, 0, sizeof v);
    global_get(from_ctx, from, &v);
    if (v.kind > WT_F64) {       /* a reference or vector holds what a copy must not */
        PyErr_SetString(PyExc_TypeError, "not a numeric global");
        return NULL;
    }
    if (set_global(to_ctx, to, &v) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_entry_address(PyObject *self, PyObject *unused)
{
    return PyLong_FromVoidPtr((void *)lind_syscall_entry);
}

static PyObject *mod_startup_entry_address(PyObject *self, PyObject *unused)
{
    return PyLong_FromVoidPtr((void *)lind_startup_entry);
}

/* refuse_calls_here(slot or None): until called with None, every call this host
 * thread makes through `slot` is ENOSYS, handled nowhere: an instance of the cage's
 * module being made runs its start function before the cage has that instance. */
static PyObject *mod_refuse_calls_here(PyObject *self, PyObject *slot)
{
    if (slot != Py_None && !PyObject_TypeCheck(slot, &SlotType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Slot or None");
        return NULL;
    }
    instantiating = slot == Py_None ? NULL : (SlotObject *)slot;
    Py_RETURN_NONE;
}

/* calls_refused_here(slot): whether refuse_calls_here(slot) holds on this thread
 * (imports Python defines itself, WASI's, refuse their calls then too). */
static PyObject *mod_calls_refused_here(PyObject *self, PyObject *slot)
{
    return PyBool_FromLong(instantiating != NULL && (PyObject *)instantiating == slot);
}

static PyObject *mod_stop_this_thread(PyObject *self, PyObject *slot)
{
    if (!PyObject_TypeCheck(slot, &SlotType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Slot");
        return NULL;
    }
    thread_stopped = (SlotObject *)slot;   /* the cage's slot lives while its threads do */
    Py_RETURN_NONE;
}

static PyObject *mod_use_thread_wake(PyObject *self, PyObject *args)
{
    PyObject *slot;
    int fd;
    if (!PyArg_ParseTuple(args, "O!i", &SlotType, &slot, &fd))
        return NULL;
    own_wake_slot = fd >= 0 ? (SlotObject *)slot : NULL;
    own_wake_fd = fd;
    Py_RETURN_NONE;
}

static PyObject *mod_use_thread_signals(PyObject *self, PyObject *args)
{
    PyObject *slot, *cell;
    if (!PyArg_ParseTuple(args, "O!O!", &SlotType, &slot, &MaskCellType, &cell))
        return NULL;
    Py_INCREF(cell);
    Py_XSETREF(own_mask_cell, (MaskCellObject *)cell);
    own_mask_slot = (SlotObject *)slot;
    Py_RETURN_NONE;
}

static PyObject *mod_set_signal_settler(PyObject *self, PyObject *fn)
{
    Py_INCREF(fn);
    Py_XSETREF(signal_settler, fn);
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------- epoch ticks
 *
 * Every 10 ms the ticker advances the engine's epoch, and each store running wasm calls
 * its deadline callback: Python's (Cage._on_epoch) decides whether to stop the code (a
 * kill, an exit, a null-page touch, memory past the budget, a start function running
 * too long) or to run a signal handler in it. Most ticks find nothing: a cage thread
 * running its own code, not stopping, nothing pending, no null-page touch anywhere, its
 * memory no larger than what was charged. Those are answered here, without the GIL
 * (through Python a tick cost ~100 us of CPU on the running cage, and every running
 * cage took the GIL at each tick); any other goes to the Python callback. */
typedef uintptr_t (*epoch_callback_fn)(void *context, void *data, uint64_t *delta,
                                       uint8_t *kind);

typedef struct {
    const SlotObject *slot;    /* compared, never followed unless it is this thread's own
                                * (own_mask_slot, then alive): a store may outlive its cage */
    epoch_callback_fn python;
    void *key;                 /* the Python callback's data */
} EpochWatch;

static int memory_within_charge(SlotObject *s)
{
    MemoryObject *m = s->memory;
    if (!m)
        return 0;
    memory_refresh(m);
    return (uint64_t)m->size <= __atomic_load_n(&s->memory_charged, __ATOMIC_ACQUIRE);
}

static uintptr_t epoch_tick(void *context, void *data, uint64_t *delta, uint8_t *kind)
{
    EpochWatch *w = data;
    SlotObject *s = own_mask_slot;
    if (s && (const SlotObject *)s == w->slot && !threei_nesting && !instantiating &&
        !__atomic_load_n(&s->exiting, __ATOMIC_ACQUIRE) &&
        __atomic_load_n(&s->signals_quiet, __ATOMIC_SEQ_CST) &&
        !__atomic_load_n(&guard_hits, __ATOMIC_ACQUIRE) && memory_within_charge(s)) {
        *delta = 1;
        *kind = 0;             /* WASMTIME_UPDATE_DEADLINE_CONTINUE */
        return 0;
    }
    UnwinderObject *hidden = entered;    /* Python may enter wasm: not this entry's */
    entered = NULL;
    uintptr_t r = w->python(context, w->key, delta, kind);
    entered = hidden;
    return r;
}

static void epoch_watch_free(void *data)
{
    PyMem_RawFree(data);
}

/* watch_epochs(store, context, slot, python_callback, key): the ticks of the store
 * (addresses of its wasmtime_store_t and wasmtime_context_t) of the cage of `slot` are
 * epoch_tick's from the next one on. Two calls into Wasmtime made here rather than by
 * wasmtime-py, which lets Python's lock go for each (twice in every fork and exec). */
static PyObject *mod_watch_epochs(PyObject *self, PyObject *args)
{
    PyObject *slot;
    unsigned long long store, context, python, key;
    if (!PyArg_ParseTuple(args, "KKO!KK", &store, &context, &SlotType, &slot, &python, &key))
        return NULL;
    if (!store || !context) {
        PyErr_SetString(PyExc_ValueError, "watch_epochs: no store");
        return NULL;
    }
    EpochWatch *w = PyMem_RawMalloc(sizeof *w);
    if (!w)
        return PyErr_NoMemory();
    w->slot = (const SlotObject *)slot;
    w->python = (epoch_callback_fn)(uintptr_t)python;
    w->key = (void *)(uintptr_t)key;
    epoch_callback_set((void *)(uintptr_t)store, (void *)(uintptr_t)epoch_tick, w,
                       epoch_watch_free);
    set_epoch_deadline((void *)(uintptr_t)context, 1);
    Py_RETURN_NONE;
}

/* rearm_epoch(context): the store's next epoch tick interrupts it again, as
 * watch_epochs left it. An idle thread's instance taken for a new thread has its old
 * deadline long passed (wasmtime-py's Store.set_epoch_deadline cost ~3 us of ctypes). */
static PyObject *mod_rearm_epoch(PyObject *self, PyObject *arg)
{
    void *context = PyLong_AsVoidPtr(arg);
    if (!context) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "rearm_epoch: no store");
        return NULL;
    }
    set_epoch_deadline(context, 1);
    Py_RETURN_NONE;
}

/* thread_done(): this host thread runs no cage thread any more (it may run another
 * cage's next): nothing it noted for its last one may apply to that one. */
static PyObject *mod_thread_done(PyObject *self, PyObject *unused)
{
    own_wake_slot = NULL;
    own_wake_fd = -1;
    own_mask_slot = NULL;
    Py_CLEAR(own_mask_cell);
    thread_stopped = NULL;
    instantiating = NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_forget(PyObject *self, PyObject *slot)
{
    if (!PyObject_TypeCheck(slot, &SlotType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Slot");
        return NULL;
    }
    pthread_mutex_lock(&registry_lock);
    registry_remove_locked((SlotObject *)slot);
    pthread_mutex_unlock(&registry_lock);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"init", mod_init, METH_VARARGS, "init(memory_data_size, memory_data, sharedmemory_data_size, sharedmemory_data, trap_new, func_call_unchecked, error_delete, trap_delete, global_get, global_set, store_epoch_deadline_callback, context_set_epoch_deadline) addresses, sizeof wasmtime_val_t and wasmtime_global_t"},
    {"entry_address", mod_entry_address, METH_NOARGS, "address of the lind.syscall host function"},
    {"protection_limits", protection_limits, METH_NOARGS,
     "(ranges one memory may have, all memories together may have, all have now): mprotect's"},
    {"note_fault_order", note_fault_order, METH_NOARGS,
     "the engine exists: its fault handlers are the top to keep; False if they came before Lind's"},
    {"keep_fault_order", keep_fault_order, METH_NOARGS,
     "put Wasmtime's and Lind's fault handlers before any installed since; False if the order is unknown"},
    {"startup_entry_address", mod_startup_entry_address, METH_NOARGS,
     "address of the host function of crt1's start-up imports"},
    {"global_i32", (PyCFunction)(void (*)(void))mod_global_i32, METH_FASTCALL,
     "global_i32(context, global): an i32 global's value (addresses of the store's context and the wasmtime_global_t)"},
    {"set_global_i32", (PyCFunction)(void (*)(void))mod_set_global_i32, METH_FASTCALL,
     "set_global_i32(context, global, value): set an i32 global"},
    {"copy_global", (PyCFunction)(void (*)(void))mod_copy_global, METH_FASTCALL,
     "copy_global(source_context, source, target_context, target): a numeric global's value into another"},
    {"hand_over_after_fork", mod_hand_over_after_fork, METH_O,
     "hand_over_after_fork(wake) -> bool: the trampoline posts wake (a fork's child's) "
     "once the forking thread has let the GIL go"},
    {"call_export", (PyCFunction)(void (*)(void))mod_call_export, METH_FASTCALL,
     "call_export(context, func, slot, *i32 args) -> None, a stop's message, or (error, trap)"},
    {"forget", mod_forget, METH_O, "the cage of this Slot is gone: stop finding it by id"},
    {"watch_epochs", mod_watch_epochs, METH_VARARGS,
     "watch_epochs(store, context, slot, python_callback, key): a store's ticks are the trampoline's"},
    {"rearm_epoch", mod_rearm_epoch, METH_O,
     "rearm_epoch(context): the store's next epoch tick interrupts it"},
    {"act_as", mod_act_as, METH_O,
     "act_as(euid): this host thread acts for a cage of that effective uid (its permission "
     "checks); the checks it held before (for checks_back)"},
    {"act_for_lind", mod_act_for_lind, METH_NOARGS,
     "this host thread does Lind's own work: it holds every file-permission override Lind's user "
     "has; the checks it held before (for checks_back)"},
    {"checks_back", mod_checks_back, METH_O,
     "checks_back(before): the thread holds again what act_as or act_for_lind found"},
    {"thread_done", mod_thread_done, METH_NOARGS,
     "this host thread's cage thread ended: forget its wake fd and stops"},
    {"use_thread_signals", mod_use_thread_signals, METH_VARARGS,
     "use_thread_signals(slot, cell): this host thread runs the cage thread whose mask is cell"},
    {"set_signal_settler", mod_set_signal_settler, METH_O,
     "set_signal_settler(fn): fn(cage) settles signals after a mask changed here"},
    {"use_thread_wake", mod_use_thread_wake, METH_VARARGS,
     "use_thread_wake(slot, fd): this host thread's waits through slot use eventfd fd (-1: the slot's)"},
    {"refuse_calls_here", mod_refuse_calls_here, METH_O,
     "refuse_calls_here(slot or None): this thread's calls through slot are ENOSYS"},
    {"calls_refused_here", mod_calls_refused_here, METH_O,
     "calls_refused_here(slot): refuse_calls_here(slot) holds on this thread"},
    {"stop_this_thread", mod_stop_this_thread, METH_O,
     "stop_this_thread(slot): the call this host thread makes through slot ends its instance"},
    {"room_for_wasm", mod_room_for_wasm, METH_NOARGS,
     "whether this thread's host stack has the room a Store entered afresh needs"},
    {"set_room_for_wasm", mod_set_room_for_wasm, METH_O,
     "set_room_for_wasm(bytes): host stack a call into a grate's worker (a Store entered "
     "afresh) must find free, else it fails with ELOOP"},
    {"handler_in_use", mod_handler_in_use, METH_O,
     "handler_in_use(handler): a thread holds this GrateHandler in a call"},
    {"new_wake_fd", mod_new_wake_fd, METH_NOARGS, "a new wake eventfd (and its futex word)"},
    {"open_in_root", (PyCFunction)(void (*)(void))mod_open_in_root, METH_FASTCALL,
     "open_in_root(dirfd, path, flags, mode=0) -> fd: openat2, RESOLVE_IN_ROOT"},
    {"file_mode", mod_file_mode, METH_O, "file_mode(fd) -> st_mode"},
    {"host_fds_take", mod_host_fds_take, METH_VARARGS,
     "host_fds_take(n, reserved): count n more host fds (ENFILE past the budget)"},
    {"host_fds_give", mod_host_fds_give, METH_O, "host_fds_give(n): n host fds are closed"},
    {"host_fds_set_limit", mod_host_fds_set_limit, METH_O, "the budget of host fds"},
    {"host_fds_held", mod_host_fds_held, METH_NOARGS, "host fds counted now"},
    {"close_host_fd", mod_close_host_fd, METH_O,
     "close_host_fd(fd): close now, or when the last fast path using it lets go"},
    {"signal_wake_fd", mod_signal_wake_fd, METH_O, "write a wake eventfd: its waits end"},
    {"drain_wake_fd", mod_drain_wake_fd, METH_O, "read a wake eventfd back to quiet"},
    {"take_sleep_deadline", mod_take_sleep_deadline, METH_VARARGS,
     "take_sleep_deadline(slot, req) -> monotonic ns of the sleep handed over, or 0"},
    {"set_description", set_description, METH_VARARGS,
     "set_description(id, DESC_*): how a description's reads and writes wait"},
    {"set_read_twin", set_read_twin, METH_VARARGS,
     "set_read_twin(host_fd, twin): a blocking twin of the pipe read side at host_fd (-1: none)"},
    {NULL}
};

static struct PyModuleDef accel_module = {
    PyModuleDef_HEAD_INIT, "_accel", "3i trampoline: the C entry for cage system calls", -1, module_methods,
};

PyMODINIT_FUNC PyInit__accel(void)
{
    if (PyType_Ready(&MemoryType) < 0 || PyType_Ready(&SlotType) < 0 ||
        PyType_Ready(&GrateType) < 0 || PyType_Ready(&GrateHandlerType) < 0 ||
        PyType_Ready(&MountsType) < 0 || PyType_Ready(&SlotRefType) < 0 ||
        PyType_Ready(&FdShareType) < 0 ||
        PyType_Ready(&MaskCellType) < 0 || PyType_Ready(&JumpPointsType) < 0 ||
        PyType_Ready(&UnwinderType) < 0 || PyType_Ready(&RangeShareType) < 0 ||
        PyType_Ready(&WakeType) < 0)
        return NULL;
    if (install_fault_handler())
        return PyErr_SetFromErrno(PyExc_OSError);
    PyObject *m = PyModule_Create(&accel_module);
    if (!m)
        return NULL;
    PyModule_AddObjectRef(m, "Memory", (PyObject *)&MemoryType);
    PyModule_AddObjectRef(m, "Slot", (PyObject *)&SlotType);
    PyModule_AddObjectRef(m, "SlotRef", (PyObject *)&SlotRefType);
    PyModule_AddObjectRef(m, "MaskCell", (PyObject *)&MaskCellType);
    PyModule_AddObjectRef(m, "Wake", (PyObject *)&WakeType);
    PyModule_AddObjectRef(m, "JumpPoints", (PyObject *)&JumpPointsType);
    PyModule_AddObjectRef(m, "Unwinder", (PyObject *)&UnwinderType);
    PyModule_AddObjectRef(m, "Grate", (PyObject *)&GrateType);
    PyModule_AddObjectRef(m, "GrateHandler", (PyObject *)&GrateHandlerType);
    PyModule_AddObjectRef(m, "Mounts", (PyObject *)&MountsType);
    PyModule_AddObjectRef(m, "FdShare", (PyObject *)&FdShareType);
    PyModule_AddObjectRef(m, "RangeShare", (PyObject *)&RangeShareType);
    PyModule_AddIntConstant(m, "NSYSCALLS", NSYSCALLS);
    static const char *fast_names[] = {
        "FAST_NONE", "FAST_GETPID", "FAST_GETPPID", "FAST_GETUID", "FAST_GETEUID",
        "FAST_GETGID", "FAST_GETEGID", "FAST_CLOSE", "FAST_READ", "FAST_WRITE",
        "FAST_PREAD", "FAST_PWRITE", "FAST_LSEEK", "FAST_GRATE", "FAST_THREEI_CALL",
        "FAST_SENDTO", "FAST_RECVFROM", "FAST_EPOLL_PWAIT", "FAST_FUTEX", "FAST_OPEN",
        "FAST_OPENAT", "FAST_FSTAT", "FAST_NEWFSTATAT", "FAST_SIGPROCMASK", "FAST_READV",
        "FAST_WRITEV", "FAST_CLOCK_GETTIME", "FAST_GETRANDOM", "FAST_NANOSLEEP",
        "FAST_CLOCK_NANOSLEEP", "FAST_SETJMP", "FAST_LONGJMP", "FAST_FORK", "FAST_IOCTL",
        "FAST_POLL", "FAST_ACCESS", "FAST_FACCESSAT", "FAST_READLINK", "FAST_READLINKAT",
        "FAST_PSELECT6", "FAST_UNLINK", "FAST_RMDIR", "FAST_UNLINKAT", "FAST_RENAME",
        "FAST_RENAMEAT",
    };
    for (int i = 0; i < FAST_COUNT; i++)
        PyModule_AddIntConstant(m, fast_names[i], i);
    static const char *io_names[] = {"IO_PLAIN", "IO_PIPE", "IO_NONBLOCKING", "IO_TTY"};
    for (int i = 0; i < IO_KINDS; i++)
        PyModule_AddIntConstant(m, io_names[i], i);
    PyModule_AddIntConstant(m, "DESC_BLOCKING", DESC_BLOCKING);
    PyModule_AddIntConstant(m, "DESC_NONBLOCKING", DESC_NONBLOCKING);
    PyModule_AddIntConstant(m, "DESC_PYTHON", DESC_PYTHON);
    PyModule_AddIntConstant(m, "DESCRIPTIONS", DESCRIPTIONS);
#ifdef BLOCKING_READS
    PyModule_AddIntConstant(m, "BLOCKING_READS", 1);
#else
    PyModule_AddIntConstant(m, "BLOCKING_READS", 0);
#endif
    PyModule_AddIntConstant(m, "FUTEX_WOKEN", FUTEX_WOKEN);
    PyModule_AddIntConstant(m, "FUTEX_WAKE_FD_WRITTEN", FUTEX_WAKE_FD_WRITTEN);
    return m;
}
