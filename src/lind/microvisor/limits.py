"""Budgets that keep cages from exhausting the host: every limit Lind enforces, in one place.

Per cage (Linux semantics, inherited by fork, kept across exec):
- RLIMIT_NOFILE: soft 1024, hard 4096 (Linux's defaults). fds at or above the soft
  limit are refused (EMFILE; F_DUPFD with a start at or above it: EINVAL). A cage may
  lower either limit and raise the soft one up to the hard one; raising the hard one is
  EPERM (a cage is never privileged), soft > hard is EINVAL.
- RLIMIT_AS: the cage's linear memory (at most 4 GiB, wasm32), lowered by the tree's
  memory budget if that is smaller. A cage may lower it (brk/mmap past it: ENOMEM);
  raising it is EPERM.
- RLIMIT_STACK: soft 8 MiB, hard unlimited (Linux's defaults). A program's stack is
  sized from the soft limit when it starts (execve, as on Linux; a fork keeps its
  parent's): at most the region `lind cc` linked (8 MiB, `-Wl,-z,stack-size=N` for
  another), at least `MIN_STACK`. Past it the program gets SIGSEGV. A program whose
  stack is not below its data (linked without --stack-first) keeps its linked stack. A cage may lower
  either limit and raise the soft one up to the hard one.
- RLIMIT_CPU: CPU seconds of the cage's first thread: SIGXCPU at the soft limit and
  each second after, SIGKILL at the hard one (checked every 0.2 s); unlimited unless a
  policy's `cpu_time` sets it. A cage may lower it.
- RLIMIT_FSIZE: the largest file a cage may write (regular files; write, pwrite,
  *v forms, sendfile, copy_file_range, truncate, fallocate): a write that would pass it
  is cut short at it, one at or past it is EFBIG with SIGXFSZ; unlimited unless a
  policy's `file_size` sets it. A cage may lower it.
- RLIMIT_SIGPENDING: soft and hard `SIGPENDING`: the realtime signals queued for the
  cages of its tree (a tree is one user, as Linux counts them) past which a sigqueue or
  tkill to this cage is EAGAIN (a kill's signal is pending without its siginfo). A cage
  may lower it. Standard signals are never queued twice, so not counted.
- Other resources report RLIM_INFINITY and refuse changes with EPERM.

Per process tree: the processes it may have at once (a policy's `processes`; fork past
it is EAGAIN), `Counted`.

Per process (all cages of this Lind process together):
- host fds: the cages' open files that hold a host fd, and the memfds (plus file
  fds) behind their MAP_SHARED mappings, are counted, and so are each tree's own (its
  stdio and its mounts' directories, which may use the reserve: a tree that starts
  while others hold every fd they may still starts); past
  `HostFds.limit` (this process's RLIMIT_NOFILE soft limit, raised to the hard limit
  at import, minus what was open at import, minus a reserve of max(64, 1/8 of it)),
  opening (or mapping) one more gets ENFILE, so the host can always start another tree.
  One tree's cages may hold `HostFds.tree_limit` of them (a quarter, but at least one
  cage's hard RLIMIT_NOFILE where the budget has that many): a tree's children opening
  pipes up to their RLIMIT_NOFILE took them all, and every other tenant's open failed.
  A file counts for the tree whose call opened it (`caller_fd_share`).

Memory (`MemoryBudget`): the linear memories of the cages of one process tree
(`lind run --memory`, `lind.run(memory=)`, `Runtime.spawn(memory=)`) and of all trees
of a runtime (`Runtime(memory=)`, default half the machine's physical memory) are
charged as they grow; growth through brk/mmap past a budget is ENOMEM, fork past one is
ENOMEM, and a cage growing its memory directly (wasm `memory.grow`) past one is killed
with SIGKILL, as the OOM killer would. Each cage's own memory is also capped by the
engine (store limits) at its tree's budget.

inotify: instances (EMFILE past 64) and watches (ENOSPC past 4096) of all cages
together, a part of the host user's own inotify limits; epoll registrations (ENOSPC) a
part of the user's max_user_watches. A tree may hold a quarter of each.

System V IPC (per network: its cages share one IPC namespace): Linux's defaults where
they bound nothing big (SHMMNI, SEMMSL, SEMOPM, SEMVMX, MSGMAX, MSGMNB), lower ones
where a hostile tree could otherwise fill the host's memory through Python objects
(SEMMNI, SEMMNS, MSGMNI); a segment (at most SHMMAX, the 32-bit address space's
quarter) is charged to the memory budget of the tree that made it while it exists, a
queued message (its text plus 128 bytes) to the sender's while it is queued. Past a
count: ENOSPC; past the budget: ENOMEM.

Files in flight (SCM_RIGHTS, not received yet): a tree's stop at its sender's
RLIMIT_NOFILE soft limit (ETOOMANYREFS, sys_net._CarriedFiles), as a Linux user's who
is not root: a socket in flight keeps its queue and may carry files in turn.

The module cache sizes are in `lind.cage.loader` (they concern the host, not a cage).
"""

from __future__ import annotations

import errno
import os
import resource
import threading
from collections.abc import Callable

from lind import threei

# ------------------------------------------------------------ RLIMIT_NOFILE

NOFILE_SOFT = 1024
NOFILE_HARD = 4096

# ------------------------------------------------------------ RLIMIT_NPROC

# Threads of one cage, its first included (Linux counts a user's processes and threads;
# a cage counts its own). The runtime's max_cages bounds cages and threads together.
NPROC = 1024

# ------------------------------------------------------------ pipes

#: What F_SETPIPE_SZ may grow the pipes of one process tree to, together (Linux's
#: pipe-user-pages-soft, 16384 pages: a tree is one user).
PIPE_TREE_BYTES = 64 << 20

# ------------------------------------------------------------ RLIMIT_STACK

#: the default soft limit (Linux's), and the least stack a program is started with
STACK = 8 << 20
MIN_STACK = 64 << 10

RLIM_INFINITY = (1 << 64) - 1

# ------------------------------------------------------------ setjmp's jump points

# What a cage whose setjmp goes through Asyncify (it forks) keeps of them (threei.JumpPoints):
# their frames are host memory outside its budget.
JUMP_POINTS = 1024
JUMP_POINT_BYTES = 16 << 20
# ...and what all the cages of one process tree keep together (a fork's child shares
# the frames its parent had): each cage's most alone let a thousand forked cages hold
# 16 GiB of the host.
JUMP_POINT_TREE_BYTES = 64 << 20


def check_new_limit(soft: int, hard: int, current_hard: int) -> None:
    """What setrlimit accepts from an unprivileged process: lower anything, raise the
    soft limit up to the hard one."""
    if soft > hard:
        raise OSError(errno.EINVAL, "Invalid argument")
    if hard > current_hard:
        raise OSError(errno.EPERM, "Operation not permitted")


# ------------------------------------------------------------ host fds

def _raise_process_fd_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard one (as many servers do at
    start); the soft limit in force afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard and hard != resource.RLIM_INFINITY:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (OSError, ValueError):
            pass
    return soft


def _open_now() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


class Counted:
    """How many of something the cages of this process hold, against a limit: one more
    past it is `error`."""

    def __init__(self, limit: int, error: int) -> None:
        self.limit = limit
        self.error = error
        self.held = 0
        self._lock = threading.Lock()

    def take(self, n: int = 1, *, reserved: bool = False) -> None:
        """Count `n` more; `error` past the limit unless they are the host's own."""
        with self._lock:
            if not reserved and self.held + n > self.limit:
                raise OSError(self.error, os.strerror(self.error))
            self.held += n

    def give(self, n: int = 1) -> None:
        with self._lock:
            self.held -= n


class HostFds:
    """Host fds cages' open files hold, against a budget that leaves the host a reserve
    (to start trees, load modules, write reports); `reserved` takes are a new tree's
    stdio, the host's own files. Counted in the trampoline, which opens files too.
    A `share` (threei.FdShare, a tree's: `new_share`) counts them for one tree as well,
    against `tree_limit`."""

    def __init__(self, process_limit: int, open_now: int) -> None:
        self.reserve = max(64, process_limit // 8)
        self.limit = max(process_limit - open_now - self.reserve, 0)
        self.tree_limit = max(self.limit // 4, min(self.limit, NOFILE_HARD))
        threei.host_fds_set_limit(self.limit)

    @property
    def held(self) -> int:
        return threei.host_fds_held()

    def new_share(self) -> threei.FdShare:
        """A new tree's part of the budget."""
        return threei.FdShare(self.tree_limit)

    def take(self, n: int = 1, *, reserved: bool = False,
             share: threei.FdShare | None = None) -> None:
        """Count `n` more (for `share`'s tree too); ENFILE past the budget or the
        share unless they are the host's own."""
        if share is not None:
            share.take(n, reserved)
        else:
            threei.host_fds_take(n, reserved)

    def give(self, n: int = 1, share: threei.FdShare | None = None) -> None:
        if share is not None:
            share.give(n)
        else:
            threei.host_fds_give(n)


host_fds = HostFds(_raise_process_fd_limit(), _open_now())


def _no_share() -> threei.FdShare | None:
    return None


#: The share of the tree whose call this thread serves (None: no cage's), which the
#: files opened for it count in; lind.cage.cage sets it.
caller_fd_share: Callable[[], threei.FdShare | None] = _no_share


# A process tree in this process: (its Runtime's key, its first cage's id), since every
# Runtime numbers its cages from 1. What a tree's shares are counted under.
TreeKey = tuple[int, int]


def tree_of(cage) -> TreeKey:
    return (cage.runtime.key, cage.init_id)


class Shared:
    """A Counted of the whole process of which one tree (any key) may hold `share`, so
    that one tree cannot leave none to the others."""

    def __init__(self, total: Counted, share: int) -> None:
        self.total = total
        self.share = share
        self._held: dict[object, int] = {}
        self._lock = threading.Lock()

    def take(self, tree: object, n: int = 1, limit: int | None = None) -> None:
        """Count `n` more for `tree`: the total's error past its share (or `limit`, if
        lower) or the total."""
        with self._lock:
            mine = self._held.get(tree, 0)
            if mine + n > (self.share if limit is None else min(self.share, limit)):
                raise OSError(self.total.error, os.strerror(self.total.error))
            self.total.take(n)
            self._held[tree] = mine + n

    def give(self, tree: object, n: int = 1) -> None:
        with self._lock:
            left = self._held.get(tree, 0) - n
            if left > 0:
                self._held[tree] = left
            else:
                self._held.pop(tree, None)
            self.total.give(n)


# ------------------------------------------------------------ inotify
# The host user's own limits (max_user_instances, default 128; max_user_watches, at
# least 8192) are shared with every program of that user: cages get part of them, and
# a tree a quarter of that.
inotify_instances = Shared(Counted(64, errno.EMFILE), 16)
inotify_watches = Shared(Counted(4096, errno.ENOSPC), 1024)


def host_setting(name: str, default: int) -> int:
    """A number the host kernel is set to (/proc/sys/NAME), or `default` where it says
    none (not Linux, /proc not mounted)."""
    try:
        with open(f"/proc/sys/{name}") as f:
            return int(f.read())
    except (OSError, ValueError):
        return default


# ------------------------------------------------------------ epoll
# The kernel keeps one count for every epoll of the user (root: of every root process
# on the host; fs.epoll.max_user_watches: 4% of low memory over ~90 bytes each, so at
# least tens of thousands): cages get a quarter of it, and a tree a quarter of that.
_EPOLL_WATCHES = max(host_setting("fs/epoll/max_user_watches", 65536) // 4, 1024)
epoll_watches = Shared(Counted(_EPOLL_WATCHES, errno.ENOSPC), _EPOLL_WATCHES // 4)

# ------------------------------------------------------------ queued signals
# Realtime signals sent and not yet taken, each a siginfo kept in Python (~250 bytes):
# RLIMIT_SIGPENDING of a tree's cages, and eight trees' worth for the process.
SIGPENDING = 4096
queued_signals = Shared(Counted(8 * SIGPENDING, errno.EAGAIN), SIGPENDING)

# ------------------------------------------------------------ fcntl locks
# The ranges locked (each a table entry here and a lock in the kernel: ~360 bytes of the
# host together), all files together: a cage locking every other byte of many files
# held 1,200,000 (~440 MB) outside its budget. ENOLCK past a tree's share, as Linux
# says when its lock table is full.
lock_ranges = Shared(Counted(1_000_000, errno.ENOLCK), 250_000)

# ------------------------------------------------------------ host mappings

# A cage's MAP_SHARED regions (System V segments attached too) are host mappings of the
# Lind process, one each, inside its linear memory's (split around them), and the
# kernel bounds the mappings of the whole process: a tree whose children mapped a file's
# page 8000 times each took all 65530, and every mmap of the process failed after (a
# tenant's start, the embedding program's own allocations: MemoryError). The regions of
# all cages together may be an eighth of it, each tree's a quarter of that: past either,
# mmap, shmat, fork, and a munmap or madvise that would split a shared region are ENOMEM,
# as Linux says when a process would pass its own max_map_count.
SHARED_REGIONS = max(host_setting("vm/max_map_count", 65530) // 8, 256)
SHARED_REGIONS_TREE = max(SHARED_REGIONS // 4, 64)
# The ranges mprotect protects split host mappings too (about two each): the C
# trampoline caps them alike, from the same setting (_accel.c, "protected pages").

# ------------------------------------------------------------ System V IPC

SHMMIN, SHMMAX, SHMMNI = 1, 1 << 30, 4096
SEMMSL, SEMMNI, SEMMNS, SEMOPM, SEMVMX = 32000, 1024, 262144, 500, 32767
MSGMAX, MSGMNB, MSGMNI = 8192, 16384, 256

# ------------------------------------------------------------ memory

WASM_PAGE = 65536


def physical_memory() -> int:
    """Bytes of RAM in this machine (0 if the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return 0


def default_runtime_memory() -> int:
    """What all cages of a Runtime may hold together unless told: half the RAM."""
    return physical_memory() // 2 or 1 << 32


class MemoryBudget:
    """Bytes of linear memory a group of cages may hold together; optionally inside a
    wider budget (a tree inside its runtime), charged to both."""

    def __init__(self, limit: int, parent: MemoryBudget | None = None) -> None:
        if limit <= 0:
            raise ValueError("a memory limit must be positive")
        self.limit = limit
        self.parent = parent
        self.used = 0
        self._lock = threading.Lock()
        self._held: dict[object, list[int]] = {}    # key -> [holders, bytes]; see hold
        self._held_lock = threading.Lock()

    def charge(self, n: int) -> None:
        """Take `n` bytes, or raise ENOMEM leaving every budget as it was."""
        with self._lock:
            if self.used + n > self.limit:
                raise OSError(errno.ENOMEM, "Cannot allocate memory")
            self.used += n
        if self.parent is not None:
            try:
                self.parent.charge(n)
            except OSError:
                self.release(n, parents=False)
                raise

    def release(self, n: int, *, parents: bool = True) -> None:
        with self._lock:
            self.used -= n
        if parents and self.parent is not None:
            self.parent.release(n)

    def hold(self, key: object, size: int) -> None:
        """Charge `size` bytes for `key` once, however many of this budget's cages hold
        it (a program's machine code: the host's memory while any of them runs it);
        ENOMEM leaves it unheld."""
        with self._held_lock:
            entry = self._held.get(key)
            if entry is None:
                self.charge(size)
                self._held[key] = [1, size]
            else:
                entry[0] += 1

    def unhold(self, key: object) -> None:
        with self._held_lock:
            entry = self._held[key]
            entry[0] -= 1
            if entry[0] == 0:
                del self._held[key]
                self.release(entry[1])

    def holds(self, key: object) -> bool:
        return key in self._held

    def available(self) -> int:
        """Bytes that could still be charged now, here and in every budget above."""
        free = self.limit - self.used
        return free if self.parent is None else min(free, self.parent.available())

    def ceiling(self) -> int:
        """The most any one cage under this budget could ever hold."""
        return self.limit if self.parent is None else min(self.limit, self.parent.ceiling())


class MemoryCharge:
    """One cage's linear memory as charged to its budget: kept in step with the memory's
    size, given back when the cage ends or execs."""

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget
        self.bytes = 0
        self.on_change: Callable[[int], None] = lambda size: None   # told every new charge
        # the cage's calls and the ticker (memory a program grew unseen) both charge
        self.lock = threading.RLock()

    def set(self, size: int) -> None:
        """Charge the difference to `size` bytes (ENOMEM if a budget is exceeded)."""
        if size == self.bytes:      # as charged, and told (a fork sets several so)
            return
        with self.lock:
            if size > self.bytes:
                self.budget.charge(size - self.bytes)
            elif size < self.bytes:
                self.budget.release(self.bytes - size)
            self.bytes = size
            self.on_change(size)

    def clear(self) -> None:
        self.set(0)


def parse_size(text: str) -> int:
    """'512M', '2G', '65536', '64k' -> bytes (ValueError on anything else)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = 1
    if t and t[-1] in "KMGT":
        scale = 1024 ** ("KMGT".index(t[-1]) + 1)
        t = t[:-1]
    if not t.isdigit() or int(t) * scale <= 0:
        raise ValueError(f"bad size {text!r}: expected a positive number of bytes, "
                         "optionally with K, M or G")
    return int(t) * scale
