"""brk, mmap and friends as bookkeeping inside the cage's 32-bit linear memory.

Layout: [stack | data | heap (brk, grows up) | mmap regions ...] with the linear memory
grown on demand (wasm memories never shrink). Regions are an ordered interval map;
freed ranges are reused first-fit and zeroed on reuse, as anonymous memory must be.
"""

from __future__ import annotations

import bisect
import ctypes
import errno
import os

from lind.microvisor.abi import s32

PAGE = 4096
WASM_PAGE = 65536
MAX_MEMORY = 1 << 32

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_FIXED_NOREPLACE = 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2
_MAP_FAILED = -1


def _align(n: int, to: int = PAGE) -> int:
    return (n + to - 1) & ~(to - 1)


def _enomem() -> OSError:
    return OSError(errno.ENOMEM, "Cannot allocate memory")


class AddressSpace:
    """Where the heap ends and which ranges are mapped, for one cage."""

    def __init__(self, heap_base: int, grow, memory, limit: int = MAX_MEMORY) -> None:
        self.heap_base = _align(heap_base, 16)
        self.brk = self.heap_base
        self.limit = limit
        self._grow = grow          # grow(pages) -> None; raises when the engine refuses
        self._memory = memory      # the cage's Memory
        self.starts: list[int] = []  # sorted starts of mapped regions
        self.ends: dict[int, int] = {}

    def copy(self, grow, memory) -> AddressSpace:
        twin = AddressSpace(self.heap_base, grow, memory, self.limit)
        twin.brk, twin.starts, twin.ends = self.brk, list(self.starts), dict(self.ends)
        return twin

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
        ctypes.memset(self._memory.address() + start, 0, length)

    # -- regions ------------------------------------------------------------
    def _overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, end)
        return i > 0 and self.ends[self.starts[i - 1]] > start

    def _insert(self, start: int, end: int) -> None:
        self._remove(start, end)
        bisect.insort(self.starts, start)
        self.ends[start] = end

    def _remove(self, start: int, end: int) -> None:
        """Unmap [start, end), splitting regions that straddle its edges."""
        i = bisect.bisect_left(self.starts, end)
        while i > 0:
            s = self.starts[i - 1]
            e = self.ends[s]
            if e <= start:
                break
            del self.starts[i - 1]
            del self.ends[s]
            if s < start:
                bisect.insort(self.starts, s)
                self.ends[s] = start
            if e > end:
                bisect.insort(self.starts, end)
                self.ends[end] = e
            i -= 1

    def _find_gap(self, length: int) -> int:
        floor = _align(self.brk)
        for s in self.starts:
            if s - floor >= length:
                return floor
            floor = max(floor, self.ends[s])
        return floor

    # -- the calls ----------------------------------------------------------
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

    def mmap(self, addr: int, length: int, prot: int, flags: int, fd_data) -> int:
        if length <= 0 or addr % PAGE:
            raise OSError(errno.EINVAL, "Invalid argument")
        if not flags & (MAP_PRIVATE | MAP_SHARED):
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
        self._insert(start, start + length)
        self._zero(start, length)
        if fd_data is not None:
            data = fd_data(length)
            self._memory.write(start, data)
        return start

    def munmap(self, addr: int, length: int) -> int:
        if addr % PAGE or length <= 0:
            raise OSError(errno.EINVAL, "Invalid argument")
        self._remove(addr, addr + _align(length))
        return 0

    def mprotect(self, addr: int, length: int, prot: int) -> int:
        """Wasm has no page protection: accepted for mapped or heap memory, recorded nowhere."""
        if addr % PAGE:
            raise OSError(errno.EINVAL, "Invalid argument")
        if addr + _align(length) > self._memory.size():
            raise _enomem()
        return 0

    def mremap(self, old: int, old_len: int, new_len: int, flags: int) -> int:
        if old % PAGE or new_len <= 0 or flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED):
            raise OSError(errno.EINVAL, "Invalid argument")
        old_len, new_len = _align(old_len), _align(new_len)
        if old not in self.ends or self.ends[old] < old + old_len:
            raise OSError(errno.EFAULT, "Bad address")
        if new_len <= old_len:
            self._remove(old + new_len, old + old_len)
            return old
        if not self._overlaps(old + old_len, old + new_len) and old + new_len <= self.limit:
            try:
                self._ensure(old + new_len)
            except OSError:
                pass
            else:
                self._zero(old + old_len, new_len - old_len)
                self._insert(old, old + new_len)
                return old
        if not flags & MREMAP_MAYMOVE:
            raise _enomem()
        new = self.mmap(0, new_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, None)
        ctypes.memmove(self._memory.address() + new, self._memory.address() + old, old_len)
        self._remove(old, old + old_len)
        return new


def sys_brk(cage, addr, *_):
    return cage.aspace.set_brk(addr & 0xFFFFFFFF)


def sys_mmap(cage, addr, length, prot, flags, fd, offset):
    flags &= 0xFFFFFFFF
    reader = None
    if not flags & MAP_ANONYMOUS:
        if flags & MAP_SHARED and prot & PROT_WRITE:
            raise OSError(errno.ENODEV, "shared writable file mappings are not supported yet")
        if offset % PAGE:
            raise OSError(errno.EINVAL, "Invalid argument")
        f = cage.fds.get(s32(fd))
        if f.is_dir:
            raise OSError(errno.ENODEV, "No such device")
        host_fd = f.host_fd

        def reader(n: int) -> bytes:
            return os.pread(host_fd, n, offset)

    return cage.aspace.mmap(addr & 0xFFFFFFFF, length, prot, flags, reader)


def sys_munmap(cage, addr, length, *_):
    return cage.aspace.munmap(addr & 0xFFFFFFFF, length)


def sys_mprotect(cage, addr, length, prot, *_):
    return cage.aspace.mprotect(addr & 0xFFFFFFFF, length, prot)


def sys_mremap(cage, old, old_len, new_len, flags, *_):
    return cage.aspace.mremap(old & 0xFFFFFFFF, old_len, new_len, flags & 0xFFFFFFFF)


def sys_madvise(cage, addr, length, advice, *_):
    return 0
