"""3i as a grate sees it, step by step: the tests that kill the mutants of threei/ops.py
that the rest of the suite let through (see tests/mutation/SUMMARY.md).

The grate is the first cage of its run; its children ask 3i for what they may and may
not do, and each answer (a result or -errno) is compared with the rule.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys

import pytest
import wasmtime
from test_threei import _module, _Waiting

import lind
from lind.grates import Call, Grate, handles
from lind.threei import ops


def test_paths_a_python_grate_checked_reach_the_wasm_grate_below(builds, tmp_path):
    """The copies a Python grate forwards have cage ids of their own, never a real cage's
    (first in this file: the ids count from the start of the process)."""

    class Redirect(Grate):
        """Reads the path (a copy at its address goes down) or, for x.txt, passes another
        one (a copy at an address of its own, which the program's memory does not hold)."""

        @handles("open", "openat")
        def redirect(self, call: Call) -> int:
            path = 0 if call.name == "open" else 1
            if call.string(path) == b"/data/x.txt":
                return call.forward(*call.args[:path], call.put(b"/data/y.txt\0"))
            return call.forward()

    (tmp_path / "real").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "real" / "x.txt").write_text("real one\n")
    (tmp_path / "real" / "y.txt").write_text("another one\n")
    r = lind.run([str(builds.wasm("grates/cat_files"))] + ["/data/x.txt", "/data/z.txt"] * 3,
                 root=tmp_path, grates=[Redirect(), str(builds.wasm("grates/remap_grate"))],
                 capture_output=True, timeout=60, runtime=lind.Runtime())
    assert r.stdout == f"/data/x.txt: another one\n/data/z.txt: errno {errno.ENOENT}\n".encode() * 3, r.stderr


def test_what_a_grate_and_its_children_may_ask_of_3i(builds, tmp_path):
    r = lind.run([str(builds.wasm("mutants/threei_calls"))], root=tmp_path, capture_output=True,
                 timeout=60)
    eperm, esrch, enosys, einval = (-errno.EPERM, -errno.ESRCH, -errno.ENOSYS, -errno.EINVAL)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [
        "getpid for the child is the child's: yes",
        # a grate may name its children's memory, and its own (flagged) for a child
        "child--memory-16parent writes the child's memory: 16",
        "parent-memory-16",
        "parent writes its own memory for the child: 16",
        "read (call 0) through 3i: 4 read",
        f"write to a bad fd for the child: {-errno.EBADF}",
        f"call number 1024: {enosys}",
        f"call number 400 for the child: {enosys}",
        f"no such cage: {esrch}",
        "copy string of 7: 0 copied",
        f"copy string of 0: {-errno.ENAMETOOLONG}",
        f"copy empty string of 0: {-errno.ENAMETOOLONG} copied",   # nothing written
        "copy empty string of 1: 0 c",
        f"copy string of -1: {-errno.ENAMETOOLONG} c",
        f"copy string of 6: {-errno.ENAMETOOLONG}",
        "copy raw of 3: 0 copxxxx",
        f"copy type 2: {einval}",
        f"register call 1024: {einval}",
        f"register call -1: {einval}",
        f"register to grate 0: {esrch}",
        "register call 400 in the child: 0",
        "register in the child: 0",
        "route own call 401 into the sibling's code: 0",
        "own call 401 in the sibling's code: 81",
        "child getuid through the grate: 75",
        f"child routes getuid around the grate to itself: {eperm}",
        "deregister in the child: 0",
        "deregister call 400 in the child: 0",
        "child getuid after deregister is the grate's: no",
        f"child call 400 after deregister: -1 {errno.ENOSYS}",
        # a child may name its own memory only, and act for itself only
        "child--memory-16child own memory: 16",
        "child--memory-16",
        "child own memory, flagged: 16",
        f"child names its memory with bit 62: {esrch}",
        f"child names the sibling's memory: {eperm}",
        f"child names the parent's memory: {eperm}",
        f"child acts for the parent: {eperm}",
        f"child acts for the sibling: {eperm}",
        f"child routes call 402 into the sibling's code: {eperm}",
        "register in the middle: 0",
        f"middle takes the table of a child without the grate: {eperm}",
        "middle getuid: 75",
        "middle registers in its child: 0",
        f"middle removes the grate below it: {eperm}",
        "middle routes its child to the grate below: 0",
        "grandchild getuid: 77",
        "route own getuid to itself: 0",
        "own getuid: 78",
        "replace the child's route: 0",
        "last child getuid: 79",
    ]


def test_harsh_exit_handler_gets_the_cage_and_the_signal(builds, tmp_path):
    seen = []

    class Watch(Grate):
        @handles("harsh_exit")
        def died(self, call: Call) -> int:
            seen.append((call.cage.id, *call.args))
            return 0

    r = lind.run([str(builds.wasm("traps")), "segv"], root=tmp_path, capture_output=True,
                 timeout=60, grates=[Watch()])
    assert r.returncode == -signal.SIGSEGV
    assert len(seen) == 1
    cage_id = seen[0][0]
    assert seen == [(cage_id, cage_id, signal.SIGSEGV, 0, 0, 0, 0)]


def test_a_cage_may_route_a_call_to_its_grate_over_a_python_grate(builds, tmp_path):
    class Uid(Grate):
        @handles("getuid")
        def uid(self, call: Call) -> int:
            return 1234

    r = lind.run([str(builds.wasm("mutants/threei_calls")), "python"], root=tmp_path,
                 capture_output=True, timeout=60, grates=[Uid()])
    assert r.stdout.decode().splitlines() == [
        "grate copies its table to the child: 0",
        "child getuid: 1234", "child routes getuid to the grate: 0", "child getuid: 75"]


# Waits for one byte on stdin, then traps.
_TRAP_AFTER_READ = """
(module
  (import "lind" "syscall" (func $sc (param i32 i64 i64 i64 i64 i64 i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $sc (i32.const 0) (i64.const 0) (i64.const 200) (i64.const 1)
                    (i64.const 0) (i64.const 0) (i64.const 0)))
    unreachable))
"""


def test_host_calls_out_of_range_and_a_failing_harsh_exit_handler(tmp_path, capfd):
    """Through the host's API: call numbers outside the table, the result of installing
    a Python handler, and a harsh-exit handler that fails (reported; the cage still ends)."""
    rt = lind.Runtime()
    module = tmp_path / "trap.wasm"
    module.write_bytes(wasmtime.wat2wasm(_TRAP_AFTER_READ))
    in_r, in_w = os.pipe()
    cage = rt.spawn(module, root=str(tmp_path), stdin=in_r)
    os.close(in_r)
    me = cage.id
    assert ops.make_call(rt, None, me, -1, [0] * 6, [me] * 6) == -errno.ENOSYS
    with pytest.raises(ValueError):   # an argument without the cage its memory is in
        ops.make_call(rt, None, me, 1, [1], [me, 4242])
    with pytest.raises(OSError) as exc:
        ops.register_handler(rt, None, me, -1, 0, ops.python_handle(lambda *_: 0))
    assert exc.value.errno == errno.EINVAL

    def fail(*_: int) -> int:
        raise RuntimeError("handler bug")

    assert ops.register_handler(rt, None, me, ops.HARSH_EXIT, 0, ops.python_handle(fail)) == 0
    os.write(in_w, b"x")
    os.close(in_w)
    assert cage.wait(30) is not None
    err = capfd.readouterr().err
    assert f"harsh-exit handler of cage {me} failed: RuntimeError('handler bug')" in err


def test_host_call_for_one_cage_with_every_argument_in_another(tmp_path):
    rt = lind.Runtime()
    a = _Waiting(rt, _module(tmp_path, "a", "AAAAAAAAAAAAAAAA"), tmp_path)
    b = _Waiting(rt, _module(tmp_path, "b", "bbbbbbbbbbbbbbbb"), tmp_path)
    # write(1, A's bytes, 16) for B: fd and length are plain numbers whoever "owns" them.
    assert ops.make_call(rt, None, b.cage.id, 1, [1, 100, 16, 0, 0, 0], [a.cage.id] * 6) == 16
    assert a.release()[1] == b"AAAAAAAAAAAAAAAA"
    assert b.release()[1] == b"AAAAAAAAAAAAAAAA" + b"bbbbbbbbbbbbbbbb"


def test_make_threei_call_nests_64_deep_then_eloop(builds, tmp_path):
    """A grate whose handler calls itself through 3i: 64 nested calls on one thread, then
    ELOOP for the next, which every level returns — served by the C trampoline (here) and
    by the Python path (the ctypes trampoline, in a `lind run` of its own). Every level
    runs on the thread's one worker: within 4 MiB with the program's own stack linked
    at 1 MiB (a worker per level would need 64 stacks of 256 KiB)."""
    expected = (f"handlers run 64 deep; the call past them: {errno.ELOOP} (ELOOP is "
                f"{errno.ELOOP}); result {-errno.ELOOP}\n").encode()
    program = str(builds.wasm("mutants/nesting", "-Wl,-z,stack-size=1048576"))
    r = lind.run([program], root=tmp_path, capture_output=True, timeout=60, memory=4 << 20)
    assert (r.returncode, r.stdout, r.stderr) == (0, expected, b"")
    python_path = subprocess.run([sys.executable, "-m", "lind", "run", "--memory", "4M",
                                  "--root", tmp_path, program],
                                 env={**os.environ, "LIND_TRAMPOLINE": "ctypes"},
                                 capture_output=True, timeout=60)
    assert (python_path.returncode, python_path.stdout, python_path.stderr) == (0, expected, b"")
