"""Run a batch of raw system calls in a cage, in a child process, and see what it changed.

The fuzz tests (test_fuzz_syscalls.py) hand this module a list of calls; it builds one
tiny wasm module that reads the batch from its stdin and makes each call through
`lind.syscall_unwind` (Asyncify-instrumented, so fork, setjmp and longjmp are reachable
too), then runs it with `lind.run` in a child Python process, so a host crash is a test
failure and not the death of pytest. Beside the cage's root sit a canary file, a canary
directory and a second tree; `Box.changes()` says whether any of them moved.

Run as a script, this file is that child: `python syscall_fuzz.py WASM ROOT IO TIMEOUT`.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import stat
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# -- the cage's memory (2 pages) ----------------------------------------------------
MEMORY_SIZE = 2 * 65536
RECORD = 0x1000            # the record written before and after each call
BATCH = 0x2000             # count (i32), then the entries; read from stdin at start
ENTRY = struct.Struct("<I4x6Q")
MAX_CALLS = 64
ENTRIES = BATCH + 8
SLOTS = 0x3000             # crafted objects (paths, iovecs, u64 blocks), 1 KiB each
SLOT_SIZE = 1024
N_SLOTS = 16
BUFFERS = 0x8000           # free space for calls that write into memory
OVERLONG_PATH = 0x10000    # 5000 bytes of "a/a/a/..." then NUL
OVERLONG_DOTDOT = 0x12000  # "../" * 1500 then NUL
UNTERMINATED = MEMORY_SIZE - 16  # a path that runs into the end of memory, no NUL
BATCH_SIZE = SLOTS + N_SLOTS * SLOT_SIZE - BATCH
RECORD_FD = 1000           # the records go to a copy of stdout the batch rarely touches
CALL_MAGIC, RETURN_MAGIC = b"CALL", b"RETN"
CALL_RECORD = struct.Struct("<4sI56s")    # magic, index, the entry as made
RETURN_RECORD = struct.Struct("<4sIq")    # magic, index, result

# Paths the calls may point at, in the module's data at STRINGS + 64 * i.
STRINGS = 0x100
PATHS = [
    b"/", b".", b"..", b"", b"../../../../../../../..", b"/..//..//../", b"../canary.txt",
    b"/../canary.txt", b"/../../../canary_dir/inner.txt", b"/proc/self/root/etc/passwd",
    b"/proc/self/cwd/../../canary.txt", b"/proc/self/fd/0", b"/proc/self/fd/3",
    b"/proc/self/exe", b"/proc/1/root", b"/link_out", b"/abs_link", b"/dirlink/inner.txt",
    b"/abs_dirlink/x.txt", b"/proc_link/etc", b"/file", b"/dir", b"/dir/sub", b"/prog",
    b"new", b"/dev/null", b"/dev/zero", b"/etc/passwd", b"/tmp", b"link_out/",
    b"dirlink/../../other", b"/dir/sub/../../../../canary.txt",
]
assert all(len(p) < 64 for p in PATHS) and len(PATHS) * 64 <= RECORD - STRINGS


def path_address(path: bytes) -> int:
    return STRINGS + 64 * PATHS.index(path)


def _data(address: int, data: bytes) -> str:
    escaped = "".join(f"\\{b:02x}" for b in data)
    return f'(data (i32.const {address}) "{escaped}")'


def _wat() -> str:
    record_args = "".join(f"(i64.store offset={16 + 8 * k} (i32.const {RECORD}) (local.get $a{k}))"
                          for k in range(6))
    data = "\n  ".join([*(_data(path_address(p), p + b"\0") for p in PATHS),
                         _data(OVERLONG_PATH, b"a/" * 2500 + b"\0"),
                         _data(OVERLONG_DOTDOT, b"../" * 1500 + b"\0"),
                         _data(UNTERMINATED, b"/etc/passwd/abcd")])
    call_magic = int.from_bytes(CALL_MAGIC, "little")
    return_magic = int.from_bytes(RETURN_MAGIC, "little")
    return f"""
(module
  (import "lind" "syscall_unwind"
    (func $sc (param i32 i64 i64 i64 i64 i64 i64) (result i64)))
  (memory (export "memory") 2)
  (global $sp (mut i32) (i32.const 16))
  {data}
  (func $record (param $len i64)
    (drop (call $sc (i32.const 1) (i64.const {RECORD_FD}) (i64.const {RECORD}) (local.get $len)
                    (i64.const 0) (i64.const 0) (i64.const 0))))
  (func (export "_start")
    (local $i i32) (local $n i32) (local $e i32) (local $nr i32) (local $r i64)
    (local $a0 i64) (local $a1 i64) (local $a2 i64) (local $a3 i64) (local $a4 i64) (local $a5 i64)
    (global.set $sp (global.get $sp))
    (drop (call $sc (i32.const 0) (i64.const 0) (i64.const {BATCH}) (i64.const {BATCH_SIZE})
                    (i64.const 0) (i64.const 0) (i64.const 0)))
    (drop (call $sc (i32.const 33) (i64.const 1) (i64.const {RECORD_FD}) (i64.const 0)
                    (i64.const 0) (i64.const 0) (i64.const 0)))
    (local.set $n (i32.load (i32.const {BATCH})))
    (if (i32.gt_u (local.get $n) (i32.const {MAX_CALLS})) (then (local.set $n (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $e (i32.add (i32.const {ENTRIES}) (i32.mul (local.get $i) (i32.const {ENTRY.size}))))
        (local.set $nr (i32.load (local.get $e)))
        (local.set $a0 (i64.load offset=8 (local.get $e)))
        (local.set $a1 (i64.load offset=16 (local.get $e)))
        (local.set $a2 (i64.load offset=24 (local.get $e)))
        (local.set $a3 (i64.load offset=32 (local.get $e)))
        (local.set $a4 (i64.load offset=40 (local.get $e)))
        (local.set $a5 (i64.load offset=48 (local.get $e)))
        (i32.store (i32.const {RECORD}) (i32.const {call_magic}))
        (i32.store offset=4 (i32.const {RECORD}) (local.get $i))
        (i32.store offset=8 (i32.const {RECORD}) (local.get $nr))
        (i32.store offset=12 (i32.const {RECORD}) (i32.const 0))
        {record_args}
        (call $record (i64.const {CALL_RECORD.size}))
        (local.set $r (call $sc (local.get $nr) (local.get $a0) (local.get $a1) (local.get $a2)
                                (local.get $a3) (local.get $a4) (local.get $a5)))
        (i32.store (i32.const {RECORD}) (i32.const {return_magic}))
        (i32.store offset=4 (i32.const {RECORD}) (local.get $i))
        (i64.store offset=8 (i32.const {RECORD}) (local.get $r))
        (call $record (i64.const {RETURN_RECORD.size}))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
"""


def build_module(path: Path) -> Path:
    """The batch runner, instrumented like `lind cc` output (Asyncify, lind_global_0)."""
    import wasmtime

    from lind.toolchain.asyncify import instrument_for_lind

    path.write_bytes(instrument_for_lind(wasmtime.wat2wasm(_wat()), debug_info=False))
    return path


# -- a batch: calls plus the crafted objects they point at ----------------------------
@dataclass(frozen=True)
class Call:
    nr: int
    args: tuple[int, int, int, int, int, int]

    def __str__(self) -> str:
        from lind.microvisor.table import NAMES

        name = NAMES.get(self.nr, "?")
        shown = ", ".join(show(a) for a in self.args)
        return f"{name}[{self.nr}]({shown})"


def show(value: int) -> str:
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        return str(value - (1 << 64))
    return hex(value) if value >= 4096 else str(value)


def encode(calls: list[Call], slots: list[bytes]) -> bytes:
    """The bytes the cage reads from stdin into BATCH: count, entries, slot contents."""
    assert len(calls) <= MAX_CALLS and len(slots) <= N_SLOTS
    entries = b"".join(ENTRY.pack(c.nr & 0xFFFFFFFF, *(a & (1 << 64) - 1 for a in c.args)) for c in calls)
    head = struct.pack("<I4x", len(calls)) + entries
    body = b"".join(s[:SLOT_SIZE].ljust(SLOT_SIZE, b"\0") for s in slots)
    return head.ljust(SLOTS - BATCH, b"\0") + body.ljust(N_SLOTS * SLOT_SIZE, b"\0")


def records(output: bytes) -> tuple[list[int], dict[int, int]]:
    """From the cage's stdout: the indexes of calls started, and their results."""
    started, results = [], {}
    pos = 0
    while pos < len(output):
        call_at, ret_at = output.find(CALL_MAGIC, pos), output.find(RETURN_MAGIC, pos)
        nxt = min(x for x in (call_at, ret_at, len(output)) if x >= 0)
        if nxt == len(output):
            break
        if nxt == call_at and nxt + CALL_RECORD.size <= len(output):
            _, index, _ = CALL_RECORD.unpack_from(output, nxt)
            started.append(index)
        elif nxt == ret_at and nxt + RETURN_RECORD.size <= len(output):
            _, index, result = RETURN_RECORD.unpack_from(output, nxt)
            results[index] = result
        pos = nxt + 4
    return started, results


# -- the host around the root --------------------------------------------------------
class Box:
    """A directory holding the cage's root and, beside it, what the cage must not reach."""

    def __init__(self, base: Path, module: Path) -> None:
        self.base = base
        self.io = base / "io"
        self.box = base / "box"
        self.root = self.box / "root"
        for d in (self.io, self.root / "dir" / "sub", self.box / "canary_dir",
                  self.box / "other" / "a" / "b", self.box / "cwd"):
            d.mkdir(parents=True)
        (self.box / "canary.txt").write_bytes(b"canary: must not change\n")
        (self.box / "canary_dir" / "inner.txt").write_bytes(b"inner canary\n")
        (self.box / "other" / "x.txt").write_bytes(b"another tenant's file\n")
        (self.box / "other" / "a" / "b" / "c.txt").write_bytes(b"deep file\n")
        os.chmod(self.box / "canary.txt", 0o644)
        (self.root / "file").write_bytes(b"a file inside the root\n")
        shutil.copy(module, self.root / "prog")
        os.chmod(self.root / "prog", 0o755)
        os.symlink("../canary.txt", self.root / "link_out")
        os.symlink(self.box / "canary.txt", self.root / "abs_link")
        os.symlink("../canary_dir", self.root / "dirlink")
        os.symlink(self.box / "other", self.root / "abs_dirlink")
        os.symlink("/proc/self/root", self.root / "proc_link")
        self.stdin, self.stdout, self.stderr = (self.io / n for n in ("stdin", "stdout", "stderr"))
        if os.geteuid() == 0:  # the child runs as nobody: nothing of ours is at risk
            for path in (self.base, self.io, *self.box.rglob("*"), self.box):
                os.lchown(path, NOBODY, NOBODY)

    def prepare(self, batch: bytes) -> None:
        for path, data in ((self.stdin, batch), (self.stdout, b""), (self.stderr, b"")):
            path.write_bytes(data)
            os.chmod(path, STDIO_MODE)
            if os.geteuid() == 0:
                os.chown(path, NOBODY, NOBODY)
        self._before = self.snapshot()

    def snapshot(self) -> dict[str, tuple]:
        """Everything outside the root: type, mode, size, mtime, content or link target;
        and the cage's stdio files (inherited, so not the cage's to chmod or truncate)."""
        seen: dict[str, tuple] = {}
        for path in [self.box, *sorted(self.box.rglob("*"))]:
            if path == self.root or self.root in path.parents:
                continue
            seen[str(path.relative_to(self.base))] = _describe(path)
        for path in (self.stdin, self.stdout, self.stderr):
            st = path.lstat()
            seen[path.name] = (stat.filemode(st.st_mode), st.st_uid, st.st_gid)
        seen["stdin"] += (_digest(self.stdin),)
        return seen

    def changes(self) -> list[str]:
        after = self.snapshot()
        out = []
        for key in sorted(set(self._before) | set(after)):
            if self._before.get(key) != after.get(key):
                out.append(f"{key}: {self._before.get(key)} -> {after.get(key)}")
        return out


NOBODY = 65534
STDIO_MODE = 0o640


def _digest(path: Path) -> str:
    return hashlib.sha256(_written(path)).hexdigest()[:16]


def _describe(path: Path) -> tuple:
    st = path.lstat()
    kind = stat.filemode(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        extra = os.readlink(path)
    elif stat.S_ISREG(st.st_mode):
        extra = _digest(path)
    else:
        extra = ""
    return kind, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, extra


@dataclass
class Outcome:
    """What one batch did to the host."""

    returncode: int | None       # the child Python process; None if it hung
    report: dict                 # what the child said about the cage (see main())
    host_stderr: str             # the child's own stderr: Lind's messages, tracebacks
    changes: list[str]           # differences outside the root
    started: list[int]           # calls whose CALL record reached stdout
    results: dict[int, int]      # their results

    def problems(self) -> list[str]:
        out = []
        if self.returncode is None:
            out.append("the host process hung (lind.run did not return after its timeout)")
        elif self.returncode < 0:
            out.append(f"the host process died of {signal.Signals(-self.returncode).name}")
        elif self.returncode != 0:
            out.append(f"the host process failed (exit {self.returncode})")
        if "lind: internal error" in self.host_stderr:
            out.append("a handler raised (internal error) instead of returning an errno")
        if self.changes:
            out.append("changed outside the root: " + "; ".join(self.changes))
        return out


HOST_MEMORY = 2 << 30      # the child's RLIMIT_DATA (wasmtime's reservations do not count)
_CHILD_GRACE = 30.0  # seconds beyond the cage timeout before the child counts as hung


def run_batch(box: Box, module: Path, batch: bytes, *, trampoline: str, timeout: float,
              cache: Path) -> Outcome:
    """Run `batch` in a child Python process with a fresh cage; report what happened."""
    box.prepare(batch)
    env = {k: v for k, v in os.environ.items() if k != "LIND_TRAMPOLINE"}
    if trampoline == "ctypes":
        env["LIND_TRAMPOLINE"] = "ctypes"
    env["XDG_CACHE_HOME"] = str(cache)
    env["PYTHONFAULTHANDLER"] = "1"
    report_path = box.io / "report.json"
    report_path.unlink(missing_ok=True)
    (box.io / "host.in").write_bytes(b"")
    with open(box.io / "host.in", "rb") as host_in, open(box.io / "host.err", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, __file__, str(module), str(box.root), str(box.io), str(timeout)],
            cwd=box.box / "cwd", env=env, stdin=host_in, stdout=err, stderr=err,
            start_new_session=True)
        try:
            returncode: int | None = proc.wait(timeout + _CHILD_GRACE)
        except subprocess.TimeoutExpired:
            returncode = None
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    started, results = records(_written(box.stdout))
    host_err = _written(box.io / "host.err")[-_HOST_ERR_KEPT:].decode(errors="replace")
    return Outcome(returncode, report, host_err, box.changes(), started, results)


_STDOUT_KEPT = 64 << 20    # the cage may pwrite its stdout at offset 2^40: read what it wrote
_HOST_ERR_KEPT = 256 << 10


def _written(path: Path, limit: int = _STDOUT_KEPT) -> bytes:
    """The data extents of a (possibly sparse, possibly huge) file, at most `limit` bytes."""
    chunks, total, pos = [], 0, 0
    with open(path, "rb") as f:
        while total < limit:
            try:
                start = os.lseek(f.fileno(), pos, os.SEEK_DATA)
            except OSError:  # ENXIO: no data past pos
                break
            pos = os.lseek(f.fileno(), start, os.SEEK_HOLE)
            chunk = os.pread(f.fileno(), min(pos - start, limit - total), start)
            chunks.append(chunk)
            total += len(chunk)
    return b"".join(chunks)


def _drop_root() -> None:
    """As root, become nobody before the cage runs, so that an escape finds nothing of the
    machine's to damage (the box is nobody's). Everything Lind imports lazily is imported
    first: the interpreter's own files may not be readable by nobody."""
    if os.geteuid() != 0:
        return
    import importlib
    import pkgutil
    import traceback  # noqa: F401 - used by Lind's internal-error report

    import lind

    for info in pkgutil.walk_packages(lind.__path__, "lind."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def main(argv: list[str]) -> int:
    """The child: run the module once in a fresh cage, write io/report.json."""
    module, root, io, timeout = argv[0], argv[1], Path(argv[2]), float(argv[3])
    import lind
    from lind import threei
    from lind.cage import loader

    loader.load(module)   # compiled while this may still run the interpreter (nobody may not)
    _drop_root()
    # Lind has no memory limit yet (issue 9): one brk to 4 GiB commits 4 GiB of host
    # memory. Growth past this fails in the cage instead of taking the machine down.
    resource.setrlimit(resource.RLIMIT_DATA, (HOST_MEMORY, HOST_MEMORY))
    report: dict = {"accelerated": threei.ACCELERATED}
    (io / "report.json").write_text(json.dumps(report))
    with open(io / "stdin", "rb") as i, open(io / "stdout", "wb") as o, \
            open(io / "stderr", "wb") as e:
        try:
            result = lind.run([module], root=root, stdin=i, stdout=o, stderr=e, timeout=timeout)
            report.update(returncode=result.returncode, trap=result.trap)
        except subprocess.TimeoutExpired:
            report.update(timeout=True)
    (io / "report.json").write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
