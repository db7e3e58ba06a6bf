"""brk, mmap and friends as bookkeeping inside the cage's 32-bit linear memory.

Layout: [stack | data | heap (brk, grows up) | mmap regions ...] with the linear memory
grown on demand (wasm memories never shrink). Regions are an ordered interval map;
freed ranges are reused first-fit and zeroed on reuse, as anonymous memory must be.

Private mappings are plain linear memory (a file's are a copy of it). MAP_SHARED ones
have host pages of their own mapped over their range (`shared_pages`): fork maps the
same pages into the child instead of copying them, so both keep seeing each other's
writes; munmap, exec and exit put private zero pages back in that cage only.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import fcntl
import os
import stat
import threading
import weakref
from collections.abc import Callable

from lind.microvisor import limits, shared_pages
from lind.microvisor.abi import (
    F_GET_SEALS,
    F_SEAL_FUTURE_WRITE,
    F_SEAL_WRITE,
    KNOWN_MAP_FLAGS,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_GROWSDOWN,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_SYNC,
    MAP_TYPE,
    O_APPEND,
    s32,
)
from lind.microvisor.locking import locked
from lind.microvisor.shared_pages import SharedPages

PAGE = 4096
WASM_PAGE = 65536
MAX_MEMORY = 1 << 32

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
_PROT_SEM = 0x8   # accepted by Linux on every architecture
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2
MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4

# What a region is beside its extent: the bits of `AddressSpace.traits`. A private
# mapping of a file keeps its bytes under MADV_DONTNEED; madvise's fork advice decides
# what a forked child gets of a region.
FILE_BACKED, WIPE_ON_FORK, DONT_FORK = 1, 2, 4

MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK = 4, 8, 9, 10, 11
MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_DONTNEED_LOCKED = 18, 19, 24
MADV_HWPOISON, MADV_SOFT_OFFLINE = 100, 101
# Advice that changes nothing a cage can see: its pages are always resident, never
# merged, dumped or huge (NORMAL, RANDOM, SEQUENTIAL, WILLNEED, MERGEABLE,
# UNMERGEABLE, HUGEPAGE, NOHUGEPAGE, DONTDUMP, DODUMP, COLD, PAGEOUT, POPULATE_READ,
# POPULATE_WRITE, COLLAPSE).
_MADV_HINTS = frozenset({0, 1, 2, 3, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 25})
_FORK_ADVICE = {MADV_WIPEONFORK: (WIPE_ON_FORK, True), MADV_KEEPONFORK: (WIPE_ON_FORK, False),
                MADV_DONTFORK: (DONT_FORK, True), MADV_DOFORK: (DONT_FORK, False)}
_MADV_ACTIONS = frozenset({MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTNEED_LOCKED,
                           MADV_HWPOISON, MADV_SOFT_OFFLINE, *_FORK_ADVICE})

# A shared region: the pages behind it and the offset in them of the region's start.
Share = tuple[SharedPages, int]


def _align(n: int, to: int = PAGE) -> int:
    return (n + to - 1) & ~(to - 1)


def _enomem() -> OSError:
    return OSError(errno.ENOMEM, "Cannot allocate memory")


def _cage_gone(pages: int) -> None:
    raise OSError(errno.ESRCH, "No such process")


# Every cage's address space, for the count of shared regions (limits.SHARED_REGIONS).
_spaces: weakref.WeakSet[AddressSpace] = weakref.WeakSet()


def _room_for_shared(space: AddressSpace, more: int) -> None:
    """ENOMEM unless `more` shared regions fit in `space`'s tree's share of them and in
    every cage's together: each is a host mapping of the Lind process (limits)."""
    total = tree = 0
    for other in list(_spaces):
        regions = len(other.shared)
        total += regions
        if other.budget is space.budget:
            tree += regions
    if total + more > limits.SHARED_REGIONS or tree + more > limits.SHARED_REGIONS_TREE:
        raise _enomem()


class AddressSpace:
    """Where the heap ends and which ranges are mapped, for one cage."""

    def __init__(self, heap_base: int, grow, memory, limit: int = MAX_MEMORY,
                 budget: limits.MemoryBudget | None = None) -> None:
        if not 0 <= heap_base <= limit:
            raise ValueError(f"heap base {heap_base:#x} outside the address space")
        self.heap_base = _align(heap_base, 16)
        self.brk = self.heap_base
        self.limit = limit
        self.budget = budget       # what shared pages grown here (mremap) are charged to
        self._grow = grow          # grow(pages) -> None; raises when the engine refuses
        self._memory = memory      # the cage's Memory
        self.starts: list[int] = []  # sorted starts of mapped regions
        self.ends: dict[int, int] = {}
        self.shared: dict[int, Share] = {}   # start -> pages, for MAP_SHARED regions
        self.traits: dict[int, int] = {}     # start -> FILE_BACKED | ..., where not 0
        # told the shared ranges after each change (the trampoline keys futexes by them)
        self._shared_watcher: Callable[[list[tuple[int, int]]], None] | None = None
        # The threads of a cage change its map at once: one at a time (re-entrant: mremap
        # maps; msync and munmap write back through the same calls).
        self.lock = threading.RLock()
        self.protecting = True     # mprotect is real (where the Memory can make it so)
        _spaces.add(self)

    @locked
    def copy(self, grow, memory) -> AddressSpace:
        """The address space of a forked child whose `memory` holds a copy of ours:
        shared regions get the same pages, not a copy (ENOMEM past limits.SHARED_REGIONS)."""
        if self.shared:
            _room_for_shared(self, len(self.shared))
        twin = AddressSpace(self.heap_base, grow, memory, self.limit, self.budget)
        gone = {start for start, _ in self._regions_with(DONT_FORK)}   # madvise(DONTFORK)
        twin.brk = self.brk
        twin.starts = [s for s in self.starts if s not in gone]
        twin.ends = {s: self.ends[s] for s in twin.starts}
        twin.traits = {s: t for s, t in self.traits.items() if s not in gone}
        try:
            for start, (pages, offset) in self.shared.items():
                if start not in twin.ends:
                    continue
                pages.map_at(memory, start, self.ends[start] - start, offset)
                pages.hold()
                twin.shared[start] = (pages, offset)
        except OSError:
            twin.release_shared()
            raise
        return twin

    def forget_hooks(self) -> None:
        """Its cage has ended: the memory it grew is gone (see FdTable.forget_hooks)."""
        self._grow = _cage_gone
        self._shared_watcher = None

    @locked
    def watch_shared(self, watcher: Callable[[list[tuple[int, int]]], None]) -> None:
        """Tell `watcher` the shared ranges now and after every change."""
        self._shared_watcher = watcher
        watcher(self._shared_ranges())

    def _shared_changed(self) -> None:
        if self._shared_watcher is not None:
            self._shared_watcher(self._shared_ranges())

    @locked
    def shared_ranges(self) -> list[tuple[int, int]]:
        """The MAP_SHARED regions, in address order (fork must not copy them)."""
        return self._shared_ranges()

    def _shared_ranges(self) -> list[tuple[int, int]]:
        return [(s, self.ends[s]) for s in sorted(self.shared)] if self.shared else []

    @locked
    def regions_with(self, traits: int) -> list[tuple[int, int]]:
        """The regions that have any of `traits`, in address order."""
        return self._regions_with(traits)

    def _regions_with(self, traits: int) -> list[tuple[int, int]]:
        return ([(s, self.ends[s]) for s in sorted(self.traits) if self.traits[s] & traits]
                if self.traits else [])

    @locked
    def shared_at(self, addr: int) -> Share | None:
        """The pages behind `addr` and its offset in them, if `addr` is in a shared region."""
        i = bisect.bisect_right(self.starts, addr)
        if i == 0:
            return None
        start = self.starts[i - 1]
        share = self.shared.get(start)
        if share is None or addr >= self.ends[start]:
            return None
        return share[0], share[1] + addr - start

    @locked
    def release_shared(self) -> None:
        """Let go of every shared region (exec, exit): written back, private zeros put back."""
        for start, end in self._shared_ranges():
            self._remove(start, end)

    # -- linear memory ----------------------------------------------------
    def _ensure(self, end: int) -> None:
        if end > self.limit:
            raise _enomem()
        size = self._memory.size()
        if end > size:
            try:
                self._grow((_align(end, WASM_PAGE) - size) // WASM_PAGE)
            except Exception:  # noqa: BLE001 - the engine's refusal is the cage's ENOMEM
                raise _enomem() from None

    def _zero(self, start: int, length: int) -> None:
        self._memory.zero(start, length)

    # -- regions ------------------------------------------------------------
    def _overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, end)
        return i > 0 and self.ends[self.starts[i - 1]] > start

    def _insert(self, start: int, end: int, share: Share | None = None, traits: int = 0) -> None:
        self._remove(start, end)
        bisect.insort(self.starts, start)
        self.ends[start] = end
        if traits:
            self.traits[start] = traits
        if share is not None:
            self.shared[start] = share
            self._shared_changed()

    def _remove(self, start: int, end: int) -> None:
        """Unmap [start, end), splitting regions that straddle its edges (a shared one
        split in two is one more host mapping: ENOMEM past limits.SHARED_REGIONS), and
        what mprotect did there with it (ENOMEM if that splits a range past the cap of
        ranges, as Linux's past its map count). ENOMEM changes nothing."""
        around = self._region_at(start)
        if (around is not None and around < start and self.ends[around] > end
                and around in self.shared):
            _room_for_shared(self, 1)
        self._memory.unprotect(start, end - start)   # ENOMEM (nothing changed): no room
        unshared = False
        i = bisect.bisect_left(self.starts, end)
        while i > 0:
            s = self.starts[i - 1]
            e = self.ends[s]
            if e <= start:
                break
            del self.starts[i - 1]
            del self.ends[s]
            share = self.shared.pop(s, None)
            traits = self.traits.pop(s, 0)
            if s < start:
                bisect.insort(self.starts, s)
                self.ends[s] = start
                if share is not None:
                    self.shared[s] = share
                if traits:
                    self.traits[s] = traits
            if e > end:
                bisect.insort(self.starts, end)
                self.ends[end] = e
                if share is not None:
                    self.shared[end] = (share[0], share[1] + end - s)
                if traits:
                    self.traits[end] = traits
            if share is not None:
                self._unshare(share[0], share[1] - s, max(s, start), min(e, end),
                              pieces_left=(s < start) + (e > end))
                unshared = True
            i -= 1
        if unshared:
            self._shared_changed()

    def _unmap(self, start: int, end: int) -> None:
        """Unmap [start, end): the pages of its private regions go back to the host (as
        on Linux: a big buffer freed stops costing RAM), shared ones as _remove says."""
        private = []
        for s in self.starts[max(bisect.bisect_right(self.starts, start) - 1, 0):]:
            if s >= end:
                break
            lo, hi = max(s, start), min(self.ends[s], end)
            if lo < hi and s not in self.shared:
                private.append((lo, hi))
        self._remove(start, end)
        for lo, hi in private:
            self._memory.discard(lo, hi - lo, True)

    def _unshare(self, pages: SharedPages, delta: int, start: int, end: int,
                 pieces_left: int) -> None:
        """Take [start, end) out of a shared region (page offset = address + delta). A
        write-back the host refuses (a full disk) is lost, as Linux's munmap reports
        none (msync would have); the region goes all the same."""
        with contextlib.suppress(OSError):
            pages.write_back(start + delta, end - start)
        shared_pages.map_private_zeros(self._memory, start, end - start)
        if pieces_left == 0:
            pages.release()
        elif pieces_left == 2:
            pages.hold()

    def _find_gap(self, length: int) -> int:
        floor = _align(self.brk)
        for s in self.starts:
            if s - floor >= length:
                return floor
            floor = max(floor, self.ends[s])
        return floor

    # -- the calls ----------------------------------------------------------
    @locked
    def set_brk(self, addr: int) -> int:
        if addr < self.heap_base:
            return self.brk
        try:
            if addr > self.brk:
                if self._overlaps(self.brk, addr):
                    return self.brk
                self._ensure(addr)
                self._zero(self.brk, addr - self.brk)
        except OSError:
            return self.brk
        self.brk = addr
        return addr

    @locked
    def mmap(self, addr: int, length: int, prot: int, flags: int,
             fill: Callable[[int, int], None] | None = None,
             pages_for: Callable[[int], Share] | None = None) -> int:
        """Map `length` bytes: private zeros, written over by `fill(start, length)` if
        given (a file's bytes), or shared, with the pages `pages_for(length)` gives
        (this mapping counted)."""
        if length <= 0 or addr % PAGE:
            raise OSError(errno.EINVAL, "Invalid argument")
        if length > self.limit:
            raise _enomem()
        if flags & MAP_TYPE not in (MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE):
            raise OSError(errno.EINVAL, "Invalid argument")
        length = _align(length)
        if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
            if addr < self.heap_base or addr + length > self.limit:
                raise _enomem()
            if flags & MAP_FIXED_NOREPLACE and self._overlaps(addr, addr + length):
                raise OSError(errno.EEXIST, "File exists")
            start = addr
        else:
            start = self._find_gap(length)
        self._ensure(start + length)
        if pages_for is not None:
            self._map_shared(start, length, pages_for(length))
            return start
        self._insert(start, start + length, traits=FILE_BACKED if fill is not None else 0)
        self._zero(start, length)
        if fill is not None:
            fill(start, length)
        return start

    def _map_shared(self, start: int, length: int, share: Share) -> None:
        """Put `share`'s pages (this mapping already counted) over [start, +length)."""
        pages, offset = share
        try:
            _room_for_shared(self, 1)
            self._remove(start, start + length)
            pages.map_at(self._memory, start, length, offset)
        except OSError:
            pages.release()
            raise _enomem() from None
        self._insert(start, start + length, share)

    @locked
    def munmap(self, addr: int, length: int) -> int:
        if addr % PAGE or length <= 0 or addr + length > self.limit:
            raise OSError(errno.EINVAL, "Invalid argument")
        self._unmap(addr, addr + _align(length))
        return 0

    @locked
    def mprotect(self, addr: int, length: int, prot: int) -> int:
        """The host's page protection on the cage's pages (Memory.protect: where the C
        trampoline runs, but for a grate); elsewhere accepted and recorded nowhere."""
        if addr % PAGE or prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | _PROT_SEM):
            raise OSError(errno.EINVAL, "Invalid argument")
        if addr + _align(length) > self._memory.size():
            raise _enomem()
        if self.protecting:
            self._memory.protect(addr, _align(length), prot & (PROT_READ | PROT_WRITE | PROT_EXEC))
        return 0

    @locked
    def stop_protecting(self) -> None:
        """mprotect from now on recorded nowhere, every page accessible again (a grate:
        its workers' instances map its memory through Memories of their own)."""
        self.protecting = False
        self._memory.clear_protections()

    @locked
    def mremap(self, old: int, old_len: int, new_len: int, flags: int, new_addr: int = 0) -> int:
        """Grow or shrink [old, old+old_len) in place, or move it (MREMAP_MAYMOVE), to
        `new_addr` with MREMAP_FIXED (what was there goes, as Linux's)."""
        if (old % PAGE or not 0 < old_len <= self.limit or not 0 < new_len <= self.limit
                or flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)
                or flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE):
            raise OSError(errno.EINVAL, "Invalid argument")
        old_len, new_len = _align(old_len), _align(new_len)
        if flags & MREMAP_FIXED and (new_addr % PAGE or (
                new_addr < old + old_len and old < new_addr + new_len)):
            raise OSError(errno.EINVAL, "Invalid argument")    # unaligned, or overlapping
        region = self._region_at(old)
        if region is None or self.ends[region] < old + old_len:
            raise OSError(errno.EFAULT, "Bad address")
        if flags & MREMAP_FIXED:
            if new_len < old_len:
                self._unmap(old + new_len, old + old_len)
                old_len = new_len
            return self._move_part(old, old_len, new_len, new_addr)
        if new_len <= old_len:
            self._unmap(old + new_len, old + old_len)
            return old
        end = old + old_len
        if (self.ends[region] == end and not self._overlaps(end, old + new_len)
                and old + new_len <= self.limit):
            try:
                self._ensure(old + new_len)
            except OSError:
                pass
            else:       # the whole region grows (old may lie inside it, as on Linux)
                share = self.shared.get(region)
                if share is None:
                    self._zero(end, new_len - old_len)
                    self._insert(region, old + new_len, traits=self.traits.get(region, 0))
                else:
                    pages, offset = share
                    pages.cover(offset, old + new_len - region, self.budget)
                    pages.map_at(self._memory, end, new_len - old_len, offset + end - region)
                    self.ends[region] = old + new_len
                return old
        if not flags & MREMAP_MAYMOVE:
            raise _enomem()
        return self._move_part(old, old_len, new_len)

    def _move_part(self, old: int, old_len: int, new_len: int, at: int | None = None) -> int:
        """mremap's move of [old, +old_len), which may be a part of its region (the rest
        stays where it is, as Linux splits the mapping)."""
        region = self._region_at(old)
        share = self.shared.get(region)
        if share is not None:
            share = (share[0], share[1] + old - region)
        return self._move(old, old_len, new_len, share, at, self.traits.get(region, 0))

    def _move(self, old: int, old_len: int, new_len: int, share: Share | None,
              at: int | None = None, traits: int = 0) -> int:
        """mremap's move: a new mapping (at `at`: MAP_FIXED) with the old one's bytes, or
        its shared pages, then the old one gone."""
        fixed = MAP_FIXED if at is not None else 0
        self._memory.unprotect(old, old_len, True)    # the old pages' protections can go
        if share is None:
            new = self.mmap(at or 0, new_len, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | fixed)
            self._memory.copy_from(self._memory, old, new, old_len)
        else:
            pages, offset = share

            def same_pages(length: int) -> Share:
                pages.cover(offset, length, self.budget)
                pages.hold()
                return share

            new = self.mmap(at or 0, new_len, PROT_READ | PROT_WRITE, MAP_SHARED | fixed,
                            pages_for=same_pages)
        if traits:
            self.traits[new] = traits
        self._unmap(old, old + old_len)
        return new

    @locked
    def madvise(self, addr: int, length: int, advice: int) -> int:
        """Linux's madvise over [addr, +length): applied to each part in turn (an error
        stops it there), then ENOMEM if part of the range is mapped by nothing."""
        if advice not in _MADV_HINTS and advice not in _MADV_ACTIONS or addr % PAGE:
            raise OSError(errno.EINVAL, "Invalid argument")
        end = addr + _align(length)
        if end > MAX_MEMORY:           # wraps around the 32-bit address space
            raise OSError(errno.EINVAL, "Invalid argument")
        if end == addr:
            return 0
        if advice in (MADV_HWPOISON, MADV_SOFT_OFFLINE):
            raise OSError(errno.EPERM, "Operation not permitted")   # CAP_SYS_ADMIN's
        if advice in _FORK_ADVICE:     # a region's traits: only the range gets them
            bit, on = _FORK_ADVICE[advice]
            for edge in (addr, end):     # (Linux splits a mapping only where flags change)
                inside = self._region_at(edge)
                if inside is not None and bool(self.traits.get(inside, 0) & bit) != on:
                    self._cut(edge)
        heap_end = min(_align(self.brk), self._memory.size())
        unmapped = False
        at = addr
        for start in self.starts[max(bisect.bisect_right(self.starts, addr) - 1, 0):]:
            if start >= end:
                break
            lo, hi = max(start, addr), min(self.ends[start], end)
            if lo >= hi:
                continue
            if at < lo:
                unmapped |= self._advise_heap(at, lo, heap_end, advice)
            self._advise_region(start, lo, hi, advice)
            at = hi
        if at < end:
            unmapped |= self._advise_heap(at, end, heap_end, advice)
        if advice in _FORK_ADVICE:     # pieces alike again are one mapping, as Linux's
            self._merge_alike(addr, end)
        if unmapped:
            raise _enomem()
        return 0

    def _merge_alike(self, lo: int, hi: int) -> None:
        """Join two regions that meet at a point of [lo, hi] where both have the same
        traits and are anonymous memory or the same pages at following offsets: what
        fork advice split and then undid is one region again, as Linux merges such
        mappings. A private file mapping is never joined (its neighbour may be another
        file's)."""
        i = max(bisect.bisect_left(self.starts, lo), 1)    # the first join point in it
        while i < len(self.starts) and self.starts[i] <= hi:
            start, after = self.starts[i - 1], self.starts[i]
            share, next_share = self.shared.get(start), self.shared.get(after)
            traits = self.traits.get(start, 0)
            same = (self.ends[start] == after and traits == self.traits.get(after, 0)
                    and not traits & FILE_BACKED
                    and (share is None and next_share is None or (
                        share is not None and next_share is not None
                        and share[0] is next_share[0]
                        and share[1] + after - start == next_share[1])))
            if not same:
                i += 1
                continue
            self.ends[start] = self.ends.pop(after)
            del self.starts[i]
            self.traits.pop(after, None)
            if next_share is not None:
                del self.shared[after]
                next_share[0].release()        # the two pieces held it twice
                self._shared_changed()

    def _region_at(self, at: int) -> int | None:
        """The start of the region `at` lies in, if any."""
        i = bisect.bisect_right(self.starts, at)
        if i == 0 or at >= self.ends[self.starts[i - 1]]:
            return None
        return self.starts[i - 1]

    def _cut(self, at: int) -> None:
        """Make `at` a region boundary if it lies inside a region (fork advice for a part
        of one)."""
        i = bisect.bisect_right(self.starts, at)
        if i == 0 or not self.starts[i - 1] < at < self.ends[self.starts[i - 1]]:
            return
        start = self.starts[i - 1]
        if start in self.shared:
            _room_for_shared(self, 1)       # counted as another mapping (limits)
        self.starts.insert(i, at)
        self.ends[at], self.ends[start] = self.ends[start], at
        if start in self.traits:
            self.traits[at] = self.traits[start]
        share = self.shared.get(start)
        if share is not None:
            share[0].hold()
            self.shared[at] = (share[0], share[1] + at - start)
            self._shared_changed()

    def _advise_heap(self, start: int, end: int, heap_end: int, advice: int) -> bool:
        """madvise for [start, end), which no region covers: below the break it is the
        program's private memory (image, stack, heap) but for page 0, which is no
        program's (the null guard). True if part of it is unmapped."""
        below = min(end, heap_end)
        unmapped = start < PAGE
        start = max(start, PAGE)
        if start < below:
            if advice in (MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE):
                self._memory.discard(start, below - start)
            elif advice in (MADV_REMOVE, MADV_WIPEONFORK, MADV_DONTFORK):
                # shared memory only (REMOVE); fork advice is kept for mapped regions only
                raise OSError(errno.EINVAL, "Invalid argument")
        return unmapped or max(start, below) < end

    def _advise_region(self, start: int, lo: int, hi: int, advice: int) -> None:
        """madvise for [lo, hi) of the region at `start` (all of it for fork advice)."""
        share = self.shared.get(start)
        traits = self.traits.get(start, 0)
        private_anonymous = share is None and not traits & FILE_BACKED
        if advice in (MADV_FREE, MADV_WIPEONFORK) and not private_anonymous:
            raise OSError(errno.EINVAL, "Invalid argument")
        if advice in (MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE):
            if private_anonymous:       # a file's pages keep its bytes, shared ones theirs
                self._memory.discard(lo, hi - lo)
        elif advice == MADV_REMOVE:
            if share is None:
                raise OSError(errno.EINVAL, "Invalid argument")
            share[0].remove(share[1] + lo - start, hi - lo)
        elif advice in _FORK_ADVICE:
            bit, on = _FORK_ADVICE[advice]
            traits = traits | bit if on else traits & ~bit
            if traits:
                self.traits[start] = traits
            else:
                self.traits.pop(start, None)

    @locked
    def msync(self, addr: int, length: int, flags: int) -> int:
        """Write shared file pages in the range back to their file (MS_SYNC: durably)."""
        if addr % PAGE or flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or (
                flags & MS_ASYNC and flags & MS_SYNC):
            raise OSError(errno.EINVAL, "Invalid argument")
        end = addr + _align(length)
        if self._has_hole(addr, end):
            raise _enomem()
        for s, e in self.shared_ranges():
            lo, hi = max(s, addr), min(e, end)
            if lo < hi:
                pages, offset = self.shared[s]
                pages.write_back(offset + lo - s, hi - lo, durable=bool(flags & MS_SYNC))
        return 0

    def _has_hole(self, start: int, end: int) -> bool:
        """Whether [start, end) has pages that are neither below the break nor mapped."""
        at = max(start, _align(self.brk))
        for s in self.starts[max(bisect.bisect_right(self.starts, at) - 1, 0):]:
            if at >= end or s > at:
                break
            at = max(at, self.ends[s])
        return at < end


_U64 = (1 << 64) - 1   # lengths are size_t: a negative one is a huge one
_OFF_MAX = (1 << 63) - 1   # a regular file's largest offset (Linux's MAX_LFS_FILESIZE)


def sys_brk(cage, addr, *_):
    return cage.aspace.set_brk(addr & 0xFFFFFFFF)


def check_shareable() -> None:
    """ENODEV unless host pages can be shared into a cage's memory (MAP_SHARED, shmat)."""
    if not shared_pages.HOST_PAGE_FITS:
        raise OSError(errno.ENODEV, "shared mappings need a host page size of 4 KiB")


def sys_mmap(cage, addr, length, prot, flags, fd, offset):
    flags &= 0xFFFFFFFF
    shared = flags & MAP_TYPE in (MAP_SHARED, MAP_SHARED_VALIDATE)
    if shared:
        check_shareable()
    validate = flags & MAP_TYPE == MAP_SHARED_VALIDATE
    offset &= _U64          # as the kernel takes it: a negative offset is a huge one
    if offset % PAGE:       # Linux refuses it even for anonymous memory
        raise OSError(errno.EINVAL, "Invalid argument")
    if flags & MAP_ANONYMOUS:
        if validate:      # Linux: an anonymous mapping is MAP_SHARED or MAP_PRIVATE only
            raise OSError(errno.EINVAL, "Invalid argument")
        return cage.aspace.mmap(addr & 0xFFFFFFFF, length & _U64, prot, flags,
                                pages_for=_anonymous_pages(cage) if shared else None)
    f = cage.fds.get(s32(fd))
    if validate and flags & ~KNOWN_MAP_FLAGS:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")
    if flags & MAP_GROWSDOWN:     # only anonymous memory grows down
        raise OSError(errno.EINVAL, "Invalid argument")
    if flags & MAP_SYNC:          # needs a DAX file, which no cage has
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")
    if f.maps_zeros and f.readable:   # /dev/zero: fresh anonymous memory, as on Linux
        return cage.aspace.mmap(addr & 0xFFFFFFFF, length & _U64, prot, flags | MAP_ANONYMOUS,
                                pages_for=_anonymous_pages(cage) if shared else None)
    if f.is_dir or not f.host_backed or not stat.S_ISREG(os.fstat(f.host_fd).st_mode):
        raise OSError(errno.ENODEV, "No such device")    # a pipe, a socket, a terminal
    if 0 < length & _U64 <= MAX_MEMORY and offset + _align(length & _U64) > _OFF_MAX:
        # Past the largest file offset (a longer length is ENOMEM, as on Linux).
        raise OSError(errno.EOVERFLOW, "Value too large for defined data type")
    if not f.readable:
        raise OSError(errno.EACCES, "Permission denied")
    host_fd = f.host_fd
    if not shared:
        def read_file(start: int, n: int) -> None:
            """The file's bytes straight into the mapping, no host copy of them."""
            done = 0
            while done < n:
                got = cage.mem.pread_fd(host_fd, start + done, n - done, offset + done)
                if got <= 0:
                    break
                done += got

        return cage.aspace.mmap(addr & 0xFFFFFFFF, length & _U64, prot, flags, fill=read_file)
    # Wasm cannot make pages read-only, so a mapping is as writable as its fd; a memfd
    # sealed against writes takes none (EPERM for PROT_WRITE, as Linux).
    sealed = _write_sealed(host_fd)
    if prot & PROT_WRITE and sealed:
        raise OSError(errno.EPERM, "Operation not permitted")
    writable = f.writable and not f.flags & O_APPEND and not sealed
    if prot & PROT_WRITE and not writable:
        raise OSError(errno.EACCES, "Permission denied")

    def file_pages(n: int) -> Share:
        return shared_pages.file_pages(host_fd, writable, offset, n, cage.memory_budget), offset

    return cage.aspace.mmap(addr & 0xFFFFFFFF, length & _U64, prot, flags, pages_for=file_pages)


def _write_sealed(host_fd: int) -> bool:
    """Whether the file is a memfd sealed against writes (others have no seals)."""
    try:
        seals = fcntl.fcntl(host_fd, F_GET_SEALS)
    except OSError:
        return False
    return bool(seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))


def _anonymous_pages(cage) -> Callable[[int], Share]:
    """Anonymous shared memory of `cage`: a memfd its tree pays for."""
    return lambda length: (SharedPages(length, cage.memory_budget), 0)


def sys_munmap(cage, addr, length, *_):
    return cage.aspace.munmap(addr & 0xFFFFFFFF, length & _U64)


def sys_mprotect(cage, addr, length, prot, *_):
    return cage.aspace.mprotect(addr & 0xFFFFFFFF, length & _U64, prot)


def sys_mremap(cage, old, old_len, new_len, flags, new_addr, *_):
    return cage.aspace.mremap(old & 0xFFFFFFFF, old_len & _U64, new_len & _U64,
                              flags & 0xFFFFFFFF, new_addr & 0xFFFFFFFF)


def sys_madvise(cage, addr, length, advice, *_):
    return cage.aspace.madvise(addr & 0xFFFFFFFF, length & _U64, s32(advice))


def sys_msync(cage, addr, length, flags, *_):
    return cage.aspace.msync(addr & 0xFFFFFFFF, length & _U64, flags & 0xFFFFFFFF)


# ------------------------------------------- residency and locking: all resident

def _mapped_range(cage, addr: int, length: int, *, aligned: bool) -> tuple[int, int]:
    """[start, end) of a range that must be mapped (ENOMEM otherwise); mlock rounds
    `addr` down to its page, mincore wants it on one (EINVAL)."""
    addr &= 0xFFFFFFFF
    if aligned and addr % PAGE:
        raise OSError(errno.EINVAL, "Invalid argument")
    length &= _U64
    start = addr - addr % PAGE
    end = _align(addr + length)
    if end > MAX_MEMORY or cage.aspace._has_hole(start, end):
        raise _enomem()
    return start, end


def sys_mincore(cage, addr, length, vec, *_):
    """Every page of a cage is in memory: one byte 1 per page of the range."""
    start, end = _mapped_range(cage, addr, length, aligned=True)
    pages = (end - start) // PAGE
    if pages:
        cage.mem.write(vec, b"\1" * pages)
    return 0


def sys_mlock(cage, addr, length, *_):
    _mapped_range(cage, addr, length, aligned=False)
    return 0


_MLOCK_ONFAULT = 1


def sys_mlock2(cage, addr, length, flags, *_):
    if flags & ~_MLOCK_ONFAULT:
        raise OSError(errno.EINVAL, "Invalid argument")
    return sys_mlock(cage, addr, length)


def sys_munlock(cage, addr, length, *_):
    _mapped_range(cage, addr, length, aligned=False)
    return 0


_MCL_CURRENT, _MCL_FUTURE, _MCL_ONFAULT = 1, 2, 4


def sys_mlockall(cage, flags, *_):
    flags &= 0xFFFFFFFF
    if not flags & (_MCL_CURRENT | _MCL_FUTURE) or flags & ~(_MCL_CURRENT | _MCL_FUTURE | _MCL_ONFAULT):
        raise OSError(errno.EINVAL, "Invalid argument")
    return 0


def sys_munlockall(cage, *_):
    return 0
