"""3i: handlers replace table entries, calls carry per-argument cage ids, memories are
copied with bounds checks. Cages here are tiny hand-written modules, so the test
controls exactly which calls they make."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading

import pytest
import wasmtime

import lind
import lind.threei
from lind.threei import ops

# Waits for one byte on stdin, writes memory[100:116] to stdout, exits with getpid().
_WAITER = """
(module
  (import "lind" "syscall" (func $sc (param i32 i64 i64 i64 i64 i64 i64) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 100) "%s")
  (func (export "_start")
    (drop (call $sc (i32.const 0) (i64.const 0) (i64.const 200) (i64.const 1)
                    (i64.const 0) (i64.const 0) (i64.const 0)))
    (drop (call $sc (i32.const 1) (i64.const 1) (i64.const 100) (i64.const 16)
                    (i64.const 0) (i64.const 0) (i64.const 0)))
    (drop (call $sc (i32.const 231)
                    (call $sc (i32.const 39) (i64.const 0) (i64.const 0) (i64.const 0)
                              (i64.const 0) (i64.const 0) (i64.const 0))
                    (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)))))
"""


def _module(tmp_path, name, text16):
    assert len(text16) == 16
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(_WAITER % text16))
    return path


class _Waiting:
    """A cage blocked on its stdin until release(); its stdout is collected."""

    def __init__(self, rt, path, root):
        self.in_r, self.in_w = os.pipe()
        self.out_r, self.out_w = os.pipe()
        self.cage = rt.spawn(path, root=str(root), stdin=self.in_r, stdout=self.out_w)
        os.close(self.in_r)
        os.close(self.out_w)

    def release(self):
        os.write(self.in_w, b"x")
        os.close(self.in_w)
        status = self.cage.wait(30)
        out = os.read(self.out_r, 100)
        os.close(self.out_r)
        return status, out


def test_handler_replaces_fast_entry_and_deregisters(tmp_path):
    rt = lind.Runtime()
    path = _module(tmp_path, "w", "0123456789abcdef")
    seen = []

    def fake_getpid(cage, *args):
        seen.append(cage.id)
        return 42

    a = _Waiting(rt, path, tmp_path)
    ops.register_handler(rt, None, a.cage.id, 39, 0, ops.python_handle(fake_getpid))
    status, out = a.release()
    assert out == b"0123456789abcdef"
    assert status == 42 << 8 and seen == [a.cage.id]

    b = _Waiting(rt, path, tmp_path)
    ops.register_handler(rt, None, b.cage.id, 39, 0, ops.python_handle(fake_getpid))
    ops.register_handler(rt, None, b.cage.id, 39, ops.DEREGISTER, 0)
    status, _ = b.release()
    assert status == (b.cage.id & 0xFF) << 8


def test_copy_between_cages_and_forwarded_buffer(tmp_path):
    rt = lind.Runtime()
    a = _Waiting(rt, _module(tmp_path, "a", "AAAAAAAAAAAAAAAA"), tmp_path)
    b = _Waiting(rt, _module(tmp_path, "b", "bbbbbbbbbbbbbbbb"), tmp_path)
    # Sibling cages may not touch each other; the host may.
    with pytest.raises(OSError) as exc:
        ops.copy_data_between_cages(rt, a.cage, 100, a.cage.id, 100, b.cage.id, 4, ops.COPY_RAW)
    assert exc.value.errno == errno.EPERM
    with pytest.raises(OSError) as exc:
        ops.copy_data_between_cages(rt, None, 65530, a.cage.id, 100, b.cage.id, 16, ops.COPY_RAW)
    assert exc.value.errno == errno.EFAULT
    assert ops.copy_data_between_cages(rt, None, 100, a.cage.id, 104, b.cage.id, 4,
                                       ops.COPY_RAW) == 4
    # write(1, <16 bytes of A's memory>, 16) made on behalf of B: lands on B's stdout.
    n = ops.make_call(rt, None, b.cage.id, 1, [1, 100, 16, 0, 0, 0],
                      [b.cage.id, a.cage.id, b.cage.id, b.cage.id, b.cage.id, b.cage.id])
    assert n == 16
    _, out_a = a.release()
    _, out_b = b.release()
    assert out_a == b"AAAAAAAAAAAAAAAA"
    assert out_b == b"AAAAAAAAAAAAAAAA" + b"bbbbAAAAbbbbbbbb"


def test_table_copy_and_unknown_cage(tmp_path):
    rt = lind.Runtime()
    path = _module(tmp_path, "t", "0123456789abcdef")
    a, b = _Waiting(rt, path, tmp_path), _Waiting(rt, path, tmp_path)
    ops.register_handler(rt, None, a.cage.id, 39, 0, ops.python_handle(lambda cage, *_: 7))
    ops.copy_handler_table_to_cage(rt, None, a.cage.id, b.cage.id)
    assert a.release()[0] == 7 << 8
    assert b.release()[0] == 7 << 8
    with pytest.raises(OSError) as exc:
        ops.make_call(rt, None, 99999, 39, [0] * 6, [0] * 6)
    assert exc.value.errno == errno.ESRCH


def test_a_snapshot_is_never_a_grate(tmp_path):
    """The bytes a Python grate read stand in for the caller's memory as a snapshot
    "cage" counted as the caller's child; the caller may route calls into a child's
    code, but a snapshot has none: ESRCH, as for any id that is not a cage."""
    rt = lind.Runtime()
    a = _Waiting(rt, _module(tmp_path, "s", "0123456789abcdef"), tmp_path)
    copy = ops.snapshot(a.cage, b"/tmp\0", 100)
    with pytest.raises(OSError) as exc:
        ops.register_handler(rt, a.cage, a.cage.id, 39, copy.cage_id, 1)
    assert exc.value.errno == errno.ESRCH
    assert a.release()[0] == (a.cage.id & 0xFF) << 8


@pytest.mark.parametrize(("mode", "accelerated"), [("c", True), ("ctypes", False)])
def test_the_trampoline_asked_for_is_the_one_that_runs(mode, accelerated):
    """The C trampoline is built at install (CI installs with a compiler): a missing
    build must fail here, not turn the C-vs-ctypes comparisons into ctypes-vs-ctypes."""
    proc = subprocess.run([sys.executable, "-c", "import lind.threei as t; print(t.ACCELERATED)"],
                          env={**os.environ, "LIND_TRAMPOLINE": mode}, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout == f"{accelerated}\n", proc.stderr


def test_this_run_uses_the_c_trampoline_unless_told_otherwise():
    expected = os.environ.get("LIND_TRAMPOLINE") != "ctypes"
    assert lind.threei.ACCELERATED is expected


def test_without_the_c_trampoline_lind_says_so_once(tmp_path):
    """An install without a compiler has no `_accel`: cages still run, through the ctypes
    twin, and Lind says once (not per cage, and never when the C one is there) that
    they run slower."""
    wasm = _module(tmp_path, "w", "sixteen bytes ok")
    script = (
        "import sys\n"
        "if sys.argv[1] == 'missing':\n"
        "    sys.modules['lind.threei._accel'] = None   # its import then raises ImportError\n"
        "import lind, lind.threei\n"
        "print(lind.threei.ACCELERATED, flush=True)\n"
        "for _ in range(2):\n"
        "    done = lind.run([sys.argv[2]], input=b'x', capture_output=True)\n"
        "    print(done.stdout.decode(), flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LIND_TRAMPOLINE"}
    for build, accelerated, said in (("missing", False, 1), ("built", True, 0)):
        proc = subprocess.run([sys.executable, "-c", script, build, str(wasm)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == f"{accelerated}\nsixteen bytes ok\nsixteen bytes ok\n"
        assert proc.stderr.count("C trampoline not available") == said, proc.stderr


def _jump_points_kinds():
    from lind.threei import _accel, fallback
    return [_accel.JumpPoints, fallback.JumpPoints]


@pytest.mark.parametrize("kind", _jump_points_kinds(), ids=["c", "python"])
def test_the_jump_points_of_a_tree_share_its_most(kind):
    """A fork's copy shares its tree's most of frames, each frames object counted once:
    past it a save forgets the cage's own oldest points first, and fails (MemoryError,
    the cage ends) when that frees nothing."""
    points = kind(1, 4, 1000, 100)
    points.save(b"x" * 60, 1, 8)
    copy = points.copy()                    # shares x: 60 held
    with pytest.raises(MemoryError):
        copy.save(b"y" * 60, 1, 16)         # its oldest, x, is points' too
    assert len(copy) == 0 and len(points) == 1
    del copy
    assert points.save(b"y" * 30, 1, 16)    # 90 held
    points.clear()
    assert points.save(b"z" * 100, 1, 24)   # all of it, once nothing else is held


@pytest.mark.parametrize("kind", _jump_points_kinds(), ids=["c", "python"])
def test_a_cages_threads_setjmp_and_longjmp_at_once(kind):
    """Eight threads saving and taking points of one cage: the Python points raised
    KeyError (two threads forgetting the same oldest point) before they took a lock."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    points, failed = kind(1, 64, 64_000, 1 << 20), []

    def setjmps(k: int) -> None:
        try:
            for i in range(20000):
                token = points.save(bytes(100 + i % 7), 1000 - i % 50, (k * 100 + i % 90) * 16)
                points.take(token)
                points.take(token - 3)
        except Exception as exc:  # noqa: BLE001 - what the test counts
            failed.append(exc)

    threads = [threading.Thread(target=setjmps, args=(k,)) for k in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert failed == [] and len(points) == 64


@pytest.mark.parametrize("kind", _jump_points_kinds(), ids=["c", "python"])
def test_jump_points_forget_the_points_of_returned_functions_first(kind):
    """1,024 points (limits.JUMP_POINTS), the least recently used going first; a setjmp into a jmp_buf at
    the depth of its previous point (or above) puts that one first in line, a deeper
    one (a nested TRY over one jmp_buf) leaves it; 16 MiB of frames at most; fork's
    copy keeps tokens and goes its own way; exec's clear keeps counting."""
    points = kind(100, 1024, 16 << 20, 64 << 20)
    top = points.save(b"t" * 10, 5000, 8)
    first = points.save(b"p", 4000, 16)
    assert (top, first) == (100, 101)
    for _ in range(3000):                      # protected calls at one depth
        last = points.save(b"p", 4000, 16)
    outer = points.save(b"o", 5000, 24)
    for _ in range(3000):                      # TRYs below it, over the same jmp_buf
        points.save(b"n", 3000, 24)
    assert len(points) == 1024
    assert points.take(top) == (b"t" * 10, 5000) and points.take(outer) == (b"o", 5000)
    assert last in points and points.take(12345) is None

    copy = points.copy()
    assert points.take(outer) == copy.take(outer) and len(copy) == 1024
    newer = copy.save(b"c", 1, 40)
    assert newer == points.save(b"d", 1, 40) and copy.take(newer) == (b"c", 1)
    for _ in range(1100):                      # fresh buffers: plain LRU
        copy.save(b"x", 2, 48 + 8 * _)
    assert top not in copy and top in points   # taken since: still there

    points.clear()
    assert len(points) == 0 and points.save(b"", 0, 8) == newer + 1
    big = kind(1, 1024, 16 << 20, 64 << 20)
    for i in range(70):                        # 256 KiB each: 64 fit
        big.save(bytes(256 * 1024), i, 8 * i)
    assert len(big) == 64 and 1 not in big and 70 in big
    few = kind(1, 3, 1 << 20, 64 << 20)
    tokens = [few.save(b"f", 1, 8 * i) for i in range(5)]
    assert [t in few for t in tokens] == [False, False, True, True, True]


def _slot_kinds():
    from lind.threei import _accel, fallback
    return [_accel.Slot, fallback.Slot]


@pytest.mark.parametrize("kind", _slot_kinds(), ids=["c", "python"])
def test_an_ended_cages_slot_answers_esrch_without_its_handlers(kind):
    """Once its cage has ended (forget_cage), a call a grate still makes through the
    slot is ESRCH: no handler runs with the cage gone."""
    seen = []
    cage = object()
    slot = kind(cage)
    slot.set(500, lambda c, *args: seen.append(c) or 7, lind.threei.FAST_NONE)
    assert slot.call(500) == 7 and seen == [cage]
    slot.forget_cage()
    assert slot.call(500) == -errno.ESRCH and seen == [cage]


def test_a_read_racing_a_close_never_takes_another_pipes_twin():
    """The trampoline reads a pipe that must wait through its blocking twin. A read holds
    the host fd it took from the cage's mirror, but the description id beside it may
    already be stale: another thread of the cage closed the pipe, and the id went to
    another tenant's pipe. The state that read sees is made here at once (the mirror
    names the cage's own pipe and the other pipe's id): the read must not take the other
    pipe's twin and return its bytes (the twin was looked up by description id). Where
    the trampoline has no blocking reads (not x86_64) the read is the host fd's alone,
    and must return the same."""
    from lind.engine.wasmtime_engine import SharedMemory, engine
    from lind.microvisor import abi
    from lind.microvisor.fdtable import NonBlockingHostFile
    from lind.threei import _accel

    files, ends = [], []
    for data in (b"SECRET", b"mine"):
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        f = NonBlockingHostFile(read_fd, abi.O_RDONLY)
        f.read_blocking_too()
        os.write(write_fd, data)
        files.append(f)
        ends.append(write_fd)
    tenants, own = files
    shared = SharedMemory.of_pages(engine(), 1, 1)
    slot = _accel.Slot(None)
    try:
        memory = _accel.Memory.shared(shared.address(), shared)
        slot.set_memory(memory)
        slot.set(0, lambda *_: -errno.ENOSYS, lind.threei.FAST_READ)
        slot.set_signals_quiet(True)      # no signal pending: the read may wait in C
        slot.mirror_fd(3, own.host_fd, True, False, lind.threei.IO_NONBLOCKING,
                       tenants.description)
        assert slot.call(0, 3, 1024, 16) == len(b"mine")
        assert memory.read(1024, 4) == b"mine"
    finally:
        slot.mirror_fd(3, -1, False, False)
        slot.close_wake()
        for f in files:
            f.release()
        for fd in ends:
            os.close(fd)


class _ThenRun:
    """A stand-in for a lock that runs `between` (once) right after it is let go: what
    other threads may do at that point, made to happen there."""

    def __init__(self, real, between):
        self.real, self.between = real, between

    def __enter__(self):
        self.real.acquire()

    def __exit__(self, *exc):
        self.real.release()
        between, self.between = self.between, None
        if between is not None:
            between()


def test_a_closed_file_s_late_fcntl_leaves_the_next_owner_of_its_id_alone(monkeypatch):
    """How the trampoline waits on a pipe or socket is kept by description id. A thread
    that got a file before another thread closed it may still set its O_NONBLOCK
    (fcntl's F_SETFL): that must not reach the id once it is freed and another tenant's
    new file has it. Here the other tenant's file is made, and the late F_SETFL made, as
    the closing thread lets go of the id; a read of the tenant's empty non-blocking pipe
    must still be EAGAIN, not a wait (which the handler would have been asked for)."""
    from lind.engine.wasmtime_engine import SharedMemory, engine
    from lind.microvisor import abi, fdtable
    from lind.microvisor.fdtable import NonBlockingHostFile
    from lind.threei import _accel

    ends, made = [], []
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    ends.append(write_fd)
    closed = NonBlockingHostFile(read_fd, abi.O_RDONLY | abi.O_NONBLOCK)

    def meanwhile():
        r, w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        ends.append(w)
        made.append(NonBlockingHostFile(r, abi.O_RDONLY | abi.O_NONBLOCK))
        closed.set_status_flags(0)           # the late F_SETFL: blocking

    freed = closed.description
    monkeypatch.setattr(fdtable, "_descriptions_lock",
                        _ThenRun(fdtable._descriptions_lock, meanwhile))
    closed.release()
    monkeypatch.undo()
    tenants = made[0]
    assert freed and tenants.description == freed     # the id went to the tenant's file
    shared = SharedMemory.of_pages(engine(), 1, 1)
    slot = _accel.Slot(None)
    try:
        slot.set_memory(_accel.Memory.shared(shared.address(), shared))
        slot.set(0, lambda *_: -errno.ENOSYS, lind.threei.FAST_READ)
        slot.mirror_fd(3, tenants.host_fd, True, False, lind.threei.IO_NONBLOCKING,
                       tenants.description)
        assert slot.call(0, 3, 1024, 16) == -errno.EAGAIN
    finally:
        slot.mirror_fd(3, -1, False, False)
        slot.close_wake()
        tenants.release()
        for fd in ends:
            os.close(fd)


def test_a_copy_within_a_protected_memory_overlaps_as_memmove():
    """copy_from lets Python's lock go between pieces when the source has mprotect
    ranges: a copy up the same memory over itself (a grate's copy_data_between_cages from
    a cage to itself) still reads every piece before it is written over."""
    from lind.engine.wasmtime_engine import SharedMemory, engine
    from lind.threei import _accel

    shared = SharedMemory.of_pages(engine(), 64, 64)      # 4 MiB
    memory = _accel.Memory.shared(shared.address(), shared)
    data = bytes(range(256)) * (1 << 12)                  # 1 MiB
    memory.write(0x10000, data)
    assert memory.protect(0x300000, 4096, 0)               # PROT_NONE, away from the copy
    memory.copy_from(memory, 0x10000, 0x10000 + 4096 * 3 + 5, len(data))
    assert memory.read(0x10000 + 4096 * 3 + 5, len(data)) == data
    memory.write(0x200000, data)
    memory.copy_from(memory, 0x200000, 0x200000 - 4096 * 7 - 3, len(data))
    assert memory.read(0x200000 - 4096 * 7 - 3, len(data)) == data
    memory.clear_protections()
