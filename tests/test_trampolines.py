"""The C trampoline and its ctypes twin (`threei/fallback.py`, used where no compiler was
available at install) keep the same rules: each test runs its cages in a Python process
of its own under each, since the choice is made once per process (LIND_TRAMPOLINE).

Written for the fallback's surviving mutants (tests/mutation/SUMMARY.md): the bounds
of a Python grate's copy, when a cage's memory may be freed, the per-cage wake eventfd,
a wasm grate's workers, and values the entry hands back to the cage.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TRAMPOLINES = ["c", "ctypes"]


def _in_a_process(trampoline: str, script: str, *args: object, timeout: float = 120) -> str:
    """Run `script` (Python, with `args` in sys.argv[1:]) with the trampoline asked for;
    its stdout, after checking it ended well and ran on that trampoline."""
    env = {**os.environ, "LIND_TRAMPOLINE": "ctypes" if trampoline == "ctypes" else "accel"}
    prologue = ("import sys, lind\n"
                "from lind import threei\n"
                f"assert threei.ACCELERATED == {trampoline == 'c'}, 'not the trampoline asked for'\n")
    proc = subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(script),
                           *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("trampoline", TRAMPOLINES)
def test_a_python_grates_copy_holds_exactly_what_it_read(builds, tmp_path, trampoline):
    """The copy a Python grate passes down stands for the caller's bytes at their own
    address, read-only: a wasm grate below reads all of it and nothing around it, and
    nothing — a copy, read(2), pread(2) — writes into it."""
    script = """
        from lind.grates import Call, Grate, handles

        class Reader(Grate):
            @handles("open", "openat")
            def read_path(self, call: Call) -> int:
                call.string(0 if call.name == "open" else 1)
                return call.forward()

        r = lind.run(sys.argv[1:3], root=sys.argv[3], grates=[Reader(), sys.argv[4]],
                     capture_output=True, timeout=60)
        sys.stdout.write(r.stdout.decode() + r.stderr.decode() + f"status {r.returncode}\\n")
    """
    out = _in_a_process(trampoline, script, builds.wasm("grates/cat_files"), "/probe", tmp_path,
                        builds.wasm("mutants/snapshot_probe"))
    efault = -errno.EFAULT
    assert out.splitlines() == [
        "the whole copy: 0 /probe",
        f"one byte more: {efault}",
        f"the byte below: {efault}",
        "the last byte: 0",
        "nothing at its start: 0",
        "nothing at its end: 0",
        f"length -1: {efault}",
        "the string: 0 /probe",
        f"a copy into it: {efault}",
        "write(2) from it: 6, the pipe holds 6 /probe",
        f"read(2) into it: {efault}",
        f"read(2) of nothing into it: {efault}",   # a copy is never written, even by 0 bytes
        f"pread(2) into it: {efault}",
        f"read(2) of a file into it: {efault}",
        "pwrite(2) from it: 6",
        "the file: ab/probe",
        f"/probe: errno {errno.ENOENT}",
        "status 0",
    ]


@pytest.mark.parametrize("trampoline", TRAMPOLINES)
@pytest.mark.parametrize("kind", ["lind-cc", "wasi"])
def test_an_ended_cages_memory_and_wake_fd_go_when_nothing_uses_them(builds, tmp_path,
                                                                     trampoline, kind):
    """A cage that waited for stdin holds no eventfd once it ended, even while its
    object is kept; its memory, still held, answers ESRCH; its pages stay while a view
    of them lives (a host call may be using it) and go with the last one. Pages are a
    shared memory for programs built by lind cc, the Store's own for WASI ones."""
    script = """
        import errno, gc, os, time, weakref

        def eventfds():
            n = 0
            for fd in os.listdir("/proc/self/fd"):
                try:
                    n += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[eventfd]"
                except OSError:
                    pass
            return n

        before = eventfds()
        out = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        r, w = os.pipe()
        cage = lind.Runtime().spawn(sys.argv[1], root=sys.argv[2], stdin=r, stdout=out, stderr=out)
        os.close(r)
        deadline = time.monotonic() + 60
        while eventfds() == before and time.monotonic() < deadline:   # until it waits
            time.sleep(0.01)
        print("waiting with an eventfd:", eventfds() > before)
        mem = cage.mem
        pages = weakref.ref(cage.shared_memory or cage.store)
        view = mem.view(65536, 16)
        os.close(w)
        print("status", cage.wait(60))
        print("eventfds left:", eventfds() - before)
        try:
            mem.read(65536, 1)
        except OSError as exc:
            print("its memory read after the end:", errno.errorcode[exc.errno])
        del cage
        gc.collect()
        print("pages kept for a view:", pages() is not None, len(view))
        del view
        gc.collect()
        print("pages gone after it:", pages() is None)
        r, w = os.pipe()
        cage = lind.Runtime().spawn(sys.argv[1], root=sys.argv[2], stdin=r, stdout=out, stderr=out)
        os.close(r)
        mem, pages = cage.mem, weakref.ref(cage.shared_memory or cage.store)
        os.close(w)
        cage.wait(60)
        del cage
        gc.collect()
        print("without a view, pages gone with the cage:", pages() is None)
    """
    program = builds.wasm("stdin_echo") if kind == "lind-cc" else builds.wasi("stdio")
    out = _in_a_process(trampoline, script, program, tmp_path, tmp_path / "out.txt")
    assert out.splitlines() == ["waiting with an eventfd: True", "status 0", "eventfds left: 0",
                                "its memory read after the end: ESRCH",
                                "pages kept for a view: True 16", "pages gone after it: True",
                                "without a view, pages gone with the cage: True"]


@pytest.mark.parametrize("trampoline", TRAMPOLINES)
def test_a_wasm_grate_reuses_its_workers_and_leaves_no_store(builds, tmp_path, trampoline):
    """Handlers of one grate called one after another run on one worker (each worker
    costs a Store and a 256 KiB stack in the grate's memory: a new one per call would
    exhaust the tree's 48 MiB); calls at once get workers of their own. After the run
    no Store of the grate, its workers or the program is left."""
    script = """
        import gc, wasmtime

        def stores():
            gc.collect()
            return sum(isinstance(o, wasmtime.Store) for o in gc.get_objects())

        before = stores()
        for procs, calls in ((1, 2000), (3, 300)):
            r = lind.run([sys.argv[1], sys.argv[2], str(procs), str(calls)], root=sys.argv[3],
                         memory=48 << 20, capture_output=True, timeout=120)
            print(r.returncode, r.stdout.decode().strip(), r.stderr.decode().strip() or "-")
        print("stores left:", stores() - before)
    """
    out = _in_a_process(trampoline, script, builds.wasm("grates/geteuid_grate"),
                        builds.wasm("grates/euid_storm"), tmp_path)
    assert out.splitlines() == ["0 1 processes x 2000 calls, 0 failed -",
                                "0 3 processes x 300 calls, 0 failed -", "stores left: 0"]


@pytest.mark.parametrize("trampoline", TRAMPOLINES)
def test_the_entrys_edge_values_answer_as_linux(builds, tmp_path, trampoline):
    """Call numbers past the table, fds past any table, negative 64-bit offsets: as
    Linux answers them, served by the trampoline's fast entries and, under a C grate
    that forwards every call (strace), by the handlers through 3i."""
    native = subprocess.run([builds.native("mutants/entry_edges")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert native.returncode == 0 and "lseek(-2, SEEK_END): 6" in native.stdout
    env = {**os.environ, "LIND_TRAMPOLINE": "ctypes" if trampoline == "ctypes" else "accel"}
    program = str(builds.wasm("mutants/entry_edges"))
    for grates in ([], ["--grate", f"strace:-o {tmp_path / 'trace.txt'}"]):
        caged = subprocess.run([sys.executable, "-m", "lind", "run", "--root", str(tmp_path),
                                *grates, "--", program], capture_output=True, text=True,
                               env=env, timeout=120, stdin=subprocess.DEVNULL)
        assert (caged.returncode, caged.stdout, caged.stderr) == (0, native.stdout, ""), grates
    trace = (tmp_path / "trace.txt").read_text()
    assert "lseek(3, -2, SEEK_END) = 6\n" in trace
    assert f"lseek(3, {-(1 << 62)}, SEEK_CUR) = -1 EINVAL" in trace   # all 64 bits shown
    assert ", 1, -1) = -1 EINVAL" in trace and f", 1, {-(1 << 62)}) = -1 EINVAL" in trace


@pytest.mark.parametrize("trampoline", TRAMPOLINES)
def test_a_handler_that_raises_stops_only_its_cage(tmp_path, trampoline):
    """A Python handler that fails with something other than OSError is a bug: the cage
    whose call it served ends with SIGSYS and the bug is reported; the host goes on."""
    script = """
        import contextlib, io, signal
        from pathlib import Path
        sys.path.insert(0, sys.argv[1])
        from test_threei import _module, _Waiting
        from lind.threei import ops

        def broken(cage, *args):
            raise RuntimeError("a bug in a handler")

        rt, where, said = lind.Runtime(), Path(sys.argv[2]), io.StringIO()
        with contextlib.redirect_stderr(said):
            cage = _Waiting(rt, _module(where, "w", "0123456789abcdef"), where)
            ops.register_handler(rt, None, cage.cage.id, 39, 0, ops.python_handle(broken))
            status, out = cage.release()
        print(out.decode(), "killed by", signal.Signals(status & 0x7F).name)
        print("reported:", "internal error in cage" in said.getvalue(),
              "RuntimeError: a bug in a handler" in said.getvalue())
        again = _Waiting(rt, _module(where, "v", "fedcba9876543210"), where)
        print("the next cage:", again.release())
    """
    out = _in_a_process(trampoline, script, Path(__file__).parent, tmp_path)
    assert out.splitlines() == ["0123456789abcdef killed by SIGSYS", "reported: True True",
                                "the next cage: (512, b'fedcba9876543210')"]


@pytest.mark.parametrize("trampoline", TRAMPOLINES)
def test_a_handler_of_a_grate_that_ended_is_enosys(builds, tmp_path, trampoline):
    env = {**os.environ, "LIND_TRAMPOLINE": "ctypes" if trampoline == "ctypes" else "accel"}
    caged = subprocess.run([sys.executable, "-m", "lind", "run", "--root", str(tmp_path),
                            str(builds.wasm("mutants/dead_grate"))], capture_output=True,
                           text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert (caged.returncode, caged.stderr) == (0, "")
    assert caged.stdout == ("geteuid while the grate lives: 42 \n"
                            "geteuid after the grate ended: -1 Function not implemented\n")


@pytest.mark.parametrize("trampoline", TRAMPOLINES)
def test_jump_points_of_a_forking_program_match_native(builds, tmp_path, trampoline):
    """setjmp and longjmp carried by Asyncify (the program forks): an outermost point
    outliving 7,000 newer ones (plain LRU forgot it: the longjmp found nothing and the
    program trapped), a TRY macro saving one global jmp_buf by its bytes, a child jumping
    to its parent's point, threads jumping at once. The C trampoline runs them itself
    after each instance's first; the ctypes one through the handlers; both as gcc's."""
    native = subprocess.run([builds.native("jump_points")], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    script = """
        r = lind.run([sys.argv[1]], root=sys.argv[2], capture_output=True, timeout=120)
        sys.stdout.write(r.stdout.decode() + r.stderr.decode() + f"status {r.returncode}\\n")
    """
    out = _in_a_process(trampoline, script, builds.wasm("jump_points"), tmp_path)
    assert native.returncode == 0 and "top-level handler got 3 at stage 2" in native.stdout
    assert out == native.stdout + "status 0\n"


def test_polls_selects_accesses_readlinks_and_renames_of_host_files_stay_in_c(builds, tmp_path):
    """What the C trampoline serves of poll, select (musl's pselect6), access, readlink,
    unlink, rmdir and rename, and the *at calls from a directory's fd, never reaches the
    microvisor's handler: a fast path that gives up hands the call to Python, which
    answers the same, only ~20x slower, so no other test sees it."""
    (tmp_path / "root").mkdir()
    native = subprocess.run([str(builds.native("fast_calls"))], cwd=tmp_path,
                            capture_output=True, timeout=60)
    out = _in_a_process("c", """
        import dataclasses
        from lind.microvisor import table
        counts = {}
        for nr, sc in list(table.SYSCALLS.items()):
            if sc.name in ("poll", "pselect6", "access", "faccessat", "readlink", "readlinkat",
                           "unlink", "rmdir", "unlinkat", "rename", "renameat", "newfstatat",
                           "openat"):
                def counted(*args, _impl=sc.impl, _name=sc.name):
                    counts[_name] = counts.get(_name, 0) + 1
                    return _impl(*args)
                table.SYSCALLS[nr] = dataclasses.replace(sc, impl=counted)
        done = lind.run([sys.argv[1]], root=sys.argv[2], capture_output=True, timeout=60)
        print(done.returncode, done.stdout.decode().strip(), sorted(counts.items()))
        """, builds.wasm("fast_calls"), tmp_path / "root")
    # (the one openat: its O_PATH open of "dir", which the microvisor makes)
    assert out.strip() == f"0 {native.stdout.decode().strip()} [('openat', 1)]"
