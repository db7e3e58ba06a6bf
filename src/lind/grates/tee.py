"""tee: send each file call through two stacks of grates and reconcile their answers."""

from __future__ import annotations

import errno
import hashlib
import struct
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from lind.grates import Grate, number, syscall_names
from lind.grates.clamp import Clamp, RoutedSlot
from lind.grates.paths import FD_CALLS, PATH_CALLS
from lind.microvisor import abi
from lind.threei import FAST_NONE
from lind.threei.ops import HOST_OWNER

POLICIES = ("first", "agree", "any-success")

# Calls whose result is a new fd, of which each stack has its own.
_FD_MAKERS = {"open", "openat", "creat", "dup", "dup2", "dup3"}
# The calls a tee sends through both stacks: the file system's (by path, and on fds
# opened through the tee). Others a stack handles go through A alone: a fork, an exit,
# a wait, a signal, a sleep, a socket or a mapping must happen once.
_TEED = {*PATH_CALLS, *FD_CALLS, *_FD_MAKERS} - {"mmap"}
# Teed whether or not a stack handles them: a file B opened must see B's calls on it.
_ON_FDS = {number(n) for n in (*FD_CALLS, *_FD_MAKERS) if n != "mmap"}
# What a call writes into the program's memory, compared under `agree`: the argument
# holding the buffer, and its length (the result's bytes, or a fixed size).
_OUTPUTS: dict[str, tuple[int, int | None]] = {
    "read": (1, None), "pread64": (1, None), "readlink": (1, None), "readlinkat": (2, None),
    "getdents64": (1, None), "fstat": (1, abi.STAT_SIZE), "stat": (1, abi.STAT_SIZE),
    "lstat": (1, abi.STAT_SIZE), "newfstatat": (2, abi.STAT_SIZE),
}
_STAT_MODE_AND_SIZE = struct.Struct("<24xI20xq")   # st_mode and st_size of struct stat
_COMPARED_WHOLE = 1 << 16     # bytes read past this are compared by digest, in pieces
_F_DUPFD, _F_DUPFD_CLOEXEC = 0, 1030
_LINUX_CALLS = 1000       # 3i's own calls (register_handler, ...) are never teed


class Tee(Grate):
    """Send each file call through two stacks of grates and reconcile their answers.

    `--grate tee:POLICY %{ --grate A... %} %{ --grate B... %}`, or
    `lind.run(grates=[Tee([A...], [B...], "agree")])`: every file call (by path, or on a
    file descriptor) a grate of either stack handles, and every call on a file
    descriptor, goes through stack B and then through stack A, each seeing the
    arguments as the program passed them (a stack may be empty: the layer below the tee
    answers for it); any other call a stack handles (fork, exit, wait, kill, sleeps,
    sockets, mmap) goes through A alone, since it must happen once. POLICY:
      first        the program gets A's answer; B only observes (the default)
      agree        A's answer if B's is the same, else the call fails with EIO and
                   both answers are reported on stderr (or to `report`, a callable)
      any-success  A's answer unless A failed and B did not
    Answers are the same when the results are (two new fds count as the same answer)
    and, for read, pread64 and readlink, the bytes written back are; for getdents64,
    the names and types listed (in any order); for the stat calls, the file's type,
    mode and size. Each stack has its own file
    descriptors: a file B opened takes a number in the program's table too, hidden
    behind A's (so calls on it go to B's); calls on a file neither opened (stdio, a
    file opened before the tee) go through A alone. Useful for shadow testing a new grate
    against a trusted one. The stacks may hold Python and wasm grates (placed by lind.run
    or lind run: wasm grates run as programs, A's below B's, and each stack's entries
    are taken out of the table the next one starts with). Calls run in both stacks:
    writes are made twice, once in each (a shadow copy is the point). Handlers a wasm
    grate of the tee registers after the program above it started are not teed.
    """

    name = "tee"

    def __init__(self, a: Sequence[Grate], b: Sequence[Grate], policy: str = "first",
                 report: Callable[[str], None] | None = None) -> None:
        if policy not in POLICIES:
            raise ValueError(f"tee: policy {policy!r} is not one of {', '.join(POLICIES)}")
        self.a, self.b, self.policy = list(a), list(b), policy
        self.report = report or (lambda line: print(line, file=sys.stderr))
        self._fds: weakref.WeakKeyDictionary[Any, dict[int, int]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._below: list[tuple[Callable[..., int] | None, int, int]] = []   # see TeeStart
        self._a_top: dict[int, Callable[..., int] | None] = {}

    @classmethod
    def from_args(cls, text: str) -> Tee:
        return cls([], [], text or "first")

    def attach(self, cage: Any) -> None:
        """A tee of Python grate objects only, on one cage (lind.run and lind run place
        the others: wasm grates, grates by name)."""
        if not all(isinstance(g, Grate) for g in self.a + self.b):
            raise ValueError("tee: grates by name and wasm grates are placed by lind.run or "
                             "lind run, not attached to a cage")
        TeeStart(self).attach(cage)
        for grate in reversed(self.a):
            grate.attach(cage)
        TeeBranch(self).attach(cage)
        for grate in reversed(self.b):
            grate.attach(cage)
        TeeEnd(self).attach(cage)

    def _install(self, cage: Any, b_top: dict[int, Callable[..., int] | None],
                 clamps: Sequence[Clamp]) -> None:
        """Send the file calls either stack handles, and every fd call, through both;
        A's other entries go in as they are."""
        handled = set(self._a_top) | set(b_top)
        teed = {nr for nr in map(number, _TEED) if nr in handled or nr in _ON_FDS}
        below = [entry for entry, _, _ in self._below]
        a = {nr: self._a_top.get(nr, below[nr]) for nr in teed | set(self._a_top)}
        b = {nr: b_top.get(nr, below[nr]) for nr in teed}
        table = cage.slot
        for clamp in clamps:              # inside clamps: the tee's entries are routed
            table = RoutedSlot(clamp, table)
        for nr in sorted(a):
            table.set(nr, _TeeEntry(self, nr, a, b) if nr in teed else a[nr], FAST_NONE,
                      HOST_OWNER)

    # -- B's file descriptors --------------------------------------------------
    def _table(self, cage: Any) -> dict[int, int]:
        """A's fd -> B's, for this cage (a fork starts with its parent's, as they are at
        the child's first call through the tee)."""
        with self._lock:
            table = self._fds.get(cage)
            if table is None:
                parent = cage.runtime.cages.get(cage.ppid)
                table = self._fds[cage] = dict(self._fds.get(parent, {})) if parent else {}
            return table


class _Mark(Grate):
    """A point of a tee's part of the process tree: attached like a grate (at a
    program's exec, or all on one cage), with no handlers of its own."""

    def __init__(self, tee: Tee, clamps: Sequence[Clamp] = ()) -> None:
        self.tee, self.clamps = tee, tuple(clamps)

    def handlers(self) -> dict[int, Callable[..., int]]:
        return {}


class TeeStart(_Mark):
    """The table below the tee, as the cage lowest in it has it."""

    def attach(self, cage: Any) -> None:
        slot = cage.slot
        self.tee._below = [(*slot.get(nr), slot.owner(nr)) for nr in range(_LINUX_CALLS)]


class TeeBranch(_Mark):
    """Stack A ends here: keep its entries, and start stack B on the table below the tee."""

    def attach(self, cage: Any) -> None:
        self.tee._a_top = _take_back(cage.slot, self.tee._below)


class TeeEnd(_Mark):
    """Stack B ends here (the program above the tee): keep its entries, and put the
    tee's over the table below it."""

    def attach(self, cage: Any) -> None:
        self.tee._install(cage, _take_back(cage.slot, self.tee._below), self.clamps)


def _take_back(slot: Any, below: Sequence[tuple[Callable[..., int] | None, int, int]]
               ) -> dict[int, Callable[..., int] | None]:
    """The entries a stack put over `below` in `slot`, which gets `below` back (in the
    table itself: a clamp's view would make that a route)."""
    while isinstance(slot, RoutedSlot):
        slot = slot.slot
    top = {}
    for nr, (entry, fast, owner) in enumerate(below):
        current, _ = slot.get(nr)
        if current is not entry:
            top[nr] = current
            slot.set(nr, entry, fast, owner)
    return top


def _answer(entry: Callable[..., int] | None, cage: Any, args: Sequence[int]) -> int:
    if entry is None:
        return -errno.ENOSYS
    try:
        return entry(cage, *args)
    except OSError as exc:
        return -(exc.errno or errno.EIO)


class _TeeEntry:
    """A call the tee sends through both stacks: `a` and `b` map each call it handles to
    that stack's entry (its top grate's, or the layer below the tee's)."""

    __slots__ = ("tee", "nr", "name", "a", "b")

    def __init__(self, tee: Tee, nr: int, a: dict[int, Callable[..., int] | None],
                 b: dict[int, Callable[..., int] | None]) -> None:
        self.tee, self.nr, self.a, self.b = tee, nr, a, b
        self.name = syscall_names().get(nr, str(nr))

    def __call__(self, cage: Any, *args: int) -> int:
        tee, name = self.tee, self.name
        fds = tee._table(cage)
        b_nr, b_args = self.nr, list(args)
        if name in FD_CALLS:
            fd = abi.s32(args[FD_CALLS[name]])
            if fd not in fds:       # a file neither stack opened (stdio): one copy of the call
                return _answer(self.a[self.nr], cage, args)
            b_args[FD_CALLS[name]] = fds[fd]
        if name in ("dup2", "dup3"):     # B's copy takes a number of its own
            b_nr, b_args = number("dup"), b_args[:1]
        got_b = _answer(self.b[b_nr], cage, b_args)
        out_b = self._output(cage, args, got_b)
        got_a = _answer(self.a[self.nr], cage, args)
        out_a = self._output(cage, args, got_a)
        self._keep_fds(cage, fds, args, got_a, got_b)
        if tee.policy == "any-success":
            return got_b if got_a < 0 <= got_b else got_a
        if tee.policy == "agree" and not self._same(args, got_a, got_b, out_a, out_b):
            tee.report(f"lind: tee: cage {cage.id} {name}: A = {_said(got_a, out_a)}, "
                       f"B = {_said(got_b, out_b)}")
            return -errno.EIO
        return got_a

    def _makes_fd(self, args: Sequence[int]) -> bool:
        return self.name in _FD_MAKERS or (
            self.name == "fcntl" and abi.s32(args[1]) in (_F_DUPFD, _F_DUPFD_CLOEXEC))

    def _output(self, cage: Any, args: Sequence[int], result: int) -> bytes | None:
        where = _OUTPUTS.get(self.name)
        if where is None or result < 0:
            return None
        index, size = where
        if size is None and result > _COMPARED_WHOLE:     # a large read: its digest
            digest = hashlib.sha256()
            for at in range(0, result, _COMPARED_WHOLE):
                digest.update(cage.mem.read(args[index] + at, min(_COMPARED_WHOLE, result - at)))
            return b"sha256:" + digest.hexdigest().encode()
        data = cage.mem.read(args[index], result if size is None else size)
        if size == abi.STAT_SIZE:
            mode, length = _STAT_MODE_AND_SIZE.unpack(data[:_STAT_MODE_AND_SIZE.size])
            return struct.pack("<Iq", mode, length)
        if self.name == "getdents64":   # the names and types, in any order, any inodes
            return b"\0".join(sorted(_dirents(data)))
        return data

    def _same(self, args: Sequence[int], a: int, b: int, out_a: bytes | None,
              out_b: bytes | None) -> bool:
        if self._makes_fd(args) and a >= 0 and b >= 0:
            return True
        return a == b and out_a == out_b

    def _keep_fds(self, cage: Any, fds: dict[int, int], args: Sequence[int], a: int,
                  b: int) -> None:
        if self.name == "close" and a >= 0:
            fds.pop(abi.s32(args[0]), None)
        if not self._makes_fd(args):
            return
        if a >= 0:
            fds[a] = b if b >= 0 else -1    # B has no such file: its calls on it are EBADF
        elif b >= 0:                        # the program never learns of B's
            _answer(self.b[number("close")], cage, [b])


def _dirents(data: bytes) -> list[bytes]:
    """Each linux_dirent64 record of `data` as its type byte and name."""
    found, at = [], 0
    while at + 19 <= len(data):
        length = struct.unpack_from("<H", data, at + 16)[0]
        if length < 20:
            break
        found.append(data[at + 18:at + 19] + data[at + 19:at + length].split(b"\0", 1)[0])
        at += length
    return found


def _said(result: int, output: bytes | None) -> str:
    text = str(result) if result >= 0 else f"-{errno.errorcode.get(-result, -result)}"
    return text if output is None else f"{text} {output[:64]!r}"
