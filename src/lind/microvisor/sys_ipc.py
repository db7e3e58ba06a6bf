"""System V IPC: shared memory segments, semaphore sets and message queues.

Each tree's `Network` carries one IPC namespace (`Namespace`): keys and ids are shared
by the cages of the trees given that network, and by nothing else -- not the host's
objects, not another tree's (two `lind.run` calls are two tenants), as the containers
of a Kubernetes pod share their network and their IPC namespace and nothing else does.
Objects live as long as the network (a tree's own: until its cages are gone). Ids are
built as Linux builds them (sequence * 32768 + index); permissions are Linux's
`ipcperms` against the cage's virtual uid and gids, with euid 0 holding the capabilities
a Linux root would (CAP_IPC_OWNER, CAP_SYS_ADMIN, CAP_SYS_RESOURCE), as root does in a
user namespace that owns its IPC namespace.

A segment is a `SharedPages` memfd, the pages MAP_SHARED memory is made of: shmat maps
them through the cage's address space like a shared mmap, so fork inherits attaches,
munmap/exec/exit detach, and shm_nattch is the pages' mapping count (less the segment's
own). Wasm has no read-only pages, so SHM_RDONLY cannot stop the cage's own stores: it
is granted only to a cage that may also write the segment (EACCES otherwise), so a
read-only attach never lets a cage change what it could not change anyway.

Blocked semop, msgsnd and msgrcv wait on the namespace's one condition, which every
change notifies; a caught signal ends the wait with EINTR (never restarted, as on
Linux), a kill ends it, IPC_RMID wakes it with EIDRM. SEM_UNDO adjustments belong to
the cage (fork does not inherit them, exec keeps them) and are applied when it ends.

Guest structures are musl's 32-bit kernel layouts (`*_ds` with split 64-bit times,
`long` mtype of 4 bytes); every pointer is read once, bounds-checked (EFAULT).
"""

from __future__ import annotations

import errno
import struct
import threading
import time
import weakref
from collections import deque

from lind.microvisor import limits
from lind.microvisor.abi import TIMESPEC_SIZE, s32, u32, unpack_timespec
from lind.microvisor.shared_pages import SharedPages
from lind.microvisor.sys_memory import (
    MAP_FIXED,
    MAP_SHARED,
    PAGE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    check_shareable,
)

IPC_CREAT, IPC_EXCL, IPC_NOWAIT = 0o1000, 0o2000, 0o4000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3
IPC_64 = 0x100                      # accepted, not needed (x86_64: one layout, below)
SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY = 11, 12, 13, 14, 15
SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC = 0o10000, 0o20000, 0o40000, 0o100000
SHM_DEST, SHM_LOCKED = 0o1000, 0o2000
SHMLBA = PAGE
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17
SEM_STAT, SEM_INFO, SEM_STAT_ANY = 18, 19, 20
SEM_UNDO = 0x1000
MSG_STAT, MSG_INFO, MSG_STAT_ANY = 11, 12, 13
MSG_NOERROR, MSG_EXCEPT, MSG_COPY = 0o10000, 0o20000, 0o40000

_SEQ_MULTIPLIER = 32768             # Linux's IPCMNI: id = seq * 32768 + index
_SEQ_MAX = 0x7FFFFFFF // _SEQ_MULTIPLIER
_U64 = (1 << 64) - 1
_READ, _WRITE = 0o444, 0o222

_PERM = struct.Struct("<iIIIIIiII")          # struct ipc64_perm, 36 bytes
_SHMID = struct.Struct("<36sI6IiiIII")       # shmid64_ds, 84 bytes
_SEMID = struct.Struct("<36s4IIII")          # semid64_ds, 64 bytes
_MSQID = struct.Struct("<36s6IIIIiiII")      # msqid64_ds, 88 bytes
_SHMINFO = struct.Struct("<9I")
_SHM_INFO = struct.Struct("<iIIIII")
_SEMINFO = struct.Struct("<10i")
_MSGINFO = struct.Struct("<7iH2x")
_SEMBUF = struct.Struct("<Hhh")
_MTYPE = struct.Struct("<i")                 # the guest's `long mtype`
# What a queued message costs the host beyond its text (a tuple, a bytes object, a
# deque slot), charged with the text to the runtime's memory: 256 queues full of empty
# messages would otherwise hold ~400 MiB of Python objects.
_MESSAGE_COST = 128


def _error(code: int) -> OSError:
    return OSError(code, errno.errorcode.get(code, "IPC error"))


def _s64(v: int) -> int:
    v &= _U64
    return v - (1 << 64) if v >> 63 else v


def _times(seconds: float) -> tuple[int, int]:
    """A time as the (low, high) 32-bit halves the 32-bit layouts carry."""
    t = int(seconds)
    return t & 0xFFFFFFFF, (t >> 32) & 0xFFFFFFFF


def _is_root(cage) -> bool:
    return cage.ids[1] == 0


class _Object:
    """What every IPC object has: struct ipc_perm, its id, its change time."""

    def __init__(self, cage, key: int, flags: int) -> None:
        _, euid, _, egid = cage.ids
        self.key = key
        self.uid = self.cuid = euid
        self.gid = self.cgid = egid
        self.mode = flags & 0o777
        self.ctime = time.time()
        self.index = self.seq = self.id = 0
        self.removed = False

    def perm(self, extra_mode: int = 0) -> bytes:
        return _PERM.pack(self.key, self.uid, self.gid, self.cuid, self.cgid,
                          self.mode | extra_mode, self.seq & 0xFFFF, 0, 0)

    def permits(self, cage, flags: int) -> bool:
        """Linux's ipcperms: any of the rwx bits asked for in `flags`, for the cage."""
        _, euid, _, egid = cage.ids
        requested = (flags >> 6 | flags >> 3 | flags) & 0o7
        granted = self.mode
        if euid in (self.uid, self.cuid):
            granted >>= 6
        elif self.gid in (egid, *cage.groups) or self.cgid in (egid, *cage.groups):
            granted >>= 3
        return not requested & ~granted & 0o7 or _is_root(cage)

    def check(self, cage, flags: int) -> None:
        if not self.permits(cage, flags):
            raise _error(errno.EACCES)

    def check_owner(self, cage) -> None:
        """IPC_SET and IPC_RMID: the owner, the creator or root (EPERM)."""
        euid = cage.ids[1]
        if euid not in (self.uid, self.cuid) and not _is_root(cage):
            raise _error(errno.EPERM)

    def set_perm(self, cage, raw: bytes) -> None:
        """IPC_SET's common part: owner, group and permission bits from a struct ipc_perm."""
        self.check_owner(cage)
        _, uid, gid, _, _, mode, *_ = _PERM.unpack_from(raw)
        if uid == 0xFFFFFFFF or gid == 0xFFFFFFFF:
            raise _error(errno.EINVAL)
        self.uid, self.gid = uid, gid
        self.mode = (self.mode & ~0o777) | (mode & 0o777)
        self.ctime = time.time()


class _Ids:
    """One kind of object in a namespace: by index, by key, at most `most` of them."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.objects: dict[int, _Object] = {}
        self.keys: dict[int, _Object] = {}
        self._seq = 0

    def add(self, obj: _Object) -> int:
        if len(self.objects) >= self.most:
            raise _error(errno.ENOSPC)
        index = next(i for i in range(self.most) if i not in self.objects)
        obj.index, obj.seq = index, self._seq
        obj.id = self._seq * _SEQ_MULTIPLIER + index
        self._seq = 0 if self._seq >= _SEQ_MAX else self._seq + 1
        self.objects[index] = obj
        if obj.key:
            self.keys[obj.key] = obj
        return obj.id

    def get(self, ident: int) -> _Object:
        obj = self.objects.get(ident % _SEQ_MULTIPLIER) if ident >= 0 else None
        if obj is None or obj.id != ident:
            raise _error(errno.EINVAL)
        return obj

    def at_index(self, index: int) -> _Object:
        """*_STAT and *_STAT_ANY name an object by its index."""
        obj = self.objects.get(index)
        if obj is None:
            raise _error(errno.EINVAL)
        return obj

    def forget_key(self, obj: _Object) -> None:
        if self.keys.get(obj.key) is obj:
            del self.keys[obj.key]
        obj.key = 0

    def remove(self, obj: _Object) -> None:
        self.forget_key(obj)
        if self.objects.get(obj.index) is obj:
            del self.objects[obj.index]
        obj.removed = True

    def max_index(self) -> int:
        """What IPC_INFO answers: the highest index in use (0 if none)."""
        return max(self.objects, default=0)

    def lookup(self, cage, key: int, flags: int, create, fits) -> int:
        """shmget/semget/msgget: an existing object's id, or a new one's (Linux's ipcget)."""
        if key:
            obj = self.keys.get(key)
            if obj is not None:
                if flags & IPC_CREAT and flags & IPC_EXCL:
                    raise _error(errno.EEXIST)
                fits(obj)
                obj.check(cage, flags)
                return obj.id
            if not flags & IPC_CREAT:
                raise _error(errno.ENOENT)
        if len(self.objects) >= self.most:
            raise _error(errno.ENOSPC)
        return self.add(create())


class _SegmentPages(SharedPages):
    """A segment's memfd: counts its attaches, and tells the namespace of each detach
    (a segment marked for removal goes with its last one)."""

    def __init__(self, size: int, namespace: Namespace, segment: _Segment) -> None:
        super().__init__(size)
        self.namespace = namespace
        self.segment = segment

    def cover(self, offset: int, length: int, budget: limits.MemoryBudget | None) -> None:
        """mremap growing an attach past the segment: ENOMEM (Linux maps pages there that
        fault). Growing the memfd would keep memory alive that no budget was charged."""
        if offset + length > self.size:
            raise _error(errno.ENOMEM)

    def release(self) -> None:
        super().release()
        self.namespace.detached(self.segment)


class _Segment(_Object):
    def __init__(self, cage, key: int, flags: int, size: int, namespace: Namespace) -> None:
        super().__init__(cage, key, flags)
        self.size = size
        self.atime = self.dtime = 0.0
        self.cpid, self.lpid = cage.id, 0
        self.dest = self.locked = self.destroyed = False
        self.charged = -(-size // PAGE) * PAGE
        self.budget = cage.memory_budget     # the creating tree's, until it is destroyed
        self.budget.charge(self.charged)
        try:
            self.pages = _SegmentPages(self.charged, namespace, self)   # the segment's own hold
        except OSError:
            self.budget.release(self.charged)
            raise

    def nattch(self) -> int:
        return self.pages.mappings - 1

    def stat(self) -> bytes:
        mode = (SHM_DEST if self.dest else 0) | (SHM_LOCKED if self.locked else 0)
        return _SHMID.pack(self.perm(mode), self.size & 0xFFFFFFFF, *_times(self.atime),
                           *_times(self.dtime), *_times(self.ctime), self.cpid, self.lpid,
                           self.nattch(), 0, 0)


class _SemSet(_Object):
    def __init__(self, cage, key: int, flags: int, nsems: int) -> None:
        super().__init__(cage, key, flags)
        self.values = [0] * nsems
        self.pids = [0] * nsems
        self.otime = 0.0
        self.blocked: dict[object, tuple[int, int]] = {}   # waiting call -> (sem_num, sem_op)

    def waiting(self, num: int, for_zero: bool) -> int:
        """GETZCNT/GETNCNT: calls blocked by an operation on `num` waiting for zero / more."""
        return sum(1 for n, op in self.blocked.values()
                   if n == num and (op == 0 if for_zero else op < 0))

    def stat(self) -> bytes:
        return _SEMID.pack(self.perm(), *_times(self.otime), *_times(self.ctime),
                           len(self.values), 0, 0)


class _Queue(_Object):
    def __init__(self, cage, key: int, flags: int) -> None:
        super().__init__(cage, key, flags)
        # (mtype, text, the sending tree's budget it is charged to until received)
        self.messages: deque[tuple[int, bytes, limits.MemoryBudget]] = deque()
        self.cbytes = 0
        self.qbytes = limits.MSGMNB
        self.lspid = self.lrpid = 0
        self.stime = self.rtime = 0.0

    def drop_all(self) -> None:
        """The queue is removed: its messages' charges go back."""
        for _, text, budget in self.messages:
            budget.release(len(text) + _MESSAGE_COST)
        self.messages.clear()
        self.cbytes = 0

    def stat(self) -> bytes:
        return _MSQID.pack(self.perm(), *_times(self.stime), *_times(self.rtime),
                           *_times(self.ctime), self.cbytes, len(self.messages), self.qbytes,
                           self.lspid, self.lrpid, 0, 0)


class Namespace:
    """The IPC objects of one network, and the condition blocked calls wait on. A
    segment and a queued message are charged to the memory of the tree that made or
    sent it (a network may serve several trees)."""

    def __init__(self) -> None:
        self.changed = threading.Condition(threading.RLock())
        self.shm = _Ids(limits.SHMMNI)
        self.sem = _Ids(limits.SEMMNI)
        self.msg = _Ids(limits.MSGMNI)
        self.sems_used = 0
        # cage -> {set: semadj per semaphore}; weak, so a cage that never ran leaves none
        self.undo: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def detached(self, segment: _Segment) -> None:
        with self.changed:
            segment.dtime = time.time()
            if segment.dest and segment.nattch() == 0:
                self._destroy(segment)

    def _destroy(self, segment: _Segment) -> None:
        if segment.destroyed:
            return
        segment.destroyed = True
        self.shm.remove(segment)
        SharedPages.release(segment.pages)     # the segment's own hold: closes the memfd
        segment.budget.release(segment.charged)

    def close(self) -> None:
        """The network is gone (no cage is left to attach anything): free every segment."""
        with self.changed:
            for segment in list(self.shm.objects.values()):
                self._destroy(segment)
            for queue in self.msg.objects.values():
                queue.drop_all()

    def cage_ended(self, cage) -> None:
        """Apply the cage's SEM_UNDO adjustments (clamped to 0..SEMVMX, as Linux does)."""
        with self.changed:
            for sems, adjust in self.undo.pop(cage, {}).items():
                if sems.removed:
                    continue
                for num, adj in enumerate(adjust):
                    if adj:
                        sems.values[num] = min(max(sems.values[num] + adj, 0), limits.SEMVMX)
                        sems.pids[num] = cage.id
            self.changed.notify_all()

    def clear_undo(self, sems: _SemSet, num: int | None) -> None:
        """SETVAL (one semaphore) and SETALL (num None) reset every cage's adjustments."""
        for per_cage in self.undo.values():
            adjust = per_cage.get(sems)
            if adjust is not None:
                for i in range(len(adjust)) if num is None else (num,):
                    adjust[i] = 0


_namespaces: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # Network -> Namespace
_namespaces_lock = threading.Lock()


def namespace(cage) -> Namespace:
    """The IPC namespace of the cage's network, made on first use and freed with the
    network."""
    with _namespaces_lock:
        found = _namespaces.get(cage.network)
        if found is None:
            found = _namespaces[cage.network] = Namespace()
            weakref.finalize(cage.network, found.close)
        return found


def cage_ended(cage) -> None:
    """From a cage's end: SEM_UNDO (its shm attaches go with its address space)."""
    with _namespaces_lock:
        found = _namespaces.get(cage.network)
    if found is not None:
        found.cage_ended(cage)


def _deadline(cage, addr: int) -> float | None:
    """A relative timespec at `addr` as a monotonic deadline (None: no timeout)."""
    if not addr:
        return None
    sec, nsec = unpack_timespec(cage.mem.read(addr, TIMESPEC_SIZE))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise _error(errno.EINVAL)
    return time.monotonic() + sec + nsec / 1e9


def _wait(cage, ns: Namespace, deadline: float | None) -> None:
    """Block until the namespace changes: EAGAIN at the deadline, EINTR on a signal."""
    if deadline is None:
        cage.block_on(ns.changed, restartable=False)
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise _error(errno.EAGAIN)
    cage.block_on(ns.changed, left, restartable=False)


# ----------------------------------------------------------------- shared memory

def sys_shmget(cage, key, size, flags, *_):
    ns, key, size, flags = namespace(cage), s32(key), size & _U64, s32(flags)

    def create() -> _Segment:
        if not limits.SHMMIN <= size <= limits.SHMMAX:
            raise _error(errno.EINVAL)
        return _Segment(cage, key, flags, size, ns)

    def fits(segment: _Segment) -> None:
        if segment.size < size:
            raise _error(errno.EINVAL)

    with ns.changed:
        return ns.shm.lookup(cage, key, flags, create, fits)


def sys_shmat(cage, shmid, addr, flags, *_):
    ns, shmid, addr, flags = namespace(cage), s32(shmid), u32(addr), s32(flags)
    if shmid < 0:
        raise _error(errno.EINVAL)
    if addr:
        if addr % SHMLBA:
            if not flags & SHM_RND:
                raise _error(errno.EINVAL)
            addr -= addr % SHMLBA
            if not addr and flags & SHM_REMAP:
                raise _error(errno.EINVAL)
        fixed = True
    elif flags & SHM_REMAP:
        raise _error(errno.EINVAL)
    else:
        fixed = False
    want = _READ if flags & SHM_RDONLY else _READ | _WRITE
    prot = PROT_READ if flags & SHM_RDONLY else PROT_READ | PROT_WRITE
    if flags & SHM_EXEC:
        want |= 0o111
        prot |= PROT_EXEC
    check_shareable()
    with ns.changed:
        segment = ns.shm.get(shmid)
        segment.check(cage, want)
        if flags & SHM_RDONLY:       # see the module's docstring
            segment.check(cage, _WRITE)
        length = -(-segment.size // PAGE) * PAGE
    aspace = cage.aspace
    if fixed and (addr + length > 1 << 32 or not flags & SHM_REMAP and (
            addr < -(-aspace.brk // PAGE) * PAGE or aspace._overlaps(addr, addr + length))):
        raise _error(errno.EINVAL)

    def attach(_length: int) -> tuple[SharedPages, int]:
        with ns.changed:
            if segment.destroyed:
                raise _error(errno.EIDRM)
            segment.pages.hold()
            segment.atime, segment.lpid = time.time(), cage.id
        return segment.pages, 0

    return aspace.mmap(addr, length, prot, MAP_SHARED | (MAP_FIXED if fixed else 0),
                       pages_for=attach)


def sys_shmdt(cage, addr, *_):
    """Detach the segment attached at `addr`: every piece of it still mapped there."""
    addr = u32(addr)
    aspace = cage.aspace
    share = aspace.shared.get(addr) if addr % PAGE == 0 else None
    if share is None or not isinstance(share[0], _SegmentPages) or share[1] != 0:
        raise _error(errno.EINVAL)
    pages = share[0]
    with namespace(cage).changed:
        pages.segment.lpid = cage.id
    end = addr + pages.size
    for start, stop in aspace.shared_ranges():
        if addr <= start < end and aspace.shared.get(start) == (pages, start - addr):
            aspace.munmap(start, min(stop, end) - start)
    return 0


def _stat_by_index(cage, table, index: int, checked: bool, buf: int) -> int:
    """*_STAT and *_STAT_ANY: the object at an index (only *_STAT needs read permission)
    described into `buf`; its id is the answer."""
    found = table.at_index(index)
    if checked:
        found.check(cage, _READ)
    cage.mem.write(buf, found.stat())
    return found.id


def sys_shmctl(cage, shmid, cmd, buf, *_):
    ns, shmid, cmd, buf = namespace(cage), s32(shmid), s32(cmd) & ~IPC_64, u32(buf)
    if cmd == IPC_SET:
        raw = cage.mem.read(buf, _PERM.size)
    with ns.changed:
        if cmd == IPC_INFO:
            shmall = min(cage.memory_budget.limit // PAGE, 0xFFFFFFFF)   # pages, 32-bit long
            cage.mem.write(buf, _SHMINFO.pack(limits.SHMMAX, limits.SHMMIN, limits.SHMMNI,
                                            limits.SHMMNI, shmall, 0, 0, 0, 0))
            return ns.shm.max_index()
        if cmd == SHM_INFO:
            segments = list(ns.shm.objects.values())
            pages = sum(s.charged for s in segments) // PAGE
            cage.mem.write(buf, _SHM_INFO.pack(len(segments), pages, pages, 0, 0, 0))
            return ns.shm.max_index()
        if cmd in (SHM_STAT, SHM_STAT_ANY):
            return _stat_by_index(cage, ns.shm, shmid, cmd == SHM_STAT, buf)
        segment = ns.shm.get(shmid)
        if cmd == IPC_STAT:
            segment.check(cage, _READ)
            cage.mem.write(buf, segment.stat())
        elif cmd == IPC_SET:
            segment.set_perm(cage, raw)
        elif cmd == IPC_RMID:
            segment.check_owner(cage)
            segment.dest = True
            ns.shm.forget_key(segment)
            if segment.nattch() == 0:
                ns._destroy(segment)
        elif cmd in (SHM_LOCK, SHM_UNLOCK):
            segment.check_owner(cage)
            segment.locked = cmd == SHM_LOCK
        else:
            raise _error(errno.EINVAL)
        return 0


# ----------------------------------------------------------------- semaphores

def sys_semget(cage, key, nsems, flags, *_):
    ns, key, nsems, flags = namespace(cage), s32(key), s32(nsems), s32(flags)
    if not 0 <= nsems <= limits.SEMMSL:
        raise _error(errno.EINVAL)

    def create() -> _SemSet:
        if nsems == 0:
            raise _error(errno.EINVAL)
        if ns.sems_used + nsems > limits.SEMMNS:
            raise _error(errno.ENOSPC)
        ns.sems_used += nsems
        return _SemSet(cage, key, flags, nsems)

    def fits(sems: _SemSet) -> None:
        if nsems > len(sems.values):
            raise _error(errno.EINVAL)

    with ns.changed:
        return ns.sem.lookup(cage, key, flags, create, fits)


def _try_semop(cage, ns: Namespace, sems: _SemSet, sops: list[tuple[int, int, int]]
               ) -> tuple[int, int] | None:
    """All of `sops` at once, or none: None when done, else the (sem_num, sem_op) that
    must wait (EAGAIN instead under IPC_NOWAIT; ERANGE past SEMVMX or the undo range)."""
    values = list(sems.values)
    undo = ns.undo.get(cage, {}).get(sems)
    adjust = list(undo) if undo is not None else [0] * len(values)
    for num, op, flg in sops:
        result = values[num] + op
        if (op == 0 and values[num]) or result < 0:
            if flg & IPC_NOWAIT:
                raise _error(errno.EAGAIN)
            return num, op
        if result > limits.SEMVMX:
            raise _error(errno.ERANGE)
        if flg & SEM_UNDO:
            adjust[num] -= op
            if not -limits.SEMVMX - 1 <= adjust[num] <= limits.SEMVMX:
                raise _error(errno.ERANGE)
        values[num] = result
    sems.values = values
    for num, _, _ in sops:
        sems.pids[num] = cage.id
    if any(flg & SEM_UNDO for _, _, flg in sops):
        ns.undo.setdefault(cage, {})[sems] = adjust
    sems.otime = time.time()
    ns.changed.notify_all()
    return None


def _semtimedop(cage, semid: int, sops_addr: int, nsops: int, timeout_addr: int) -> int:
    ns = namespace(cage)
    if nsops < 1 or semid < 0:
        raise _error(errno.EINVAL)
    if nsops > limits.SEMOPM:
        raise _error(errno.E2BIG)
    sops = list(_SEMBUF.iter_unpack(cage.mem.read(sops_addr, _SEMBUF.size * nsops)))
    deadline = _deadline(cage, timeout_addr)
    alter = any(op for _, op, _ in sops)
    highest = max(num for num, _, _ in sops)
    with ns.changed:
        sems = ns.sem.get(semid)
        if highest >= len(sems.values):
            raise _error(errno.EFBIG)
        sems.check(cage, _WRITE if alter else _READ)
        me = object()
        try:
            while True:
                if sems.removed:
                    raise _error(errno.EIDRM)
                blocking = _try_semop(cage, ns, sems, sops)
                if blocking is None:
                    return 0
                sems.blocked[me] = blocking
                _wait(cage, ns, deadline)
        finally:
            sems.blocked.pop(me, None)


def sys_semop(cage, semid, sops, nsops, *_):
    return _semtimedop(cage, s32(semid), u32(sops), nsops & _U64, 0)


def sys_semtimedop(cage, semid, sops, nsops, timeout, *_):
    return _semtimedop(cage, s32(semid), u32(sops), nsops & _U64, u32(timeout))


def sys_semctl(cage, semid, semnum, cmd, arg, *_):
    ns, semid, semnum, cmd = namespace(cage), s32(semid), s32(semnum), s32(cmd) & ~IPC_64
    buf = u32(arg)
    if cmd == IPC_SET:
        raw = cage.mem.read(buf, _PERM.size)
    with ns.changed:
        if cmd in (IPC_INFO, SEM_INFO):
            info = [limits.SEMMNS, limits.SEMMNI, limits.SEMMNS, limits.SEMMNS, limits.SEMMSL,
                    limits.SEMOPM, limits.SEMOPM, 20, limits.SEMVMX, limits.SEMVMX]
            if cmd == SEM_INFO:
                info[7], info[9] = len(ns.sem.objects), ns.sems_used
            cage.mem.write(buf, _SEMINFO.pack(*info))
            return ns.sem.max_index()
        if cmd in (SEM_STAT, SEM_STAT_ANY):
            return _stat_by_index(cage, ns.sem, semid, cmd == SEM_STAT, buf)
        if cmd == SETVAL and not 0 <= s32(arg) <= limits.SEMVMX:
            raise _error(errno.ERANGE)
        sems = ns.sem.get(semid)
        nsems = len(sems.values)
        if cmd == IPC_SET:
            sems.set_perm(cage, raw)
            return 0
        if cmd == IPC_RMID:
            sems.check_owner(cage)
            ns.sem.remove(sems)
            ns.sems_used -= nsems
            ns.changed.notify_all()
            return 0
        if cmd not in (IPC_STAT, GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL):
            raise _error(errno.EINVAL)
        sems.check(cage, _WRITE if cmd in (SETVAL, SETALL) else _READ)
        if cmd == IPC_STAT:
            cage.mem.write(buf, sems.stat())
            return 0
        if cmd == GETALL:
            cage.mem.write(buf, struct.pack(f"<{nsems}H", *sems.values))
            return 0
        if cmd == SETALL:
            values = struct.unpack(f"<{nsems}H", cage.mem.read(buf, 2 * nsems))
            if max(values) > limits.SEMVMX:
                raise _error(errno.ERANGE)
            sems.values = list(values)
            sems.pids = [cage.id] * nsems
            ns.clear_undo(sems, None)
        else:
            if not 0 <= semnum < nsems:
                raise _error(errno.EINVAL)
            if cmd == GETVAL:
                return sems.values[semnum]
            if cmd == GETPID:
                return sems.pids[semnum]
            if cmd in (GETNCNT, GETZCNT):
                return sems.waiting(semnum, for_zero=cmd == GETZCNT)
            sems.values[semnum] = s32(arg)    # SETVAL
            sems.pids[semnum] = cage.id
            ns.clear_undo(sems, semnum)
        sems.ctime = time.time()
        ns.changed.notify_all()
        return 0


# ----------------------------------------------------------------- message queues

def sys_msgget(cage, key, flags, *_):
    ns, key, flags = namespace(cage), s32(key), s32(flags)
    with ns.changed:
        return ns.msg.lookup(cage, key, flags, lambda: _Queue(cage, key, flags),
                             lambda queue: None)


def sys_msgsnd(cage, msqid, msgp, msgsz, flags, *_):
    ns, msqid, msgp, msgsz, flags = namespace(cage), s32(msqid), u32(msgp), msgsz & _U64, s32(flags)
    (mtype,) = _MTYPE.unpack(cage.mem.read(msgp, _MTYPE.size))
    if msgsz > limits.MSGMAX or msqid < 0 or mtype < 1:
        raise _error(errno.EINVAL)
    text = cage.mem.read(msgp + _MTYPE.size, msgsz)
    with ns.changed:
        queue = ns.msg.get(msqid)
        queue.check(cage, _WRITE)
        while True:
            if queue.removed:
                raise _error(errno.EIDRM)
            if (msgsz + queue.cbytes <= queue.qbytes
                    and len(queue.messages) + 1 <= queue.qbytes):
                break
            if flags & IPC_NOWAIT:
                raise _error(errno.EAGAIN)
            _wait(cage, ns, None)
        cage.memory_budget.charge(msgsz + _MESSAGE_COST)   # ENOMEM, as when Linux cannot copy it
        queue.messages.append((mtype, text, cage.memory_budget))
        queue.cbytes += msgsz
        queue.lspid, queue.stime = cage.id, time.time()
        ns.changed.notify_all()
    return 0


def _find(queue: _Queue, msgtyp: int, flags: int) -> int | None:
    """The index of the message msgrcv takes: the first (0), the first of that type (or,
    MSG_EXCEPT, of another), or the first of the lowest type up to -msgtyp (< 0)."""
    best = None
    for i, (mtype, _, _) in enumerate(queue.messages):
        if msgtyp == 0:
            return i
        if msgtyp > 0:
            if (mtype != msgtyp) if flags & MSG_EXCEPT else (mtype == msgtyp):
                return i
        elif mtype <= -msgtyp and (best is None or mtype < queue.messages[best][0]):
            best = i
    return best


def sys_msgrcv(cage, msqid, msgp, msgsz, msgtyp, flags, *_):
    ns, msqid, msgp, flags = namespace(cage), s32(msqid), u32(msgp), s32(flags)
    bufsz, msgtyp = msgsz & _U64, _s64(msgtyp)
    if msqid < 0 or bufsz >> 63:
        raise _error(errno.EINVAL)
    copy = bool(flags & MSG_COPY)
    if copy and (flags & MSG_EXCEPT or not flags & IPC_NOWAIT):
        raise _error(errno.EINVAL)
    with ns.changed:
        queue = ns.msg.get(msqid)
        queue.check(cage, _READ)
        while True:
            if queue.removed:
                raise _error(errno.EIDRM)
            if copy:
                pick = msgtyp if 0 <= msgtyp < len(queue.messages) else None
            else:
                pick = _find(queue, msgtyp, flags)
            if pick is not None:
                break
            if flags & IPC_NOWAIT:
                raise _error(errno.ENOMSG)
            _wait(cage, ns, None)
        mtype, text, budget = queue.messages[pick]
        if len(text) > bufsz and not flags & MSG_NOERROR:
            raise _error(errno.E2BIG)
        n = min(len(text), bufsz)
        cage.mem.write(msgp, _MTYPE.pack(mtype) + text[:n])   # EFAULT keeps the message
        if not copy:
            del queue.messages[pick]
            queue.cbytes -= len(text)
            budget.release(len(text) + _MESSAGE_COST)
            queue.lrpid, queue.rtime = cage.id, time.time()
            ns.changed.notify_all()
    return n


def sys_msgctl(cage, msqid, cmd, buf, *_):
    ns, msqid, cmd, buf = namespace(cage), s32(msqid), s32(cmd) & ~IPC_64, u32(buf)
    if cmd == IPC_SET:
        raw = cage.mem.read(buf, _MSQID.size)
    with ns.changed:
        if cmd in (IPC_INFO, MSG_INFO):
            queues = list(ns.msg.objects.values())
            if cmd == MSG_INFO:
                pool, used, total = (len(queues), sum(len(q.messages) for q in queues),
                                     sum(q.cbytes for q in queues))
            else:
                pool, used, total = (limits.MSGMNI * limits.MSGMNB // 1024, limits.MSGMNB,
                                     limits.MSGMNB)
            cage.mem.write(buf, _MSGINFO.pack(pool, used, limits.MSGMAX, limits.MSGMNB,
                                                   limits.MSGMNI, 16, total, 0xFFFF))
            return ns.msg.max_index()
        if cmd in (MSG_STAT, MSG_STAT_ANY):
            return _stat_by_index(cage, ns.msg, msqid, cmd == MSG_STAT, buf)
        queue = ns.msg.get(msqid)
        if cmd == IPC_STAT:
            queue.check(cage, _READ)
            cage.mem.write(buf, queue.stat())
        elif cmd == IPC_SET:
            qbytes = _MSQID.unpack(raw)[9]
            queue.check_owner(cage)
            if qbytes > limits.MSGMNB and not _is_root(cage):
                raise _error(errno.EPERM)
            queue.set_perm(cage, raw)
            queue.qbytes = qbytes
            ns.changed.notify_all()
        elif cmd == IPC_RMID:
            queue.check_owner(cage)
            ns.msg.remove(queue)
            queue.drop_all()
            ns.changed.notify_all()
        else:
            raise _error(errno.EINVAL)
        return 0
