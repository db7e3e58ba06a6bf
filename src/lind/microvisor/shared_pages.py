"""Host pages several cages map at once: what MAP_SHARED is made of.

A cage's linear memory is ordinary host memory at a fixed address (Wasmtime reserves
the whole 4 GiB range and never moves it), so two cages share a range by mapping the
same memfd pages over it with mmap(MAP_FIXED | MAP_SHARED). `SharedPages` is one memfd,
counted by the cage mappings that use it and closed with the last one.

A file-backed shared mapping is a memfd too, never the file itself: a file truncated
under a host mapping would raise SIGBUS in whichever host code touched the page next
and end the whole Lind process, every cage with it. `FilePages` loads the file's pages
at mmap time; writes reach the file at msync, munmap, exec and exit, as the byte span
of each page that changed since it was loaded or last written (so what others wrote to
the file meanwhile with write() survives elsewhere in the page). Cages mapping a file
through a writable fd share one memfd per file, coherent as Linux's page cache is; a
mapping through a read-only fd gets a memfd of its own (shared only with its forks):
wasm has no read-only pages, so sharing it would let a cage change what other cages
read from a file it may not write.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import threading

from lind import threei
from lind.microvisor import limits
from lind.microvisor.fs import libc, proc_path

PAGE = 4096
HOST_PAGE_FITS = mmap.PAGESIZE == PAGE   # guest pages are 4 KiB; so must the host's be

_LOAD_PAGES = 256   # pages read from a file at a time (1 MiB)
_PROT_RW = mmap.PROT_READ | mmap.PROT_WRITE
_MAP_NORESERVE = 0x4000        # Linux's (the mmap module does not name it)
_FALLOC_FL_KEEP_SIZE, _FALLOC_FL_PUNCH_HOLE = 1, 2
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]

# Reference counts and the file registry change under one lock; file write-back too.
_lock = threading.RLock()
_files: dict[tuple[int, int], FilePages] = {}


def map_private_zeros(memory, start: int, length: int) -> None:
    """Give guest pages [start, +length) of `memory` fresh private zeros (undoing a share).
    MAP_NORESERVE, as Wasmtime maps the linear memory: with the same flags the kernel
    joins the zeros to the memory's mapping around them, where another mapping of its
    own stayed for each region a cage had unmapped (2000 shared pages mapped and
    unmapped in turn left 4200 host mappings, of the process's 65530)."""
    memory.map(start, length, _PROT_RW,
               mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE, -1, 0)


class SharedPages:
    """A memfd mapped into one or more cages (anonymous MAP_SHARED memory).

    Made with one mapping counted; `hold` and `release` count the others. Its host fds
    count against the process's budget (ENFILE past it). Its pages are host RAM for as
    long as it lives, whatever part of it is still mapped (a mapping unmapped all but a
    page keeps the whole memfd): each growth is charged to the memory budget of the tree
    that made it (ENOMEM past it) until the memfd closes. A mapped page thus counts
    twice, as the mapping's memory and as the memfd's.
    """

    HOST_FDS = 1

    def __init__(self, size: int = 0, budget: limits.MemoryBudget | None = None) -> None:
        self._fd_share = limits.caller_fd_share()      # the tree its fds count for
        limits.host_fds.take(self.HOST_FDS, share=self._fd_share)
        try:
            self.fd = os.memfd_create("lind-shared", os.MFD_CLOEXEC)
        except OSError:
            limits.host_fds.give(self.HOST_FDS, self._fd_share)
            raise
        self.size = 0
        self.mappings = 1
        self._charges: list[tuple[limits.MemoryBudget, int]] = []
        try:
            self._extend(size, budget)
        except OSError:
            os.close(self.fd)
            limits.host_fds.give(self.HOST_FDS, self._fd_share)
            raise

    def _extend(self, size: int, budget: limits.MemoryBudget | None) -> None:
        """Grow the memfd to `size`, charged to `budget` (None: the caller charges)."""
        if size <= self.size:
            return
        cost = size - self.size
        if budget is not None:
            budget.charge(cost)
        try:
            os.ftruncate(self.fd, size)
        except OSError:
            if budget is not None:
                budget.release(cost)
            raise
        if budget is not None:
            self._charges.append((budget, cost))
        self.size = size

    def cover(self, offset: int, length: int, budget: limits.MemoryBudget | None) -> None:
        """Make [offset, +length) of the pages exist (mremap growing a mapping), any
        growth charged to `budget`."""
        self._extend(offset + length, budget)

    def map_at(self, memory, start: int, length: int, offset: int) -> None:
        """Map [offset, +length) of the pages over guest [start, +length) of `memory`."""
        memory.map(start, length, _PROT_RW, mmap.MAP_SHARED, self.fd, offset)

    def hold(self) -> None:
        with _lock:
            self.mappings += 1

    def release(self) -> None:
        with _lock:
            self.mappings -= 1
            if self.mappings == 0:
                self._close()

    def write_back(self, offset: int, length: int, durable: bool = False) -> None:
        """Anonymous pages have nowhere to go."""

    def remove(self, offset: int, length: int) -> None:
        """MADV_REMOVE: [offset, +length) reads as zeros in every mapping, its RAM freed."""
        if libc.fallocate(self.fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE,
                          offset, length) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def _close(self) -> None:
        os.close(self.fd)
        limits.host_fds.give(self.HOST_FDS, self._fd_share)
        for budget, cost in self._charges:
            budget.release(cost)
        self._charges.clear()


class FilePages(SharedPages):
    """A file's pages (memfd offset = file offset), written back to it when `writable`."""

    HOST_FDS = 2   # the memfd and our own fd of the file

    def __init__(self, file_fd: int, writable: bool, identity: tuple[int, int] | None) -> None:
        super().__init__()
        self.file_fd = file_fd        # our own fd of the file, for loading and write-back
        self.writable = writable
        self.identity = identity      # (st_dev, st_ino) while in the registry
        # page index -> the bytes the file held there when last loaded or written back
        # (empty for read-only pages, which never need comparing)
        self.clean: dict[int, bytes] = {}
        # held while its pages are loaded or written back: this set's own, not the
        # module's lock, which every cage's fork, munmap and exit takes (a tenant
        # msync'ing a 32 MiB mapping in a loop held it ~95% of the time, and another
        # tenant forking with a shared page made 17 rounds in 3 s instead of 275)
        self._io = threading.RLock()

    def cover(self, offset: int, length: int, budget: limits.MemoryBudget | None) -> None:
        """Load the pages of [offset, +length) that are not here yet from the file,
        charged to `budget`: each is a page of the memfd, and a writable set keeps it as
        loaded too (`clean`). (The memfd itself is sized by file offsets, mostly holes.)"""
        with self._io:
            first, end = offset // PAGE, (offset + length) // PAGE
            cost = sum(PAGE for i in range(first, end) if i not in self.clean) * (
                2 if self.writable else 1)
            if budget is not None and cost:
                budget.charge(cost)          # ENOMEM
                self._charges.append((budget, cost))
            self._extend(offset + length, None)
            page = first
            while page < end:
                if page in self.clean:
                    page += 1
                    continue
                run = page
                while run < end and run not in self.clean and run - page < _LOAD_PAGES:
                    run += 1
                size = (run - page) * PAGE
                data = os.pread(self.file_fd, size, page * PAGE).ljust(size, b"\0")
                os.pwrite(self.fd, data, page * PAGE)
                for i in range(page, run):
                    self.clean[i] = data[(i - page) * PAGE:(i - page + 1) * PAGE] if self.writable else b""
                page = run

    def write_back(self, offset: int, length: int, durable: bool = False) -> None:
        """Write to the file what changed in [offset, +length) since it was loaded or written."""
        if not self.writable:
            return
        with self._io:
            file_size = os.fstat(self.file_fd).st_size
            for page in range(offset // PAGE, (offset + length) // PAGE):
                clean = self.clean.get(page)
                pos = page * PAGE
                if clean is None or pos >= file_size:
                    continue
                now = os.pread(self.fd, PAGE, pos)
                if now == clean:
                    continue
                changed = int.from_bytes(now, "little") ^ int.from_bytes(clean, "little")
                lo = ((changed & -changed).bit_length() - 1) // 8
                hi = min((changed.bit_length() + 7) // 8, file_size - pos)
                if hi > lo:
                    os.pwrite(self.file_fd, now[lo:hi], pos + lo)
                self.clean[page] = now
            if durable:
                os.fdatasync(self.file_fd)

    def remove(self, offset: int, length: int) -> None:
        """As Linux punches the file: zeros here, and written to the file at once."""
        if not self.writable:
            raise OSError(errno.EACCES, "Permission denied")
        with self._io:
            super().remove(offset, length)
            self.write_back(offset, length)

    def _close(self) -> None:
        if self.identity is not None:
            _files.pop(self.identity, None)
        os.close(self.file_fd)
        super()._close()


def writably_mapped(host_fd: int) -> bool:
    """Whether the file open as `host_fd` has a writable shared mapping in some cage (the
    kernel cannot tell: the cages map Lind's copy of its pages, not the file)."""
    st = os.fstat(host_fd)
    with _lock:
        return (st.st_dev, st.st_ino) in _files


def _new_file_pages(file_fd: int, writable: bool, identity: tuple[int, int] | None) -> FilePages:
    try:
        return FilePages(file_fd, writable, identity)
    except OSError:
        os.close(file_fd)
        raise


def file_pages(host_fd: int, writable: bool, offset: int, length: int,
               budget: limits.MemoryBudget) -> FilePages:
    """Pages of the file open as `host_fd` covering [offset, +length), with this mapping
    counted (what they grow by charged to `budget`). Through a writable fd: the file's
    one shared set; else a set of its own. (Loaded outside the module's lock: this
    mapping is counted, so the set stays open meanwhile.)"""
    if writable:
        # Our own open file description, made outside the lock (an open may wait): the
        # cage may set O_APPEND on its fd later, and pwrite on an O_APPEND fd appends.
        # Made as Lind: the fd is writable, whatever the file's mode says by now (a file
        # made 0444 by an open for writing), which the checks of a cage's host thread
        # would look at (threei).
        with threei.as_lind():
            reopened = os.open(proc_path(host_fd), os.O_RDWR | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            st = os.fstat(reopened)
            identity = (st.st_dev, st.st_ino)
            with _lock:
                pages = _files.get(identity)
                if pages is None:
                    fd, reopened = reopened, -1      # the set's now (closed if it fails)
                    pages = _files[identity] = _new_file_pages(fd, True, identity)
                else:
                    pages.hold()
        finally:
            if reopened >= 0:
                os.close(reopened)
    else:
        pages = _new_file_pages(os.dup(host_fd), False, None)
    try:
        pages.cover(offset, length, budget)
    except OSError:
        pages.release()
        raise
    return pages
