"""Unmodified WASI preview-1 programs in cages, every call through 3i.

Each program in programs/wasi/ is built once per session with plain
`zig cc -target wasm32-wasi` and run twice: in a Lind cage, and under wasmtime-py's
own WASI as the reference "other WASI runtime". Output, exit status and the files
left behind must match.
"""

from __future__ import annotations

import errno
import os
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime
from conftest import CANARY, Builds

import lind
from lind.microvisor import table as microvisor_table
from lind.threei import FAST_NONE

ENV = {"GREETING": "hi there", "EMPTY": ""}


@pytest.fixture(scope="session")
def wasi(builds: Builds) -> Callable[[str], Path]:
    """Plain wasm32-wasi builds of programs/wasi/NAME.c, cached like every test program."""
    return builds.wasi


def wat_module(tmp_path: Path, name: str, text: str) -> Path:
    out = tmp_path / f"{name}.wasm"
    out.write_bytes(wasmtime.wat2wasm(text))
    return out


# ------------------------------------------------------------------ runners
def run_reference(wasm: Path, args: list[str], root: Path, env: dict[str, str],
                  stdin: bytes = b"") -> tuple[int | str, bytes, bytes]:
    """Run under wasmtime-py's WASI with `root` preopened as "/": (status, stdout, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        out, err, inp = (os.path.join(tmp, n) for n in ("out", "err", "in"))
        Path(inp).write_bytes(stdin)
        config = wasmtime.WasiConfig()
        config.argv = [wasm.name, *args]
        config.env = list(env.items())
        config.preopen_dir(str(root), "/")
        config.stdout_file, config.stderr_file, config.stdin_file = out, err, inp
        engine = wasmtime.Engine()
        store = wasmtime.Store(engine)
        store.set_wasi(config)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm)))
        try:
            instance.exports(store)["_start"](store)
            status: int | str = 0
        except wasmtime.ExitTrap as exc:
            status = exc.code
        except wasmtime.Trap:
            status = "trap"
        return status, Path(out).read_bytes(), Path(err).read_bytes()


def run_lind(wasm: Path, args: list[str], root: Path, env: dict[str, str],
             stdin: bytes = b"", **kw) -> tuple[int | str, bytes, bytes]:
    result = lind.run([wasm, *args], root=root, env=env, input=stdin, capture_output=True,
                      timeout=60, **kw)
    # A wasm trap (`unreachable`, as abort() is in wasi-libc) ends a cage with SIGILL.
    status = "trap" if result.returncode == -4 and result.trap else result.returncode
    return status, result.stdout, result.stderr


def tree(root: Path) -> dict[str, tuple]:
    """What a program left behind: type, size, contents or link target of every entry."""
    found: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = ("dir",)
            else:
                data = path.read_bytes()
                found[rel] = ("file", len(data), data if len(data) < 4096 else hash(data))
    return found


# ------------------------------------------------------ compared with wasmtime
COMPARED = [
    ("args_env", [], b""),
    ("args_env", ["two words", "", "x"], b""),
    ("args_env", ["exit", "42"], b""),
    ("args_env", ["_exit", "7"], b""),
    ("args_env", ["return", "3"], b""),
    ("args_env", ["abort"], b""),
    ("files", [], b""),
    ("dirs", [], b""),
    ("links", [], b""),
    ("clock_random", [], b""),
    ("raw", [], b""),
    ("edges", [], b""),
    ("memory", [], b""),
    ("stdio", [], b"alpha\nbeta\ngamma\n"),
    ("stdio", [], b""),
]


@pytest.mark.parametrize(("name", "args", "stdin"), COMPARED,
                         ids=[f"{c[0]}-{'-'.join(c[1]) or 'noargs'}-{len(c[2])}" for c in COMPARED])
def test_matches_wasmtime_wasi(wasi, tmp_path, name, args, stdin):
    wasm = wasi(name)
    (tmp_path / "ref").mkdir()
    (tmp_path / "cage").mkdir()
    expected = run_reference(wasm, args, tmp_path / "ref", ENV, stdin)
    got = run_lind(wasm, args, tmp_path / "cage", ENV, stdin)
    assert got[1].decode() == expected[1].decode()
    assert got[2].decode() == expected[2].decode()
    assert got[0] == expected[0]
    assert b"FAIL" not in got[1]
    assert tree(tmp_path / "cage") == tree(tmp_path / "ref")


@pytest.mark.parametrize(("given", "seen"), [
    (b"", "ready=1 in=0 end=1 bytes=0"),
    (b"line\n", "ready=1 in=1 end=1 bytes=5"),
    (b"x" * 200_000, "ready=1 in=1 end=0 bytes=200000"),
])
def test_input_is_waiting_at_the_program_s_first_look(builds, tmp_path, given, seen):
    """`input` is in the pipe (and its end, when it all fits) before the program starts:
    a poll that does not wait finds it, however late the run's pump thread gets going
    (the stdio comparison above once saw stdin not yet readable under load)."""
    caged = lind.run(str(builds.wasm("stdin_poll")), root=tmp_path, input=given,
                     capture_output=True, timeout=60)
    assert (caged.returncode, caged.stdout.decode().strip()) == (0, seen)


def test_programs_really_ran(wasi, tmp_path):
    """Guard against two runtimes agreeing on nothing: the outputs say what was done."""
    status, out, _ = run_lind(wasi("files"), [], tmp_path, ENV)
    assert status == 0 and out.endswith(b"done\n")
    assert b"content=hello world\n" in out and b"readv: ab|cdef|gh\n" in out
    status, out, _ = run_lind(wasi("args_env"), ["exit", "42"], tmp_path, ENV)
    assert status == 42 and b"argv[2]=[42]\n" in out and b"env GREETING=hi there\n" in out


# ------------------------------------------------------- through 3i, not around it
@pytest.fixture
def recorded(monkeypatch):
    """Every cage created while this is active records the calls its 3i table serves."""
    calls: list[tuple[int, tuple[int, ...]]] = []
    original = microvisor_table.install

    def install(slot) -> None:
        original(slot)
        for nr, sc in microvisor_table.SYSCALLS.items():
            if sc.impl is None:
                continue

            def handler(cage, *a, _nr=nr, _impl=sc.impl):
                calls.append((_nr, a))
                return _impl(cage, *a)

            slot.set(nr, handler, FAST_NONE)

    monkeypatch.setattr(microvisor_table, "install", install)
    return calls


def test_wasi_calls_reach_the_3i_table(wasi, tmp_path, recorded):
    for name, args in (("files", []), ("dirs", []), ("links", []), ("clock_random", []),
                       ("raw", []), ("args_env", ["exit", "42"])):
        root = tmp_path / name
        root.mkdir()
        status, out, _ = run_lind(wasi(name), args, root, ENV)
        assert b"FAIL" not in out
    numbers = {nr for nr, _ in recorded}
    expected = {0, 1, 3, 8, 17, 18, 19, 20, 33, 35, 72, 74, 75, 77, 217, 228, 229, 231, 257,
                258, 262, 263, 264, 265, 266, 267, 318}
    assert expected <= numbers, sorted(expected - numbers)
    assert (231, (42, 0, 0, 0, 0, 0)) in recorded
    # the preopen: "/" opened as a directory, close-on-exec
    root_opens = [a for nr, a in recorded if nr == 257 and a[2] & 0o200000 and a[2] & 0o2000000]
    assert root_opens


def test_a_grate_handler_sees_and_filters_wasi_opens(wasi, tmp_path, monkeypatch):
    """A handler in the cage's table decides for a WASI program as for any other."""
    original = microvisor_table.install
    denied: list[str] = []

    def install(slot) -> None:
        original(slot)
        openat, _ = slot.get(257)

        def filtered_openat(cage, dirfd, path, flags, mode, *rest):
            name = cage.mem.cstring(path, 4096).decode()
            if "secret" in name:
                denied.append(name)
                return -errno.EACCES
            return openat(cage, dirfd, path, flags, mode, *rest)

        slot.set(257, filtered_openat, FAST_NONE)

    monkeypatch.setattr(microvisor_table, "install", install)
    (tmp_path / "public.txt").write_text("public\n")
    (tmp_path / "secret.txt").write_text("SECRET\n")
    status, out, _ = run_lind(wasi("cat"), ["public.txt", "secret.txt"], tmp_path, ENV)
    assert out == b"public\nsecret.txt: Permission denied\n"
    assert status == 1
    assert denied == ["secret.txt"]


# ------------------------------------------------------------ Lind-only behaviour
def test_proc_raise_is_a_signal_to_the_cage(wasi, tmp_path):
    wasm = wasi("sleeper")
    assert run_lind(wasm, ["raise", "15"], tmp_path, ENV)[0] == -15      # SIGTERM
    assert run_lind(wasm, ["raise", "9"], tmp_path, ENV)[0] == -9        # SIGKILL
    # WASI's SIGCHLD (16) is Linux's 17, ignored by default: the program goes on
    assert run_lind(wasm, ["raise", "16"], tmp_path, ENV)[1] == b"proc_raise returned 0\n"
    assert run_lind(wasm, ["raise", "99"], tmp_path, ENV)[1] == b"proc_raise returned 28\n"


@pytest.mark.parametrize("how", ["sleep", "spin"])
def test_timeout_kills_a_wasi_cage(wasi, tmp_path, how, no_cage_left):
    with pytest.raises(subprocess.TimeoutExpired):
        lind.run([wasi("sleeper"), how], root=tmp_path, timeout=0.5)
    no_cage_left()


def test_set_times_is_utimensat(wasi, tmp_path):
    """fd_filestat_set_times reaches the microvisor's utimensat through 3i and sets the
    file's times, as wasmtime's own WASI does."""
    for name, run in (("lind", run_lind), ("reference", run_reference)):
        root = tmp_path / name
        root.mkdir()
        assert run(wasi("sleeper"), ["utimes"], root, ENV)[:2] == (0, b"futimens: 0 0\n"), name
        assert os.stat(root / "f").st_mtime == 1_000_000_000, name


def test_mounts_are_visible_and_read_only_mounts_refuse_writes(wasi, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.txt").write_text("from the mount\n")
    root = tmp_path / "root"
    root.mkdir()
    result = lind.run([wasi("cat"), "/data/x.txt", "--write"], root=root,
                      mounts=[f"{data}:/data:ro"], capture_output=True, timeout=60)
    assert result.stdout.startswith(b"from the mount\n")
    assert b"write into /data: Read-only file system\n" in result.stdout
    assert not (data / "new.txt").exists()


def test_paths_cannot_leave_the_root(wasi, tmp_path):
    (tmp_path / "outside.txt").write_text("outside\n")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(tmp_path / "outside.txt", root / "abs")
    os.symlink("../outside.txt", root / "rel")
    status, out, _ = run_lind(wasi("cat"), ["/abs", "/rel", "/../outside.txt", "../outside.txt"],
                              root, ENV)
    assert b"outside" not in out.replace(b"outside.txt:", b"")
    assert status == 1


def test_cages_run_wasi_programs_in_parallel(wasi, tmp_path):
    wasm = wasi("args_env")
    results: dict[int, tuple] = {}

    def one(i: int) -> None:
        root = tmp_path / f"r{i}"
        root.mkdir()
        results[i] = run_lind(wasm, ["exit", str(i)], root, {"GREETING": str(i)})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for i in range(8):
        status, out, _ = results[i]
        assert status == i
        assert f"GREETING={i}\n".encode() in out


def test_ctypes_trampoline_runs_wasi_programs_the_same(wasi, tmp_path):
    wasm = wasi("raw")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, expected, _ = run_lind(wasm, [], tmp_path / "a", ENV)
    code = ("import sys, lind; r = lind.run([sys.argv[1]], root=sys.argv[2], capture_output=True, "
            "timeout=60); sys.stdout.buffer.write(r.stdout); sys.exit(r.returncode)")
    proc = subprocess.run([sys.executable, "-c", code, str(wasm), str(tmp_path / "b")],
                          capture_output=True, timeout=120,
                          env={**os.environ, "LIND_TRAMPOLINE": "ctypes"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected


# --------------------------------------------------------------- odd modules
_EXIT = '(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'


def test_unknown_wasi_import_returns_nosys(tmp_path):
    wasm = wat_module(tmp_path, "unknown", f"""(module
        (import "wasi_snapshot_preview1" "made_up_call" (func $m (param i32) (result i32)))
        {_EXIT}
        (memory (export "memory") 1)
        (func (export "_start") (call $exit (call $m (i32.const 0)))))""")
    assert lind.run([wasm], root=tmp_path, timeout=60).returncode == 52


def test_wasi_import_with_the_wrong_type_is_refused(tmp_path):
    wasm = wat_module(tmp_path, "wrongtype", """(module
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start")))""")
    with pytest.raises(lind.ProgramError) as refused:
        lind.run([wasm], root=tmp_path, timeout=60)
    assert str(refused.value) == (f"{wasm.name}: imports wasi_snapshot_preview1.fd_write "
                                  "with the wrong type")    # named, as other refusals


def test_a_wasi_function_imported_twice_is_defined_once(tmp_path):
    wasm = wat_module(tmp_path, "twice", """(module
        (import "wasi_snapshot_preview1" "fd_write" (func $a (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $b (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "hi\\n")
        (data (i32.const 0) "\\10\\00\\00\\00\\03\\00\\00\\00")
        (func (export "_start")
          (drop (call $a (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (drop (call $b (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))""")
    assert lind.run([wasm], root=tmp_path, capture_output=True, timeout=60).stdout == b"hi\nhi\n"
    clash = wat_module(tmp_path, "clash", """(module
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start")))""")
    with pytest.raises(lind.ProgramError, match="fd_write twice"):
        lind.run([clash], root=tmp_path, timeout=60)


def test_memory_that_cannot_grow_is_refused(tmp_path):
    wasm = wat_module(tmp_path, "fixed", f"""(module {_EXIT}
        (memory (export "memory") 1 1)
        (func (export "_start") (call $exit (i32.const 0))))""")
    with pytest.raises(lind.ProgramError, match="scratch page"):
        lind.run([wasm], root=tmp_path, timeout=60)


def test_bad_pointers_are_efault_not_crashes(tmp_path):
    """fd_write with an iovec array outside memory: WASI's fault (21), and the cage goes on."""
    wasm = wat_module(tmp_path, "fault", f"""(module
        (import "wasi_snapshot_preview1" "fd_write"
          (func $write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
          (func $name (param i32 i32 i32) (result i32)))
        {_EXIT}
        (memory (export "memory") 1)
        (func (export "_start")
          (if (i32.ne (call $write (i32.const 1) (i32.const 0x7ffffff0) (i32.const 1) (i32.const 0))
                      (i32.const 21))
            (then (call $exit (i32.const 1))))
          (if (i32.ne (call $name (i32.const 3) (i32.const 0xfffffff0) (i32.const 64))
                      (i32.const 21))
            (then (call $exit (i32.const 2))))
          (call $exit (i32.const 9))))""")
    assert lind.run([wasm], root=tmp_path, timeout=60).returncode == 9


_DIRENT64 = struct.Struct("<QqHB")


@pytest.mark.parametrize("record", [
    _DIRENT64.pack(1, 1, 0, 8) + b"a\0",            # d_reclen 0
    _DIRENT64.pack(1, 1, 24, 8) + b"abcde",          # no NUL in the record
    _DIRENT64.pack(1, 1, 4, 8) + b"ab\0",            # the next record cut short
    _DIRENT64.pack(1, 1, 200, 8) + b"ab\0",          # longer than what was returned
], ids=["reclen-0", "no-nul", "cut-short", "past-the-end"])
def test_a_malformed_getdents_answer_is_io_not_an_internal_error(tmp_path, monkeypatch,
                                                                   canary, record):
    """fd_readdir parses the linux_dirent64 records whoever handles getdents64 wrote (a
    grate's, which a cage may be): a d_reclen of 0 or a name without its NUL raised
    ValueError in the WASI layer, and the cage was stopped as by a bug of Lind's
    (SIGSYS, a traceback on the host's stderr). It is WASI's `io` now."""
    original = microvisor_table.install

    def install(slot) -> None:
        original(slot)

        def getdents64(cage, fd, buf, count, *rest):
            cage.mem.write(buf, record)
            return len(record)

        slot.set(217, getdents64, FAST_NONE)

    monkeypatch.setattr(microvisor_table, "install", install)
    wasm = wat_module(tmp_path, "readdir", f"""(module
        (import "wasi_snapshot_preview1" "fd_readdir"
          (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
        {_EXIT}
        (memory (export "memory") 1)
        (func (export "_start")
          (call $exit (call $readdir (i32.const 3) (i32.const 1024) (i32.const 4096)
                                     (i64.const 0) (i32.const 16)))))""")
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "in").write_bytes(b"")
    with open(tmp_path / "in", "rb") as i, open(tmp_path / "out", "wb") as o, \
            open(tmp_path / "err", "wb") as e:
        result = lind.run([wasm], root=root, stdin=i, stdout=o, stderr=e, timeout=60)
    assert result.returncode == 29, (tmp_path / "err").read_text()    # WASI's io
    assert canary.read_bytes() == CANARY and os.listdir(root) == []


def test_finished_wasi_cages_are_freed(wasi, tmp_path):
    import gc
    import weakref

    from lind.wasi import preview1

    gc.collect()
    entries = len(preview1._ENTRIES)
    rt = lind.Runtime()
    cage = rt.spawn(wasi("args_env"), ["exit", "5"], root=str(tmp_path),
                    stdout=os.open(os.devnull, os.O_WRONLY))
    assert cage.wait(60) is not None and cage.returncode == 5
    ref = weakref.ref(cage)
    del cage
    gc.collect()
    assert ref() is None
    assert len(preview1._ENTRIES) == entries   # each import's entry went with the store
