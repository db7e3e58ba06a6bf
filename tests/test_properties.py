"""Property-based tests (hypothesis) where inputs have structure.

Paths are checked against the kernel's own resolution (openat2 with RESOLVE_IN_ROOT
in a scratch tree, which treats the tree as `/` like a cage's root); fd operations
against the same program built with gcc; the fd table and the address-space map,
driven by random operation sequences, against small models. The model-based ones
use the real FdTable and AddressSpace (with a bytearray standing in for the cage's
linear memory); the real-cage ones run `lind cc` programs.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import lind
from lind.microvisor import abi, fs
from lind.microvisor.fdtable import FdTable, OpenFile, inert_file
from lind.microvisor.sys_memory import (
    MADV_DOFORK,
    MADV_DONTNEED,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MREMAP_MAYMOVE,
    PAGE,
    PROT_READ,
    PROT_WRITE,
    WASM_PAGE,
    AddressSpace,
)

CAGE_RUNS = settings(max_examples=8, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])

# ------------------------------------------------------------------------ paths
NAMES = ("a", "b")
DEPTH = 5     # the scratch tree has every path of up to DEPTH names from NAMES


def paths() -> st.SearchStrategy[str]:
    """Paths of names, `.`, `..` and empty components (repeated slashes), absolute or
    not, that never name more than DEPTH directories on the way (so all exist)."""
    parts = st.lists(st.sampled_from([*NAMES, ".", "..", ""]), max_size=12).filter(
        lambda p: sum(c in NAMES for c in p) <= DEPTH)
    return st.builds(lambda lead, p: lead + "/".join(p), st.sampled_from(["", "/"]), parts)


def directories() -> st.SearchStrategy[str]:
    """Normalised absolute paths of directories of the scratch tree."""
    return st.lists(st.sampled_from(NAMES), max_size=DEPTH).map(lambda p: "/" + "/".join(p))


@st.composite
def cwd_and_path(draw: st.DrawFn) -> tuple[str, str]:
    """A working directory and a path from it that passes through existing directories
    only (Lind folds `..` lexically, so `missing/..` is found where Linux says ENOENT)."""
    path = draw(paths())
    names = [] if path.startswith("/") else [p for p in draw(directories()).split("/") if p]
    room = DEPTH - sum(c in NAMES for c in path.split("/"))
    return "/" + "/".join(names[:room]), path


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("tree")
    for depth in range(1, DEPTH + 1):
        for names in itertools.product(NAMES, repeat=depth):
            (top / Path(*names)).mkdir()
    return top


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def kernel_resolve(top: Path, path: str) -> tuple[str, int] | int:
    """What the kernel makes of `path` with `top` as the root (openat2, RESOLVE_IN_ROOT):
    the directory as an absolute path below `top` and its inode, or an errno."""
    how = struct.pack("<QQQ", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, 0, 0x10)
    root = os.open(top, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = _libc.syscall(437, root, path.encode(), how, len(how))   # openat2
        if fd < 0:
            return ctypes.get_errno()
    finally:
        os.close(root)
    try:
        rel = os.path.relpath(os.readlink(f"/proc/self/fd/{fd}"), top)
        return "/" if rel == "." else "/" + rel, os.fstat(fd).st_ino
    finally:
        os.close(fd)


def from_cwd(base: str, path: str) -> str:
    """The path the kernel resolves for `path` with `base` as working directory."""
    return f"{base}/{path}" if path and not path.startswith("/") else path


@given(paths())
def test_normalize_gives_a_canonical_absolute_path(path):
    n = fs.normalize(path)
    assert n.startswith("/")
    assert n == "/" or all(part not in ("", ".", "..") for part in n[1:].split("/"))
    assert fs.normalize(n) == n


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cwd_and_path())
def test_join_resolves_as_the_kernel_does(tree, pair):
    """Without symbolic links, the lexical join of a cage's cwd and a path names the
    directory the kernel reaches from there (`..` of `/` is `/`)."""
    base, path = pair
    expected = kernel_resolve(tree, from_cwd(base, path))
    if path:
        assert fs.join(base, path) == expected[0]
    else:
        assert expected == errno.ENOENT      # "" names nothing, on Linux as in a cage


@CAGE_RUNS
@given(pairs=st.lists(cwd_and_path(), min_size=1, max_size=25))
def test_a_cage_resolves_paths_as_the_kernel_does(builds, tree, pairs):
    """chdir, then open a relative or absolute path, in a cage whose root is the tree:
    the same directory (by inode) and the same getcwd as the kernel's resolution."""
    args = [word for pair in pairs for word in pair]
    result = lind.run([builds.wasm("resolve"), *args], root=tree, input=b"",
                      capture_output=True, timeout=60)
    expected = []
    for base, path in pairs:
        got = kernel_resolve(tree, from_cwd(base, path))
        expected.append(f"{base} {path} -> " +
                        (f"errno {got}" if isinstance(got, int) else f"{got[0]} {got[1]}"))
    assert result.stdout.decode().splitlines() == expected


# ------------------------------------------------------------- fd operations
FDS = st.integers(-1, 12)
FD_OPS = st.one_of(
    st.tuples(st.just("open"), st.integers(0, 3)),
    st.tuples(st.sampled_from(["dup", "read", "getfd", "cloexec"]), FDS),
    st.tuples(st.just("close"), st.integers(3, 12)),      # 0-2 are the program's stdio
    st.tuples(st.sampled_from(["dup2", "dupfd"]), FDS, st.integers(3, 12)),
)


def with_scratch_stdio(prefix: Path, run: Callable[..., int]) -> tuple[int, str]:
    """`run(stdin=, stdout=, stderr=)` with empty/new scratch files, so that fds 0-2 are
    files natively and in the cage alike: (its status, what it wrote to stdout)."""
    paths = [prefix.with_suffix(ext) for ext in (".in", ".out", ".err")]
    paths[0].write_bytes(b"")
    with open(paths[0], "rb") as fin, open(paths[1], "wb") as fout, open(paths[2], "wb") as ferr:
        status = run(stdin=fin, stdout=fout, stderr=ferr)
    return status, paths[1].read_text()


@CAGE_RUNS
@given(ops=st.lists(FD_OPS, min_size=1, max_size=40))
def test_fd_operations_as_natively(builds, tmp_path, ops):
    """open/dup/dup2/F_DUPFD/close/cloexec sequences give the fd numbers, errors and
    files (one letter each) that the gcc build gives."""
    root, native_dir = tmp_path / "cage", tmp_path / "native"
    for directory in (root, native_dir):
        directory.mkdir(exist_ok=True)
        for i in range(4):
            (directory / f"f{i}").write_text("abcd"[i])
    args = [str(word) for op in ops for word in op]
    native = with_scratch_stdio(tmp_path / "native", lambda **io: subprocess.run(
        [builds.native("fdops"), *args], cwd=native_dir, timeout=60, **io).returncode)
    caged = with_scratch_stdio(tmp_path / "cage", lambda **io: lind.run(
        [builds.wasm("fdops"), *args], root=root, timeout=60, **io).returncode)
    assert caged == native
    assert native[0] == 0


# ------------------------------------------------------------ memory maps
SLOT = st.integers(0, 9)
MAP_OPS = st.one_of(
    st.tuples(st.just("map"), st.integers(1, 12)),
    st.tuples(st.just("unmap"), SLOT, st.integers(0, 12), st.integers(1, 6)),
    st.tuples(st.just("remap"), SLOT, st.integers(1, 24)),
)


@CAGE_RUNS
@given(ops=st.lists(MAP_OPS, min_size=1, max_size=30))
def test_memory_maps_keep_their_pages_as_natively(builds, tmp_path, ops):
    """mmap/munmap/mremap sequences: the program finds every page it still has mapped
    holding what it wrote there, and new pages zeroed, in a cage as with gcc."""
    args = [str(word) for op in ops for word in op]
    native = with_scratch_stdio(tmp_path / "native", lambda **io: subprocess.run(
        [builds.native("mapops"), *args], timeout=60, **io).returncode)
    caged = with_scratch_stdio(tmp_path / "cage", lambda **io: lind.run(
        [builds.wasm("mapops"), *args], root=tmp_path, timeout=60, **io).returncode)
    assert caged == native
    assert native[0] == 0 and "bad" not in native[1] and "not zeroed" not in native[1]


def test_a_released_files_host_fd_number_is_closed_with_the_file_object():
    f = OpenFile(os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC), abi.O_RDONLY)
    number = f.host_fd
    f.release()
    assert os.path.samestat(os.fstat(number), os.fstat(inert_file()))
    del f
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(number)


class FdTableModel(RuleBasedStateMachine):
    """FdTable against a dict fd -> (file, close-on-exec), with reference counts and
    the fast path's mirror checked after every step."""

    LIMIT = 8

    def __init__(self) -> None:
        super().__init__()
        self.mirrored: dict[int, OpenFile] = {}
        self.table = FdTable(self.LIMIT, self.LIMIT, self._mirror)
        self.model: dict[int, tuple[OpenFile, bool]] = {}
        self.limit = self.LIMIT

    def _mirror(self, fd: int, f: OpenFile | None) -> None:
        if f is None:
            self.mirrored.pop(fd, None)
        else:
            self.mirrored[fd] = f

    def _lowest_free(self, lowest: int) -> int | None:
        return next((fd for fd in range(lowest, self.limit) if fd not in self.model), None)

    def _check_released(self, files: list[OpenFile]) -> None:
        """A file no fd refers to any more has let its host file go (checked at once):
        its host fd number names the inert file while the OpenFile lives, never a file
        opened after it."""
        inert = os.fstat(inert_file())
        for f in files:
            if not any(g is f for g, _ in self.model.values()):
                assert f.refs == 0
                assert os.path.samestat(os.fstat(f.host_fd), inert)

    def _install(self, f: OpenFile, cloexec: bool, lowest: int) -> None:
        expected = self._lowest_free(lowest)
        try:
            fd = self.table.install(f, cloexec, lowest)
        except OSError as exc:
            assert expected is None
            assert exc.errno == (errno.EINVAL if lowest >= self.limit else errno.EMFILE)
            self._check_released([f])
        else:
            assert fd == expected
            self.model[fd] = (f, cloexec)

    @rule(cloexec=st.booleans(), lowest=st.integers(0, LIMIT + 1))
    def open(self, cloexec, lowest):
        self._install(OpenFile(os.open(os.devnull, os.O_RDONLY), abi.O_RDONLY), cloexec, lowest)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), lowest=st.integers(0, LIMIT + 1))
    def dup(self, data, lowest):
        fd = data.draw(st.sampled_from(sorted(self.model)))
        self._install(self.table.get(fd).hold(), False, lowest)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), cloexec=st.booleans())
    def dup2(self, data, cloexec):
        fd = data.draw(st.sampled_from(sorted(self.model)))
        to = data.draw(st.integers(-1, self.LIMIT + 1) | st.sampled_from([self.limit - 1, self.limit]))
        f = self.table.get(fd).hold()
        old = self.model.get(to)
        if not 0 <= to < self.limit:
            with pytest.raises(OSError, match="Bad file descriptor"):
                self.table.place(to, f, cloexec)
            assert f.refs == sum(g is f for g, _ in self.model.values())
            return
        self.table.place(to, f, cloexec)
        self.model[to] = (f, cloexec)
        self._check_released([old[0]] if old else [])

    @rule(fd=st.integers(-1, LIMIT + 1))
    def close(self, fd):
        if fd not in self.model:
            with pytest.raises(OSError, match="Bad file descriptor"):
                self.table.close(fd)
            return
        self.table.close(fd)
        f, _ = self.model.pop(fd)
        self._check_released([f])

    @precondition(lambda self: self.model)
    @rule(data=st.data(), value=st.booleans())
    def set_cloexec(self, data, value):
        fd = data.draw(st.sampled_from(sorted(self.model)))
        self.table.set_cloexec(fd, value)
        self.model[fd] = (self.model[fd][0], value)

    @rule(soft=st.integers(0, LIMIT))
    def set_soft_limit(self, soft):
        """Open fds above a lowered limit stay open, as on Linux; new ones stay below."""
        self.table.set_limits(soft, self.LIMIT)
        self.limit = soft

    @rule()
    def fork_then_exec(self):
        """A child's table shares every file; exec closes its close-on-exec ones only."""
        child_mirror: dict[int, OpenFile] = {}

        def mirror(fd: int, f: OpenFile | None) -> None:
            if f is None:
                child_mirror.pop(fd, None)
            else:
                child_mirror[fd] = f

        child = self.table.copy(mirror)
        assert child_mirror == {fd: f for fd, (f, _) in self.model.items()}
        child.close_on_exec()
        kept = {fd: f for fd, (f, cloexec) in self.model.items() if not cloexec}
        assert child_mirror == kept
        for fd, f in kept.items():
            assert child.get(fd) is f and not child.cloexec(fd)
        child.close_all()
        assert child_mirror == {}

    @invariant()
    def matches_the_model(self):
        for fd in range(-1, self.LIMIT + 2):
            if fd in self.model:
                f, cloexec = self.model[fd]
                assert self.table.get(fd) is f and self.table.cloexec(fd) == cloexec
            else:
                with pytest.raises(OSError):
                    self.table.get(fd)
        assert self.mirrored == {fd: f for fd, (f, _) in self.model.items()}
        for f, _ in self.model.values():
            assert f.refs == sum(g is f for g, _ in self.model.values())

    def teardown(self) -> None:
        files = [f for f, _ in self.model.values()]
        self.table.close_all()
        self.model.clear()
        self._check_released(files)


TestFdTable = FdTableModel.TestCase
TestFdTable.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


# ----------------------------------------------------------- address space
class LinearMemory:
    """The part of a cage's Memory that AddressSpace uses, over a bytearray."""

    def __init__(self) -> None:
        self.data = bytearray(WASM_PAGE)

    def grow(self, pages: int) -> None:
        self.data += bytes(pages * WASM_PAGE)

    def size(self) -> int:
        return len(self.data)

    def zero(self, start: int, length: int) -> None:
        self.data[start:start + length] = bytes(length)

    def discard(self, start: int, length: int, unmapping: bool = False) -> None:
        """munmap's: the pages read as zeros, and only pages no longer mapped go."""
        assert start % PAGE == 0 and length % PAGE == 0
        self.zero(start, length)

    def write(self, start: int, data: bytes) -> None:
        self.data[start:start + len(data)] = data

    def copy_from(self, src: LinearMemory, src_addr: int, dest_addr: int, length: int) -> None:
        self.data[dest_addr:dest_addr + length] = src.data[src_addr:src_addr + length]

    def unprotect(self, start: int, length: int, check: bool = False) -> None:
        """What mprotect did there undone: this memory has no protected pages."""


def _cut(regions: dict[int, int], start: int, end: int) -> None:
    """Take [start, end) out of a start -> end map of regions, splitting at its edges."""
    for s, e in list(regions.items()):
        if e <= start or s >= end:
            continue
        del regions[s]
        if s < start:
            regions[s] = start
        if e > end:
            regions[end] = e


class AddressSpaceModel(RuleBasedStateMachine):
    """mmap/munmap/mremap/brk against regions kept in a plain dict and first-fit by
    hand; every mapped page holds a tag written when it was mapped, which must survive
    whatever else is mapped, moved or unmapped, and new memory must read as zeros."""

    HEAP_BASE = 0x10000 + 0x123
    LIMIT = 48 * PAGE + 0x20000

    def __init__(self) -> None:
        super().__init__()
        self.memory = LinearMemory()
        self.space = AddressSpace(self.HEAP_BASE, self.memory.grow, self.memory, self.LIMIT)
        self.brk = (self.HEAP_BASE + 15) & ~15
        self.regions: dict[int, int] = {}
        self.tags: dict[int, int] = {}        # page address -> the byte it holds
        self.next_tag = itertools.count(1)

    def _page_up(self, n: int) -> int:
        return (n + PAGE - 1) & ~(PAGE - 1)

    def _first_fit(self, length: int) -> int:
        floor = self._page_up(self.brk)
        for s in sorted(self.regions):
            if s - floor >= length:
                break
            floor = max(floor, self.regions[s])
        return floor

    def _overlaps(self, start: int, end: int) -> bool:
        return any(s < end and e > start for s, e in self.regions.items())

    def _fresh(self, start: int, end: int) -> None:
        """New memory reads as zeros; the test then writes a tag into each page."""
        assert self.memory.data[start:end] == bytes(end - start)
        for page in range(start, end, PAGE):
            tag = next(self.next_tag) % 255 + 1
            self.memory.write(page, bytes([tag]) * PAGE)
            self.tags[page] = tag

    def _forget(self, start: int, end: int) -> None:
        for page in range(start, end, PAGE):
            self.tags.pop(page, None)

    @rule(pages=st.integers(1, 6), fixed=st.none() | st.integers(0, 60))
    def mmap(self, pages, fixed):
        length = pages * PAGE
        flags = MAP_PRIVATE | MAP_ANONYMOUS
        if fixed is None:
            start = self._first_fit(length)
        else:
            start = fixed * PAGE
            flags |= MAP_FIXED
        if (fixed is not None and start < self.space.heap_base) or start + length > self.LIMIT:
            with pytest.raises(OSError, match="Cannot allocate memory"):
                self.space.mmap(start if fixed is not None else 0, length - 100,
                                PROT_READ | PROT_WRITE, flags)
            return
        got = self.space.mmap(start if fixed is not None else 0, length - 100,
                              PROT_READ | PROT_WRITE, flags)
        assert got == start
        _cut(self.regions, start, start + length)
        self.regions[start] = start + length
        self._forget(start, start + length)
        self._fresh(start, start + length)

    @rule(page=st.integers(0, 60), pages=st.integers(1, 8))
    def munmap(self, page, pages):
        start, length = page * PAGE, pages * PAGE
        if start + length > self.LIMIT:
            with pytest.raises(OSError, match="Invalid argument"):
                self.space.munmap(start, length)
            return
        assert self.space.munmap(start, length) == 0
        _cut(self.regions, start, start + length)
        self._forget(start, start + length)

    @precondition(lambda self: self.regions)
    @rule(data=st.data(), new_pages=st.integers(1, 10), may_move=st.booleans())
    def mremap(self, data, new_pages, may_move):
        old = data.draw(st.sampled_from(sorted(self.regions)))
        old_len = data.draw(st.integers(1, (self.regions[old] - old) // PAGE)) * PAGE
        new_len = new_pages * PAGE
        kept = [self.tags[p] for p in range(old, old + min(old_len, new_len), PAGE)]
        flags = MREMAP_MAYMOVE if may_move else 0
        if new_len <= old_len:
            assert self.space.mremap(old, old_len, new_len, flags) == old
            _cut(self.regions, old + new_len, old + old_len)
            self._forget(old + new_len, old + old_len)
            return
        if not self._overlaps(old + old_len, old + new_len) and old + new_len <= self.LIMIT:
            assert self.space.mremap(old, old_len, new_len, flags) == old
            _cut(self.regions, old, old + new_len)
            self.regions[old] = old + new_len
            self._fresh(old + old_len, old + new_len)
            return
        new = self._first_fit(new_len)
        if not may_move or new + new_len > self.LIMIT:
            with pytest.raises(OSError, match="Cannot allocate memory"):
                self.space.mremap(old, old_len, new_len, flags)
            return
        assert self.space.mremap(old, old_len, new_len, flags) == new
        _cut(self.regions, old, old + old_len)
        self._forget(old, old + old_len)
        self.regions[new] = new + new_len
        for i, tag in enumerate(kept):
            self.tags[new + i * PAGE] = tag
        assert self.memory.data[new:new + old_len] == b"".join(bytes([t]) * PAGE for t in kept)
        self._fresh(new + old_len, new + new_len)

    @rule(page=st.integers(0, 60), pages=st.integers(1, 8),
          advice=st.sampled_from([MADV_DONTNEED, MADV_DOFORK]))
    def madvise(self, page, pages, advice):
        """DONTNEED zeroes the mapped pages in the range (ENOMEM after, if a page of it
        is mapped by nothing: page 0 never is); neither it nor DOFORK (no DONTFORK was
        given) splits a region, as Linux splits a mapping only where its flags change,
        and DOFORK changes no byte but joins regions that meet inside the range, as
        Linux merges alike mappings."""
        start, end = page * PAGE, (page + pages) * PAGE
        if advice == MADV_DOFORK:
            for s in sorted(self.regions):
                if start <= s <= end:
                    before = next((b for b, e in self.regions.items() if e == s), None)
                    if before is not None:
                        self.regions[before] = self.regions.pop(s)
        heap_end = min(self._page_up(self.brk), self.memory.size())
        mapped = [p for p in range(start, end, PAGE)
                  if PAGE <= p < heap_end or any(s <= p < e for s, e in self.regions.items())]
        if len(mapped) < pages:
            with pytest.raises(OSError, match="Cannot allocate memory"):
                self.space.madvise(start, pages * PAGE - 100, advice)
        else:
            assert self.space.madvise(start, pages * PAGE - 100, advice) == 0
        if advice == MADV_DONTNEED:
            for p in mapped:
                if p in self.tags:
                    self.tags[p] = 0
                elif p < heap_end:
                    assert self.memory.data[p:p + PAGE] == bytes(PAGE), hex(p)

    @rule(offset=st.integers(-PAGE, 12 * PAGE))
    def brk(self, offset):
        addr = self.brk + offset
        grows = addr > self.brk
        moves = addr >= self.space.heap_base and addr <= self.LIMIT and not (
            grows and self._overlaps(self.brk, addr))
        got = self.space.set_brk(addr)
        if not moves:
            assert got == self.brk
            return
        assert got == addr
        if grows:
            assert self.memory.data[self.brk:addr] == bytes(addr - self.brk)
        self.brk = addr

    @invariant()
    def matches_the_model(self):
        assert self.space.brk == self.brk
        assert self.space.starts == sorted(self.regions)
        assert self.space.ends == self.regions
        for page, tag in self.tags.items():
            assert self.memory.data[page:page + PAGE] == bytes([tag]) * PAGE, hex(page)


TestAddressSpace = AddressSpaceModel.TestCase
TestAddressSpace.settings = settings(max_examples=80, stateful_step_count=30, deadline=None)
