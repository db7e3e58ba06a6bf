"""File locks in cages (issue 10): fcntl record locks, OFD locks, flock and lockf, between
a cage and its children, between cages of one runtime, and against native processes.

Each program's cage run is compared with its native gcc build. Contests between two
programs (tests/programs/locks_host.c) are sequenced through two FIFOs in the shared
directory, never by sleeping: the holder says "held" once it holds its locks and lets
go when the test writes to `go`; the contender says "blocking" before it waits.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from test_attacks import Scratch

import lind
from lind.microvisor import lock_ranges

TIMEOUT = 60


def _compare(builds, tmp_path: Path, name: str) -> None:
    """Run `name` natively (in its own directory) and in a cage (the program inside the
    root, so it can exec itself by argv[0]); the outputs must be the same."""
    native_dir, root = tmp_path / "native", tmp_path / "root"
    native_dir.mkdir()
    root.mkdir()
    shutil.copy(builds.native(name), native_dir / name)
    shutil.copy(builds.wasm(name), root / name)
    scratch = Scratch(tmp_path, "native")
    fin, fout, ferr = scratch.open()
    with fin, fout, ferr:
        native = subprocess.run([f"./{name}"], cwd=native_dir, stdin=fin, stdout=fout,
                                stderr=ferr, timeout=TIMEOUT)
    expected, _ = scratch.text()
    scratch = Scratch(tmp_path, "cage")
    fin, fout, ferr = scratch.open()
    with fin, fout, ferr:
        caged = lind.run([root / name], root=root, stdin=fin, stdout=fout, stderr=ferr,
                         timeout=TIMEOUT)
    out, err = scratch.text()
    assert native.returncode == 0, expected
    assert (caged.returncode, err) == (0, "")
    assert out == expected


def test_locks_between_parent_and_child_match_native(builds, tmp_path):
    """Ranges, F_GETLK's pid, close releasing all, fork, exec, F_SETLKW, EINTR and
    SA_RESTART, EDEADLK, OFD locks, flock, lockf, and the errors of each."""
    _compare(builds, tmp_path, "locks")


def test_sqlite_locking_protocol_matches_native(builds, tmp_path):
    _compare(builds, tmp_path, "locks_sqlite")


# --------------------------------------------------------- two programs, one file

class Arena:
    """The shared directory: shared.dat and the FIFOs `sync` and `go`, held open
    read-write here so neither side's open ever waits."""

    def __init__(self, path: Path) -> None:
        path.mkdir()
        (path / "shared.dat").write_bytes(b"." * 200)
        os.mkfifo(path / "sync")
        os.mkfifo(path / "go")
        self.path = path
        self.sync = os.open(path / "sync", os.O_RDWR | os.O_NONBLOCK)
        self.go = os.open(path / "go", os.O_RDWR)
        self.pending = b""

    def line(self) -> str:
        while b"\n" not in self.pending:
            ready, _, _ = select.select([self.sync], [], [], TIMEOUT)
            assert ready, "the other side never reached its next point"
            self.pending += os.read(self.sync, 100)
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()

    def release(self) -> None:
        os.write(self.go, b"x")

    def close(self) -> None:
        os.close(self.sync)
        os.close(self.go)


Start = Callable[[str, Scratch], tuple[int, Callable[[], int]]]


def _native(builds, arena: Arena) -> Start:
    """Start the native build of locks_host in the arena: (pid, wait for its status)."""
    def start(mode: str, scratch: Scratch) -> tuple[int, Callable[[], int]]:
        fin, fout, ferr = scratch.open()
        with fin, fout, ferr:
            proc = subprocess.Popen([builds.native("locks_host"), mode], cwd=arena.path,
                                    stdin=fin, stdout=fout, stderr=ferr)
        return proc.pid, lambda: proc.wait(TIMEOUT)
    return start


def _caged(builds, arena: Arena, runtime: lind.Runtime) -> Start:
    """Start locks_host in a cage of `runtime` whose root is the arena: (its pid as
    cages of the runtime see it, wait for its status)."""
    def start(mode: str, scratch: Scratch) -> tuple[int, Callable[[], int]]:
        fin, fout, ferr = scratch.open()
        with fin, fout, ferr:
            cage = runtime.spawn(builds.wasm("locks_host"), [mode], root=str(arena.path),
                                 stdin=fin.fileno(), stdout=fout.fileno(),
                                 stderr=ferr.fileno())
        return cage.id, lambda: cage.wait(TIMEOUT)
    return start


def _contest(tmp_path: Path, tag: str, arena: Arena, hold: Start, contend: Start) -> str:
    """The holder takes its locks, the contender meets them and waits; the test lets the
    holder go. The contender's report, with the holder's pid written as HOLDER."""
    holder_out, contender_out = Scratch(tmp_path, f"{tag}-hold"), Scratch(tmp_path, tag)
    holder, wait_holder = hold("hold", holder_out)
    assert arena.line() == "held"
    _, wait_contender = contend("contend", contender_out)
    assert arena.line() == "blocking"
    arena.release()
    assert wait_holder() == 0
    assert wait_contender() == 0
    assert holder_out.text() == ("hold: ok\n", "")
    out, err = contender_out.text()
    assert err == ""
    return out.replace(f"pid={holder}\n", "pid=HOLDER\n")


def _native_reference(builds, tmp_path: Path) -> str:
    arena = Arena(tmp_path / "native-arena")
    try:
        out = _contest(tmp_path, "native", arena, _native(builds, arena), _native(builds, arena))
    finally:
        arena.close()
    assert "pid=HOLDER" in out and "setlkw 0: ok" in out, out
    return out


def test_cage_meets_native_locks(builds, tmp_path):
    """A native process's POSIX lock, OFD lock and flock stop a cage (F_GETLK names the
    native pid) and its F_SETLKW, flock and F_OFD_SETLKW wait until they go."""
    expected = _native_reference(builds, tmp_path)
    arena = Arena(tmp_path / "arena")
    try:
        out = _contest(tmp_path, "cage", arena, _native(builds, arena),
                       _caged(builds, arena, lind.Runtime()))
    finally:
        arena.close()
    assert out == expected


def test_native_process_meets_cage_locks(builds, tmp_path):
    """A cage's locks stop a native process the same way. The host holds a cage's POSIX
    locks as OFD locks (its own POSIX locks cannot tell cages apart), so a native
    F_GETLK reports them with pid -1."""
    expected = _native_reference(builds, tmp_path).replace("pid=HOLDER", "pid=-1")
    arena = Arena(tmp_path / "arena")
    try:
        out = _contest(tmp_path, "native", arena, _caged(builds, arena, lind.Runtime()),
                       _native(builds, arena))
    finally:
        arena.close()
    assert out == expected


def test_two_cages_of_one_runtime(builds, tmp_path):
    """Separate cages (not parent and child) contend as two processes do; F_GETLK names
    the holder by its pid as the runtime's cages see it."""
    expected = _native_reference(builds, tmp_path)
    arena = Arena(tmp_path / "arena")
    runtime = lind.Runtime()
    try:
        out = _contest(tmp_path, "cage", arena, _caged(builds, arena, runtime),
                       _caged(builds, arena, runtime))
    finally:
        arena.close()
    assert out == expected


def test_lock_table_is_bounded(builds, tmp_path):
    """A cage cannot grow the microvisor's lock table (nor the host's) without bound:
    ENOLCK past MAX_RANGES locks on a file, and closing the file gives them back."""
    root = tmp_path / "root"
    root.mkdir()
    scratch = Scratch(tmp_path, "many")
    fin, fout, ferr = scratch.open()
    with fin, fout, ferr:
        result = lind.run([builds.wasm("locks_many")], root=root, stdin=fin, stdout=fout,
                          stderr=ferr, timeout=120)
    assert result.returncode == 0
    assert scratch.text() == (f"{lock_ranges.MAX_RANGES} locks, then: No locks available\n"
                              "after close, the whole file: ok\n", "")
