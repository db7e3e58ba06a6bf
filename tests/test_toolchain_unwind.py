"""The guest side of fork, exec and setjmp/longjmp: lind.syscall_unwind + Asyncify.

What `lind cc` must produce: programs that use fork/exec/setjmp import
lind.syscall_unwind, are instrumented by Asyncify for that import only and
export their mutable globals as lind_global_<index>; every other program
comes out of wasm-ld untouched.

The setjmp family is checked at run time against gcc with `ToyHost` below:
just enough of a host (a dozen system calls, setjmp/longjmp/fork/exec
through Asyncify) to show that the guest calls, the instrumentation and the
exported stack pointer are sufficient, independently of the real cage
runtime.  fork/vfork/clone also run under lind.run.
"""

from __future__ import annotations

import ctypes
import itertools
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import wasmtime

import lind
from lind.cage import loader
from lind.engine import wasmtime_engine
from lind.toolchain import asyncify, callgraph, cc, safepoints, sjlj, wasm_code

ASYNCIFY_EXPORTS = set(asyncify.ASYNCIFY_EXPORTS)
ENGINE = wasmtime_engine.engine()   # shared memories enabled, as the programs need


class ToyMemory:
    """A program's imported shared memory, with the calls the toy host makes of it."""

    def __init__(self, pages: int) -> None:
        self.shared = wasmtime_engine.SharedMemory(ENGINE, wasmtime.MemoryType(
            wasmtime.Limits(pages, 65536), shared=True))

    def _bytes(self) -> ctypes.Array:
        address = ctypes.cast(self.shared.data_ptr(), ctypes.c_void_p).value
        return (ctypes.c_ubyte * self.shared.data_len()).from_address(address)

    def size(self, _store) -> int:
        return self.shared.size()

    def grow(self, _store, pages: int) -> int:
        return self.shared.grow(pages)

    def read(self, _store, start: int, end: int) -> bytes:
        return bytes(self._bytes()[start:end])

    def write(self, _store, data: bytes, at: int) -> None:
        self._bytes()[at:at + len(data)] = data


def build(tmp_path: Path, source: str, *flags: str, name: str = "prog") -> Path:
    src = tmp_path / f"{name}.c"
    src.write_text(textwrap.dedent(source))
    out = tmp_path / f"{name}.wasm"
    cc.compile_program([src], out, flags)
    return out


def native(tmp_path: Path, source: str, name: str = "prog") -> subprocess.CompletedProcess:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.fail("no host C compiler for the native reference run")
    src = tmp_path / f"{name}-native.c"
    src.write_text(textwrap.dedent(source))
    exe = tmp_path / f"{name}.native"
    subprocess.run([gcc, "-O2", "-o", str(exe), str(src)], check=True)
    return subprocess.run([str(exe)], capture_output=True, timeout=60)


def module_of(path: Path) -> wasmtime.Module:
    return wasmtime.Module.from_file(ENGINE, str(path))


def imports_of(path: Path) -> set[tuple[str, str]]:
    return {(i.module, i.name) for i in module_of(path).imports}


def exports_of(path: Path) -> set[str]:
    return {e.name for e in module_of(path).exports}


# --------------------------------------------------------------------------
# a toy host: enough of the unwind ABI to run the guest's side of it

ENOSYS, ECHILD, ENOTTY, ENOMEM, EBADF, ENOENT = 38, 10, 25, 12, 9, 2


class _Exit(Exception):
    pass


class ToyHost:
    """Runs one cage program in one Store.  fork runs the child to completion
    before the parent resumes.  exec of a path in `programs` records the
    call in `execs` (shared by a process tree) and ends the process with the
    status given there; any other path fails with ENOENT.  File descriptors
    are stdout (1, 2) and pipes."""

    #: Asyncify's data area, placed above the module's initial memory.
    BUFFER = 1 << 20

    def __init__(
        self,
        module: wasmtime.Module,
        argv: list[bytes],
        pid: int = 1,
        programs: dict[bytes, int] | None = None,
        entry: str = "_start",
    ) -> None:
        self.module, self.argv, self.pid, self.entry = module, argv, pid, entry
        self.plan: bytes | None = None      # a spawned child's, until it takes it
        self.programs = programs or {}
        self.execs: list[tuple[int, bytes, list[bytes]]] = []
        self.fds: dict[int, tuple[str, bytearray | None]] = {1: ("out", None), 2: ("out", None)}
        self.store = wasmtime.Store(ENGINE)
        self.store.set_epoch_deadline(1 << 40)    # Lind's engine counts epochs
        linker = wasmtime.Linker(ENGINE)
        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        call = wasmtime.FuncType([i32] + [i64] * 6, [i64])
        linker.define_func("lind", "syscall", call, self.syscall)
        linker.define_func("lind", "syscall_unwind", call, self.syscall_unwind)
        two = wasmtime.FuncType([i32, i32], [i32])
        linker.define_func("lind", "args_sizes_get", two, self.args_sizes_get)
        linker.define_func("lind", "args_get", two, self.args_get)
        linker.define_func("lind", "environ_sizes_get", two, self.environ_sizes_get)
        linker.define_func("lind", "environ_get", two, lambda a, b: 0)
        self.mem = ToyMemory(loader.imported_memory(module).limits.min)
        linker.define(self.store, "lind", "memory", self.mem.shared)
        self.ex = linker.instantiate(self.store, module).exports(self.store)
        self.buffer = self.mem.size(self.store) * 65536
        self.mem.grow(self.store, self.BUFFER // 65536)
        self.brk = self.buffer + self.BUFFER
        self.out = bytearray()
        self.mask = 0
        self.status: int | None = None
        self.unwind_calls: list[tuple[int, ...]] = []
        self.syscalls: list[tuple[int, ...]] = []
        self.jmpbufs: dict[int, tuple[bytes, int, dict[str, int]]] = {}
        self.children: dict[int, int] = {}
        self.pids = itertools.count(pid + 1)
        self.execed: tuple[bytes, list[bytes]] | None = None
        self._pending: tuple | None = None
        self._resume_value: int | None = None

    # memory helpers
    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.mem.read(self.store, addr, addr + n))

    def write(self, addr: int, data: bytes) -> None:
        self.mem.write(self.store, data, addr)

    def u32(self, addr: int) -> int:
        return struct.unpack("<I", self.read(addr, 4))[0]

    def cstr(self, addr: int) -> bytes:
        data = self.read(addr, 4096)
        return data[: data.index(b"\0")]

    def strings(self, addr: int) -> list[bytes]:
        out = []
        while (p := self.u32(addr)) != 0:
            out.append(self.cstr(p))
            addr += 4
        return out

    # start-up imports
    def args_sizes_get(self, count: int, size: int) -> int:
        self.write(count, struct.pack("<I", len(self.argv)))
        self.write(size, struct.pack("<I", sum(len(a) + 1 for a in self.argv)))
        return 0

    def args_get(self, ptrs: int, buf: int) -> int:
        for i, a in enumerate(self.argv):
            self.write(ptrs + 4 * i, struct.pack("<I", buf))
            self.write(buf, a + b"\0")
            buf += len(a) + 1
        return 0

    def environ_sizes_get(self, count: int, size: int) -> int:
        self.write(count, b"\0" * 4)
        self.write(size, b"\0" * 4)
        return 0

    # the ordinary import
    def syscall(self, nr: int, a1: int, a2: int, a3: int, a4: int, a5: int, a6: int) -> int:
        self.syscalls.append((nr, a1, a2, a3, a4))
        if nr in (0, 1, 20) and a1 not in self.fds:
            return -EBADF
        if nr == 0:  # read: from a pipe whose writers are all done
            kind, buf = self.fds[a1]
            if kind != "r":
                return -EBADF
            data = bytes(buf[:a3])
            del buf[:a3]
            self.write(a2, data)
            return len(data)
        if nr in (1, 20):  # write, writev
            kind, buf = self.fds[a1]
            sink = self.out if kind == "out" else buf
            if kind == "r":
                return -EBADF
            pieces = (
                [(a2, a3)] if nr == 1 else [struct.unpack("<II", self.read(a2 + 8 * i, 8)) for i in range(a3)]
            )
            for base, n in pieces:
                sink += self.read(base, n)
            return sum(n for _, n in pieces)
        if nr == 293:  # pipe2
            buf = bytearray()
            r, w = self._free_fd(), None
            self.fds[r] = ("r", buf)
            w = self._free_fd()
            self.fds[w] = ("w", buf)
            self.write(a1, struct.pack("<ii", r, w))
            return 0
        if nr == 3:  # close
            return 0 if self.fds.pop(a1, None) else -EBADF
        if nr == 33:  # dup2
            if a1 not in self.fds:
                return -EBADF
            self.fds[a2] = self.fds[a1]
            return a2
        if nr == 72:  # fcntl
            return 0 if a1 in self.fds else -EBADF
        if nr == 12:  # brk
            if a1 > self.brk:
                have = self.mem.size(self.store) * 65536
                if a1 > have:
                    self.mem.grow(self.store, (a1 - have + 65535) // 65536)
                self.brk = a1
            return self.brk
        if nr == 14:  # rt_sigprocmask(how, set, old, 8)
            if a3:
                self.write(a3, struct.pack("<Q", self.mask))
            if a2:
                new = struct.unpack("<Q", self.read(a2, 8))[0]
                self.mask = {0: self.mask | new, 1: self.mask & ~new, 2: new}[a1]
                self.mask &= ~((1 << 8) | (1 << 18))  # SIGKILL, SIGSTOP
            return 0
        if nr == 13:  # rt_sigaction
            if a3:
                self.write(a3, b"\0" * 20)
            return 0
        if nr in (39, 218):  # getpid, set_tid_address
            return self.pid
        if nr == 61:  # wait4(pid, wstatus, options, rusage)
            if not self.children:
                return -ECHILD
            pid = a1 if a1 in self.children else next(iter(self.children))
            status = self.children.pop(pid)
            if a2:
                self.write(a2, struct.pack("<i", (status & 0xFF) << 8))
            return pid
        if nr in (60, 231):  # exit, exit_group
            self.status = a1 & 0xFF
            raise _Exit
        if nr == 59:  # execve: the new program runs and exits at once
            path = self.cstr(a1)
            self.execs.append((self.pid, path, self.strings(a2)))
            if path not in self.programs:
                return -ENOENT
            self.execed = (path, self.strings(a2))
            self.status = self.programs[path]
            raise _Exit
        if nr == 1018:  # spawn(plan, size): a child starts this program at its spawn entry
            child = ToyHost(self.module, self.argv, next(self.pids), self.programs,
                            entry="__lind_spawn_start")
            child.execs, child.pids = self.execs, self.pids
            child.fds, child.mask, child.plan = dict(self.fds), self.mask, self.read(a1, a2)
            self.children[child.pid] = child.run()
            self.out += child.out
            return child.pid
        if nr == 1019:  # spawn_plan(buf, size)
            if self.plan is None:
                return -ENOENT
            if a2 >= len(self.plan):
                self.write(a1, self.plan)
            return len(self.plan)
        if nr == 16:  # ioctl: not a terminal
            return -ENOTTY
        if nr == 9:  # mmap
            return -ENOMEM
        return -ENOSYS

    # the unwinding import
    def syscall_unwind(self, nr: int, a1: int, a2: int, a3: int, a4: int, a5: int, a6: int) -> int:
        if self.ex["asyncify_get_state"](self.store) == 2:  # the end of a rewind
            self.ex["asyncify_stop_rewind"](self.store)
            value, self._resume_value = self._resume_value, None
            return value
        self.unwind_calls.append((nr, a1, a2))
        if nr == 1020:
            self._pending = ("setjmp", a1)
        elif nr == 1021:
            if a1 not in self.jmpbufs:
                raise AssertionError(f"longjmp to an unknown jmp_buf {a1:#x}")
            self._pending = ("longjmp", a1, a2)
        elif nr == 57:
            self._pending = ("fork",)
        else:
            return -ENOSYS
        self.write(self.buffer, struct.pack("<II", self.buffer + 8, self.buffer + self.BUFFER))
        self.ex["asyncify_start_unwind"](self.store, self.buffer)
        return 0

    def _free_fd(self) -> int:
        fd = 0
        while fd in self.fds:
            fd += 1
        return fd

    def globals(self) -> dict[str, int]:
        return {
            n: g.value(self.store) for n, g in self.ex.items() if n.startswith(asyncify.LIND_GLOBAL_PREFIX)
        }

    def set_globals(self, values: dict[str, int]) -> None:
        for n, v in values.items():
            self.ex[n].set_value(self.store, v)

    def run(self) -> int:
        while True:
            try:
                self.ex[self.entry](self.store)
            except _Exit:
                return self.status  # type: ignore[return-value]
            assert self.ex["asyncify_get_state"](self.store) == 1, "_start returned"
            self.ex["asyncify_stop_unwind"](self.store)
            action, self._pending = self._pending, None
            assert action is not None
            end = self.u32(self.buffer)
            if action[0] == "setjmp":
                saved = self.read(self.buffer + 8, end - self.buffer - 8)
                self.jmpbufs[action[1]] = (saved, end, self.globals())
                self._resume_value = 0
            elif action[0] == "longjmp":
                saved, end, globs = self.jmpbufs[action[1]]
                self.write(self.buffer + 8, saved)
                self.write(self.buffer, struct.pack("<I", end))
                self.set_globals(globs)
                self._resume_value = action[2]
            else:  # fork
                child = ToyHost(self.module, self.argv, next(self.pids), self.programs)
                child.execs, child.pids = self.execs, self.pids
                child.fds = dict(self.fds)
                grow = self.mem.size(self.store) - child.mem.size(child.store)
                if grow > 0:
                    child.mem.grow(child.store, grow)
                child.write(0, self.read(0, self.mem.size(self.store) * 65536))
                child.set_globals(self.globals())
                child.brk, child.mask, child.buffer = self.brk, self.mask, self.buffer
                child.jmpbufs = dict(self.jmpbufs)
                child._resume_value = 0
                child.ex["asyncify_start_rewind"](child.store, child.buffer)
                self.children[child.pid] = child.run()
                self.out += child.out
                self._resume_value = child.pid
            self.ex["asyncify_start_rewind"](self.store, self.buffer)


def toy_run(path: Path, *args: bytes, programs: dict[bytes, int] | None = None) -> ToyHost:
    host = ToyHost(module_of(path), [path.name.encode(), *args], programs=programs)
    host.run()
    return host


# --------------------------------------------------------------------------
# what lind cc produces

FORK = """
    #include <stdio.h>
    #include <unistd.h>
    #include <sys/wait.h>
    int main(void) {
        int status;
        pid_t pid = fork();
        if (pid == 0) _exit(7);
        waitpid(pid, &status, 0);
        printf("child %d\\n", WEXITSTATUS(status));
        return 0;
    }
"""

HELLO = """
    #include <stdio.h>
    int main(void) { printf("hello\\n"); return 0; }
"""


def test_fork_program_is_instrumented(tmp_path: Path) -> None:
    out = build(tmp_path, FORK, "-O2")
    module = module_of(out)
    imports = {(i.module, i.name): i.type for i in module.imports}
    ty = imports[("lind", "syscall_unwind")]
    assert [str(t) for t in ty.params] == ["i32"] + ["i64"] * 6
    assert [str(t) for t in ty.results] == ["i64"]
    assert ("lind", "syscall") in imports
    exports = {e.name: e.type for e in module.exports}
    assert set(exports) >= ASYNCIFY_EXPORTS
    assert {"_start", "__heap_base", "__data_end", "__stack_pointer"} <= set(exports)
    assert loader.imported_memory(module).is_shared
    # the mutable globals of a wasm-ld program: the shadow-stack pointer, the TLS base
    globals_ = {n: t for n, t in exports.items() if n.startswith("lind_global_")}
    assert list(globals_) == ["lind_global_0", "lind_global_1"]
    assert all(str(t.content) == "i32" and t.mutable for t in globals_.values())
    # the stack pointer starts at the top of the 1 MiB stack (--stack-first)
    store = wasmtime.Store(ENGINE)
    store.set_epoch_deadline(1 << 40)
    linker = wasmtime.Linker(ENGINE)
    linker.define(store, "lind", "memory",
                  ToyMemory(loader.imported_memory(module).limits.min).shared)
    linker.define_unknown_imports_as_traps(module)
    inst = linker.instantiate(store, module)
    assert inst.exports(store)["lind_global_0"].value(store) == cc.STACK_SIZE


def test_plain_program_is_left_alone(tmp_path: Path, monkeypatch) -> None:
    out = build(tmp_path, HELLO, "-O2")
    assert ("lind", "syscall_unwind") not in imports_of(out)
    names = exports_of(out)
    assert not names & ASYNCIFY_EXPORTS
    assert not any(n.startswith("lind_global_") for n in names)
    # byte for byte what wasm-ld wrote, plus exports of its mutable globals (for a fresh
    # start in a kept instance) and the null-page marker: Asyncify did nothing
    monkeypatch.setattr(cc, "_post_link", lambda *a: 0)
    (tmp_path / "again").mkdir()
    again = build(tmp_path / "again", HELLO, "-O2")
    assert out.read_bytes() == asyncify.with_custom_section(
        asyncify.with_mutable_globals_exported(again.read_bytes()), asyncify.NULL_PAGE_UNUSED)


USERS = {
    "fork": "fork()",
    "vfork": "vfork()",
    "_Fork": "_Fork()",
    "clone": "clone(fn, stack + sizeof stack, SIGCHLD, 0)",
    "daemon": "daemon(0, 0)",
    # through the host, so that a siglongjmp out of a fault's handler works
    "sigsetjmp": "sigsetjmp(sjb, 1)",
    "siglongjmp": "(siglongjmp(sjb, 1), 0)",
}

#: C's setjmp family: WebAssembly exceptions by default, Asyncify with --setjmp=asyncify
JUMPERS = {
    "setjmp": "setjmp(jb)",
    "_setjmp": "_setjmp(jb)",
    "longjmp": "(longjmp(jb, 1), 0)",
    "_longjmp": "(_longjmp(jb, 1), 0)",
}

NON_USERS = {
    # exec stops the instance and a spawned child starts afresh: nothing is unwound
    "execve": 'execve("/x", argv, envp)',
    "execv": 'execv("/x", argv)',
    "execvp": 'execvp("x", argv)',
    "execl": 'execl("/x", "x", (char *)0)',
    "execlp": 'execlp("x", "x", (char *)0)',
    "fexecve": "fexecve(3, argv, envp)",
    "posix_spawnp": 'posix_spawnp(0, "x", 0, 0, argv, envp)',
    "system": 'system("true")',
    "popen": '(popen("true", "r") != 0)',
    "getpid": "getpid()",
    "syscall": "(int)syscall(SYS_getpid)",
    "pthread_create": "pthread_create(&t, 0, thr, 0)",
    "waitpid": "waitpid(-1, 0, 0)",
    "sigprocmask": "sigprocmask(SIG_BLOCK, 0, 0)",
}

USE_TEMPLATE = """
    #define _GNU_SOURCE
    #include <pthread.h>
    #include <sched.h>
    #include <setjmp.h>
    #include <signal.h>
    #include <spawn.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <sys/syscall.h>
    #include <sys/wait.h>
    #include <unistd.h>
    #define U __attribute__((unused))
    static U jmp_buf jb;
    static U sigjmp_buf sjb;
    static U char stack[256];
    static U int fn(void *a) {{ (void)a; return 0; }}
    static U void *thr(void *a) {{ return a; }}
    int main(int argc, char **argv, char **envp) {{
        pthread_t t; (void)t; (void)argc;
        return (int){expr};
    }}
"""


@pytest.mark.parametrize("fn", sorted(USERS))
def test_functions_that_unwind_import_syscall_unwind(tmp_path: Path, fn: str) -> None:
    out = build(tmp_path, USE_TEMPLATE.format(expr=USERS[fn]), "-Wall", "-Werror")
    assert ("lind", "syscall_unwind") in imports_of(out)
    assert exports_of(out) >= ASYNCIFY_EXPORTS


@pytest.mark.parametrize("fn", sorted(JUMPERS))
def test_the_setjmp_family_is_exceptions_not_asyncify(tmp_path: Path, fn: str) -> None:
    """Every name of setjmp and longjmp is lowered to exception handling: nothing of the
    host, no Asyncify; --setjmp=asyncify makes them calls through syscall_unwind."""
    source = USE_TEMPLATE.format(expr=JUMPERS[fn])
    out = build(tmp_path, source, "-Wall", "-Werror", "-O2")
    assert ("lind", "syscall_unwind") not in imports_of(out)
    assert not exports_of(out) & ASYNCIFY_EXPORTS
    assert sjlj.ASYNCIFY_OBJECT not in asyncify.custom_section_names(out.read_bytes())
    out = build(tmp_path, source, "-Wall", "-Werror", "--setjmp=asyncify", name="asyncify")
    assert ("lind", "syscall_unwind") in imports_of(out)
    assert exports_of(out) >= ASYNCIFY_EXPORTS
    assert not asyncify.uses_exception_handling(out.read_bytes())


@pytest.mark.parametrize("fn", sorted(NON_USERS))
def test_other_functions_do_not(tmp_path: Path, fn: str) -> None:
    out = build(tmp_path, USE_TEMPLATE.format(expr=NON_USERS[fn]), "-Wall", "-Werror")
    assert ("lind", "syscall_unwind") not in imports_of(out)
    assert not exports_of(out) & ASYNCIFY_EXPORTS


def test_setjmp_is_a_function_as_on_linux(tmp_path: Path, capfd) -> None:
    """Header declares it (returns_twice); &setjmp works; the macro is the name."""
    src = """
        #include <setjmp.h>
        #ifndef setjmp
        #error setjmp should be defined to itself, as musl does
        #endif
        int (*p)(jmp_buf) = setjmp;
        _Static_assert(sizeof(jmp_buf) == 200, "jmp_buf");
        _Static_assert(_Alignof(jmp_buf) == 8, "align");
        _Static_assert(__builtin_offsetof(struct __jmp_buf_tag, __fl) == 64, "__fl");
        _Static_assert(__builtin_offsetof(struct __jmp_buf_tag, __ss) == 68, "__ss");
        _Static_assert(sizeof(sigjmp_buf) == sizeof(jmp_buf), "sigjmp_buf");
        int main(void) { return p != setjmp; }
    """
    build(tmp_path, src, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Werror")


@pytest.mark.parametrize(
    ("flag", "levels"),
    [
        ("-O0", (0, 0)),
        ("-O", (1, 0)),
        ("-O1", (1, 0)),
        ("-O2", (2, 0)),
        ("-O3", (3, 0)),
        ("-O4", (3, 0)),
        ("-Os", (2, 1)),
        ("-Oz", (2, 2)),
        ("-Og", (1, 0)),
        ("-Ofast", (3, 0)),
    ],
)
def test_binaryen_level_follows_the_last_O(flag: str, levels: tuple[int, int]) -> None:
    assert cc._parse(["-O3", flag, "x.c"]).binaryen_levels == levels
    assert cc._parse(["x.c"]).binaryen_levels == (0, 0)


def test_optimisation_reduces_asyncify_overhead(tmp_path: Path) -> None:
    # --suspendable: every system call may unwind, so most of the program is instrumented
    o0 = build(tmp_path, FORK, "-O0", "--suspendable", name="o0")
    o2 = build(tmp_path, FORK, "-O2", "--suspendable", name="o2")
    assert o2.stat().st_size < o0.stat().st_size * 0.7


def test_debug_info_and_function_names_survive(tmp_path: Path) -> None:
    out = build(tmp_path, FORK, "-O1", "-g")
    data = out.read_bytes()
    assert b".debug_info" in data
    assert b"\x04name" in data  # the name section, for readable backtraces


def test_asyncify_failure_is_a_compile_error(tmp_path: Path, monkeypatch, capfd) -> None:
    def broken(*a, **k):
        raise asyncify.AsyncifyError("boom")

    monkeypatch.setattr(asyncify, "instrument_for_lind", broken)
    src = tmp_path / "f.c"
    src.write_text(textwrap.dedent(FORK))
    out = tmp_path / "f.wasm"
    assert cc.main([str(src), "-o", str(out)]) == 1
    assert "Asyncify failed" in capfd.readouterr().err
    assert not out.exists()


def test_module_imports_reader_agrees_with_wasmtime(tmp_path: Path) -> None:
    out = build(tmp_path, FORK)
    assert asyncify.module_imports(out.read_bytes()) == [(i.module, i.name) for i in module_of(out).imports]
    wat = b'(module (import "a" "m" (memory 1 2)) (import "a" "t" (table 1 funcref))'
    wat += b' (import "a" "g" (global (mut i32))) (import "lind" "syscall_unwind" (func)))'
    assert asyncify.module_imports(wasmtime.wat2wasm(wat)) == [
        ("a", "m"),
        ("a", "t"),
        ("a", "g"),
        ("lind", "syscall_unwind"),
    ]


def test_global_export_indices_count_imported_globals() -> None:
    wat = b"""(module
        (import "env" "g0" (global (mut i32)))
        (global i32 (i32.const 1))
        (global (mut i64) (i64.const 2))
        (func (export "f") (global.set 2 (i64.const 3))))"""
    out = asyncify.run_asyncify(wasmtime.wat2wasm(wat), [], export_globals="lind_global_")
    module = wasmtime.Module(wasmtime.Engine(), out)
    names = {e.name for e in module.exports}
    assert {"lind_global_0", "lind_global_2"} <= names
    assert "lind_global_1" not in names


# --------------------------------------------------------------------------
# the ABI, call by call (ToyHost records what the guest asks for)

ABI_PROBE = """
    #define _GNU_SOURCE
    #include <setjmp.h>
    #include <signal.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <unistd.h>
    static jmp_buf jb;
    int main(int argc, char **argv) {
        printf("jb=%lu\\n", (unsigned long)jb);
        fflush(stdout);
        if (!strcmp(argv[1], "setjmp")) {
            int r = setjmp(jb);
            if (r == 0) longjmp(jb, 0);
            printf("r=%d\\n", r);
        } else if (!strcmp(argv[1], "fork")) {
            pid_t p = fork();
            printf("fork=%d pid=%d\\n", p, getpid());
            if (p == 0) exit(3);
        } else {
            char *args[] = { "prog", "a b", 0 };
            execv("/bin/prog", args);
        }
        return 0;
    }
"""


def test_abi_setjmp_longjmp_numbers(tmp_path: Path) -> None:
    host = toy_run(build(tmp_path, ABI_PROBE, "-O2"), b"setjmp")
    jb = int(host.out.split(b"jb=")[1].split(b"\n")[0])
    assert host.unwind_calls == [(1020, jb, 0), (1021, jb, 1)]
    assert host.out.endswith(b"r=1\n")


def test_abi_fork_and_execve(tmp_path: Path) -> None:
    prog = build(tmp_path, ABI_PROBE, "-O2")
    host = toy_run(prog, b"fork")
    assert host.unwind_calls[0][0] == 57
    assert b"fork=0 pid=2\n" in host.out and b"fork=2 pid=1\n" in host.out
    host = toy_run(prog, b"exec", programs={b"/bin/prog": 0})
    assert host.unwind_calls == []        # exec stops the instance: nothing to unwind
    assert [c[0] for c in host.syscalls if c[0] == 59] == [59]
    assert host.execed == (b"/bin/prog", [b"prog", b"a b"])


SPAWN = r"""
    #define _GNU_SOURCE
    #include <errno.h>
    #include <spawn.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <unistd.h>
    #include <sys/wait.h>
    extern char **environ;
    int main(void) {
        char *args[] = { "tool", "-x", 0 };
        pid_t pid = -1;
        int st = -1, r;
        r = posix_spawn(&pid, "/bin/tool", 0, 0, args, environ);
        waitpid(pid, &st, 0);
        printf("spawn ok: r=%d pid>1=%d status=%d\n", r, pid > 1, WEXITSTATUS(st));
        pid = -1;
        r = posix_spawn(&pid, "/bin/missing", 0, 0, args, environ);
        printf("spawn missing: r=%s pid=%d wait=%d\n", (r == ENOENT ? "ENOENT" : strerror(r)), pid,
               waitpid(-1, 0, WNOHANG) < 0 && errno == ECHILD);
        r = posix_spawnp(&pid, "tool", 0, 0, args, environ);
        waitpid(pid, &st, 0);
        printf("spawnp: r=%d status=%d\n", r, WEXITSTATUS(st));
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, 1, 7);
        posix_spawn_file_actions_addclose(&fa, 1);
        r = posix_spawn(&pid, "/bin/missing", &fa, 0, args, environ);
        printf("file actions then a failed exec: r=%s\n", (r == ENOENT ? "ENOENT" : strerror(r)));
        st = system("echo hi");
        printf("system: %d\n", WEXITSTATUS(st));
        FILE *f = popen("cat", "w");
        printf("popen: %d pclose: %d\n", f != 0, WEXITSTATUS(pclose(f)));
        return 0;
    }
"""


def test_posix_spawn_system_popen_start_children_afresh(tmp_path: Path) -> None:
    """posix_spawn (and system, popen on it) copies nothing: call 1018 starts the same
    program at its spawn entry, which fetches the plan (1019), applies it and execs."""
    prog = build(tmp_path, SPAWN, "-O2")
    assert ("lind", "syscall_unwind") not in imports_of(prog)
    assert "__lind_spawn_start" in exports_of(prog)
    host = toy_run(prog, programs={b"/bin/tool": 6, b"/usr/bin/tool": 7, b"/bin/sh": 9})
    assert [c[0] for c in host.syscalls].count(1018) == 6
    assert host.out.decode() == (
        "spawn ok: r=0 pid>1=1 status=6\n"
        "spawn missing: r=ENOENT pid=-1 wait=1\n"
        "spawnp: r=0 status=6\n"  # /bin comes before /usr/bin
        "file actions then a failed exec: r=ENOENT\n"
        "system: 9\n"
        "popen: 1 pclose: 9\n"
    )
    execs = [(path, argv) for _, path, argv in host.execs]
    assert execs == [
        (b"/bin/tool", [b"tool", b"-x"]),
        (b"/bin/missing", [b"tool", b"-x"]),
        (b"/usr/local/bin/tool", [b"tool", b"-x"]),  # musl's default PATH, in order
        (b"/bin/tool", [b"tool", b"-x"]),
        (b"/bin/missing", [b"tool", b"-x"]),
        (b"/bin/sh", [b"sh", b"-c", b"echo hi"]),
        (b"/bin/sh", [b"sh", b"-c", b"cat"]),
    ]
    # every exec happened in a child, never in the program itself
    assert all(pid != 1 for pid, _, _ in host.execs)


# --------------------------------------------------------------------------
# setjmp/longjmp at run time, against gcc

SJLJ = r"""
    #define _GNU_SOURCE
    #include <setjmp.h>
    #include <signal.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>

    static jmp_buf top, inner;
    static sigjmp_buf sj;
    static int depth_reached;

    static void dive(int n) {
        char pad[64];
        memset(pad, n, sizeof pad);
        depth_reached = n;
        if (n == 500) longjmp(top, n + pad[3]);
        dive(n + 1);
        if (pad[0] != (char)n) abort();
    }

    static int cmp(const void *a, const void *b) {
        if (*(const int *)a == 42) longjmp(top, 42);
        return *(const int *)a - *(const int *)b;
    }

    static int blocked(int sig) {
        sigset_t s;
        sigprocmask(SIG_BLOCK, 0, &s);
        return sigismember(&s, sig);
    }

    int main(void) {
        volatile int count = 0;
        int r;

        /* returns twice; the value is the longjmp value */
        r = setjmp(top);
        printf("setjmp -> %d\n", r);
        if (count++ < 3) longjmp(top, count * 10);

        /* longjmp(env, 0) makes setjmp return 1 */
        if ((r = setjmp(top)) == 0) longjmp(top, 0);
        printf("longjmp 0 -> %d\n", r);

        /* nested buffers: jumping to the outer one from under the inner */
        if ((r = setjmp(top)) == 0) {
            if ((r = setjmp(inner)) == 0) longjmp(inner, 5);
            printf("inner -> %d\n", r);
            longjmp(top, 6);
        }
        printf("outer -> %d\n", r);

        /* out of deep recursion, the stack usable afterwards */
        if ((r = setjmp(top)) == 0) dive(0);
        printf("deep -> %d at depth %d\n", r, depth_reached);

        /* out of a function called through a pointer (qsort's comparator) */
        {
            int a[] = {3, 1, 42, 2};
            if ((r = setjmp(top)) == 0) qsort(a, 4, sizeof *a, cmp);
            printf("from qsort's comparator -> %d\n", r);
        }

        /* _setjmp/_longjmp */
        if ((r = _setjmp(inner)) == 0) _longjmp(inner, 9);
        printf("_setjmp -> %d\n", r);

        /* sigsetjmp(env, 1) puts the mask back; (env, 0) does not */
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        sigprocmask(SIG_BLOCK, &s, 0);
        if ((r = sigsetjmp(sj, 1)) == 0) {
            sigprocmask(SIG_UNBLOCK, &s, 0);
            sigaddset(&s, SIGUSR2);
            sigprocmask(SIG_BLOCK, &s, 0);
            siglongjmp(sj, 3);
        }
        printf("sigsetjmp(1) -> %d usr1=%d usr2=%d\n", r, blocked(SIGUSR1), blocked(SIGUSR2));
        sigemptyset(&s);
        sigprocmask(SIG_SETMASK, &s, 0);
        if ((r = sigsetjmp(sj, 0)) == 0) {
            sigaddset(&s, SIGUSR2);
            sigprocmask(SIG_BLOCK, &s, 0);
            siglongjmp(sj, 4);
        }
        printf("sigsetjmp(0) -> %d usr2=%d\n", r, blocked(SIGUSR2));
        return count;
    }
"""


@pytest.mark.parametrize("flags", [("-O0",), ("-O2",), ("-O2", "--setjmp=asyncify")])
def test_setjmp_longjmp_match_gcc(tmp_path: Path, flags: tuple[str, ...]) -> None:
    source = SJLJ
    ref = native(tmp_path, source)
    assert ref.returncode == 4, ref
    host = toy_run(build(tmp_path, source, *flags, "-Wall"))
    assert host.out.decode() == ref.stdout.decode()
    assert host.status == ref.returncode
    assert b"deep -> 488 at depth 500\n" in host.out  # 500 + (char)500


# --------------------------------------------------------------------------
# fork, vfork, clone under the real runtime

PROCS = r"""
    #define _GNU_SOURCE
    #include <sched.h>
    #include <signal.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <unistd.h>
    #include <sys/wait.h>

    static int global = 1;
    static int in_clone(void *arg) {
        printf("clone child: arg=%s global=%d\n", (char *)arg, global);
        return 5;
    }
    static void report(const char *what, pid_t pid) {
        int status;
        if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); exit(1); }
        printf("%s: exit %d\n", what, WEXITSTATUS(status));
    }

    int main(void) {
        int local = 10;
        char *heap = strdup("heap");
        pid_t pid;

        fflush(stdout);
        if ((pid = fork()) == 0) {
            global = 2; local = 20; heap[0] = 'H';
            printf("fork child: %d %d %s\n", global, local, heap);
            exit(3);
        }
        report("fork", pid);
        printf("parent after fork: %d %d %s\n", global, local, heap);

        fflush(stdout);
        if ((pid = vfork()) == 0) _exit(4);
        report("vfork", pid);

        static char stack[4096];
        fflush(stdout);
        pid = clone(in_clone, stack + sizeof stack, SIGCHLD, "x");
        if (pid < 0) { perror("clone"); return 1; }
        report("clone", pid);
        return 0;
    }
"""


def test_fork_vfork_clone_run_like_native(tmp_path: Path) -> None:
    ref = native(tmp_path, PROCS)
    prog = build(tmp_path, PROCS, "-O2")
    root = tmp_path / "root"
    root.mkdir()
    caged = lind.run([prog], root=root, capture_output=True, timeout=120)
    assert caged.stdout.decode() == ref.stdout.decode()
    assert caged.returncode == ref.returncode == 0


def test_partial_link_is_not_instrumented(tmp_path: Path) -> None:
    src = tmp_path / "f.c"
    src.write_text(textwrap.dedent(FORK))
    obj = tmp_path / "f.o"
    assert cc.main(["-c", str(src), "-o", str(obj)]) == 0
    part = tmp_path / "part.o"
    assert cc.main(["-nostdlib", "-Wl,-r", str(obj), "-o", str(part)]) == 0
    assert b"asyncify_start_unwind" not in part.read_bytes()
    out = tmp_path / "f.wasm"
    assert cc.main([str(part), "-o", str(out)]) == 0
    assert exports_of(out) >= ASYNCIFY_EXPORTS


LOOPS = """
    #include <stdio.h>
    #include <sys/wait.h>
    #include <unistd.h>
    float a[4096], b[4096];
    int main(void) {
        for (int i = 0; i < 4096; i++) { a[i] = i; b[i] = 2 * i; }
        float s = 0;
        for (int r = 0; r < 10; r++)
            for (int i = 0; i < 4096; i++) s += a[i] * b[i];
        if (fork() == 0) _exit(3);
        int status;
        wait(&status);
        printf("%g %d\\n", s, WEXITSTATUS(status));
        return 0;
    }
"""


@pytest.mark.parametrize("flags", [("-O2",), ("-O3", "-msimd128")], ids=["scalar", "simd"])
def test_every_loop_of_a_program_that_forks_gets_a_safepoint(tmp_path: Path, monkeypatch,
                                                              flags) -> None:
    """The safepoint rewrite decodes every instruction (vectorised loops included): a
    check lands at the top of each loop, the module stays valid, and it runs."""
    out = build(tmp_path, LOOPS, *flags)
    result = lind.run([out], capture_output=True, timeout=60)
    assert result.stdout == b"4.57966e+11 3\n", result.stderr
    monkeypatch.setattr(cc, "_post_link", lambda *a: 0)
    (tmp_path / "raw").mkdir()
    raw = build(tmp_path / "raw", LOOPS, *flags).read_bytes()
    instrumented = safepoints.insert(raw)
    wasmtime.Module.validate(ENGINE, instrumented)
    word = asyncify.exported_constant(raw, safepoints.PENDING_WORD)
    check_start = b"\x41" + asyncify.encode_leb128(word, signed=True) + b"\x28\x02\x00\x04\x40\x10"
    loops = instrumented.count(check_start)
    assert loops >= 3 and len(instrumented) > len(raw)


# --------------------------------------------------------------------------
# Asyncify only where a fork can be reached (callgraph.py)

POINTERS = r"""
    #include <stdio.h>
    #include <stdlib.h>
    #include <sys/wait.h>
    #include <unistd.h>

    #define EXPORT(name) __attribute__((noinline, export_name(#name)))

    static int children;

    EXPORT(fork_and_wait) int fork_and_wait(int code) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) _exit(code);
        int status;
        if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); exit(1); }
        children++;
        return WEXITSTATUS(status);
    }

    /* Forks the first time qsort calls it: qsort's own frames are below the fork. */
    EXPORT(forking_cmp) int forking_cmp(const void *a, const void *b) {
        static int once;
        if (!once++) printf("child inside qsort: %d\n", fork_and_wait(5));
        int x = *(const int *)a, y = *(const int *)b;
        return (x > y) - (x < y);
    }

    /* Reaches fork only through a pointer of a signature no other caller uses. */
    EXPORT(forker_by_pointer) long long forker_by_pointer(long long v) {
        return fork_and_wait((int)v) + 100;
    }
    EXPORT(calls_through_pointer) long long calls_through_pointer(long long (*f)(long long), long long v) {
        return f(v) + 1;
    }

    /* Never reaches fork: a loop, and calls through a pointer of another signature. */
    EXPORT(half) double half(double x) { return x / 2; }
    EXPORT(never_forks) double never_forks(double (*g)(double), int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += g(i);
        return s;
    }

    int main(void) {
        int v[64];
        for (int i = 0; i < 64; i++) v[i] = (i * 37) % 64;
        qsort(v, 64, sizeof *v, forking_cmp);
        printf("sorted: %d %d %d\n", v[0], v[31], v[63]);
        long long (*volatile f)(long long) = forker_by_pointer;
        printf("through a pointer: %lld\n", calls_through_pointer(f, 9));
        double (*volatile g)(double) = half;
        printf("never forks: %g\n", never_forks(g, 1000));
        printf("children: %d\n", children);
        return 0;
    }
"""

# A busy loop that makes no system call, left by a signal handler's siglongjmp in a
# program that forks: the loop's safepoint calls the handler through a pointer, so
# every loop is below a possible jump, and is instrumented.
HANDLER_JUMPS = r"""
    #include <signal.h>
    #include <setjmp.h>
    #include <stdio.h>
    #include <sys/wait.h>
    #include <unistd.h>

    static sigjmp_buf out_of_loop;
    static volatile sig_atomic_t spins;
    static void on_alarm(int sig) { siglongjmp(out_of_loop, sig); }
    __attribute__((noinline, export_name("spin"))) void spin(void) { for (;;) spins++; }

    int main(void) {
        signal(SIGALRM, on_alarm);
        int sig = sigsetjmp(out_of_loop, 1);
        if (sig == 0) {
            alarm(1);
            spin();
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) _exit(6);
        int status;
        waitpid(pid, &status, 0);
        printf("out of the loop by signal %d, then a child: %d\n", sig, WEXITSTATUS(status));
        return 0;
    }
"""


def instrumented_functions(wasm: bytes) -> set[str]:
    """The exported functions whose code reads Asyncify's state global (the one
    asyncify_get_state returns): those Asyncify instrumented."""
    exports = asyncify.module_exports(wasm)
    imported = len(asyncify.function_imports(wasm))
    bodies = []
    for section, at, _ in asyncify.sections(wasm):
        if section == 10:
            count, at = asyncify.leb128(wasm, at)
            for _ in range(count):
                size, at = asyncify.leb128(wasm, at)
                bodies.append(wasm[at:at + size])
                at += size

    def global_reads(index: int) -> set[int]:
        body = bodies[index - imported]
        return {asyncify.leb128(body, start + 1)[0]
                for op, start, _ in wasm_code.instructions(body, wasm_code.code_start(body))
                if op == 0x23}

    (state,) = global_reads(exports["asyncify_get_state"][1])
    return {name for name, (kind, index) in exports.items()
            if kind == 0 and index >= imported and state in global_reads(index)}


def test_asyncify_instruments_only_what_can_reach_fork(tmp_path: Path) -> None:
    """What calls fork directly, through qsort's comparator or through a function
    pointer is instrumented and forks as natively; a function that cannot reach fork,
    loop and indirect call included, is left at full speed (default Asyncify instruments
    every function that makes an indirect call)."""
    out = build(tmp_path, POINTERS, "-O2")
    instrumented = instrumented_functions(out.read_bytes())
    assert {"fork_and_wait", "forking_cmp", "forker_by_pointer",
            "calls_through_pointer"} <= instrumented
    assert not {"half", "never_forks"} & instrumented
    ref = native(tmp_path, POINTERS)
    assert ref.returncode == 0 and b"child inside qsort: 5" in ref.stdout
    root = tmp_path / "root"
    root.mkdir()
    caged = lind.run([out], root=root, capture_output=True, timeout=60)
    assert (caged.returncode, caged.stdout.decode()) == (0, ref.stdout.decode()), caged.stderr


def test_a_handler_that_jumps_puts_every_loop_below_a_possible_unwind(tmp_path: Path) -> None:
    out = build(tmp_path, HANDLER_JUMPS, "-O2")
    assert "spin" in instrumented_functions(out.read_bytes())
    ref = native(tmp_path, HANDLER_JUMPS)
    assert ref.stdout == b"out of the loop by signal 14, then a child: 6\n"
    root = tmp_path / "root"
    root.mkdir()
    caged = lind.run([out], root=root, capture_output=True, timeout=60)
    assert (caged.returncode, caged.stdout) == (0, ref.stdout), caged.stderr


def test_reach_of_fork_follows_indirect_calls_by_signature(tmp_path: Path, monkeypatch) -> None:
    """callgraph.functions_reaching on the program as linked: an indirect call reaches
    what the address-taken functions of its signature reach, and no further."""
    monkeypatch.setattr(cc, "_post_link", lambda *a: 0)
    raw = build(tmp_path, POINTERS, "-O2").read_bytes()
    exports = asyncify.module_exports(raw)
    reaching = callgraph.functions_reaching(raw, asyncify.LIND_UNWIND_IMPORTS)
    named = {name for name, (kind, index) in exports.items() if kind == 0 and index in reaching}
    assert {"fork_and_wait", "forking_cmp", "forker_by_pointer",
            "calls_through_pointer"} <= named
    assert not {"half", "never_forks"} & named
    assert callgraph.functions_reaching(raw, ["lind.no_such_import"]) == set()


# Every way a module can take a function's address (an active segment, a declared one
# of expressions, a global's value) and every way to call it, beside what must stay out.
CALL_GRAPH = """
(module
  (type $void (func))
  (type $int (func (param i32)))
  (type $int_again (func (param i32)))
  (import "lind" "syscall_unwind" (func $unwind (param i32)))
  (import "lind" "syscall" (func $syscall (param i32)))
  (table 4 funcref)
  (global funcref (ref.func $taken_by_a_global))
  (elem (i32.const 0) func $taken_by_the_table)
  (elem declare funcref (ref.func $taken_by_a_declaration))
  (elem (i32.const 1) funcref (ref.func $taken_but_never_forks))
  (func $taken_by_the_table (type $int) (call $unwind (local.get 0)))
  (func $taken_by_a_global (type $void) (call $unwind (i32.const 1)))
  (func $taken_by_a_declaration (param i64) (call $unwind (i32.const 2)))
  (func $through_an_equal_type (call_indirect (type $int_again) (i32.const 5) (i32.const 0)))
  (func $through_void (call_indirect (type $void) (i32.const 0)))
  (func $through_i64 (call_indirect (param i64) (i64.const 2) (i32.const 2)))
  (func $calls_one_that_does (param f32) (call $through_void))
  (func $loops_and_makes_plain_calls (call $syscall (i32.const 3)) (loop (br 0)))
  (func $calls_that (call $loops_and_makes_plain_calls))
  (func $taken_but_never_forks (param f64))
  (func $through_a_type_nothing_forking_has
    (call_indirect (param f64) (f64.const 1) (i32.const 1)))
)
"""


def test_call_graph_of_every_kind_of_address_and_call() -> None:
    reaching = callgraph.functions_reaching(wasmtime.wat2wasm(CALL_GRAPH),
                                            asyncify.LIND_UNWIND_IMPORTS)
    functions = [line.split()[1] for line in CALL_GRAPH.splitlines()
                 if line.strip().startswith("(func $")]
    assert {functions[index - 2] for index in reaching} == {
        "$taken_by_the_table", "$taken_by_a_global", "$taken_by_a_declaration",
        "$through_an_equal_type", "$through_void", "$through_i64", "$calls_one_that_does"}


# --------------------------------------------------------------------------
# setjmp as WebAssembly exceptions, and the Asyncify twins of a program that forks

JUMPING_LIB = r"""
    #include <setjmp.h>
    jmp_buf jb;
    __attribute__((noinline)) void thrower(int n) { if (n == 0) longjmp(jb, 7); thrower(n - 1); }
    int try_it(int n) { int r = setjmp(jb); if (r == 0) thrower(n); return r; }
"""

FORKING_MAIN = r"""
    #include <stdio.h>
    #include <unistd.h>
    #include <sys/wait.h>
    int try_it(int);
    int main(void) {
        int r = try_it(3);
        fflush(stdout);
        pid_t p = fork();
        if (p == 0) { printf("child %d\n", try_it(1) + 1); return 0; }
        waitpid(p, 0, 0);
        printf("parent %d\n", r);
        return 0;
    }
"""


def test_separately_compiled_setjmp_forks_through_its_asyncify_twins(tmp_path: Path) -> None:
    """An object compiled with -c that setjmps carries its Asyncify twin; linked into a
    program that forks (as an object, from an archive by path, by -l, or through a
    partial link), the program is linked again with the twins, and runs as natively."""
    (tmp_path / "lib.c").write_text(textwrap.dedent(JUMPING_LIB))
    (tmp_path / "main.c").write_text(textwrap.dedent(FORKING_MAIN))
    gcc = shutil.which("gcc") or shutil.which("cc")
    assert gcc is not None, "no host C compiler for the native reference run"
    subprocess.run([gcc, "-O2", "-o", str(tmp_path / "native"), str(tmp_path / "lib.c"),
                    str(tmp_path / "main.c")], check=True)
    ref = subprocess.run([str(tmp_path / "native")], capture_output=True, check=True)
    assert ref.stdout == b"child 8\nparent 7\n"
    lib_o, main_o = tmp_path / "lib.o", tmp_path / "main.o"
    assert cc.main(["-O2", "-c", str(tmp_path / "lib.c"), "-o", str(lib_o)]) == 0
    assert cc.main(["-O2", "-c", str(tmp_path / "main.c"), "-o", str(main_o)]) == 0
    assert sjlj.ASYNCIFY_OBJECT in asyncify.custom_section_names(lib_o.read_bytes())
    assert sjlj.ASYNCIFY_OBJECT not in asyncify.custom_section_names(main_o.read_bytes())
    archive = tmp_path / "libjump.a"
    subprocess.run([sys.executable, "-m", "ziglang", "ar", "rcs", str(archive), str(lib_o)],
                   check=True)
    part = tmp_path / "part.o"
    assert cc.main(["-nostdlib", "-Wl,-r", str(lib_o), "-o", str(part)]) == 0
    links = {"objects": [str(main_o), str(lib_o)], "archive": [str(main_o), str(archive)],
             "-l": [str(main_o), f"-L{tmp_path}", "-ljump"], "partial": [str(main_o), str(part)]}
    for how, inputs in links.items():
        out = tmp_path / f"{how}.wasm"
        assert cc.main([*inputs, "-o", str(out)]) == 0, how
        wasm = out.read_bytes()
        assert asyncify.needs_asyncify(wasm) and not asyncify.uses_exception_handling(wasm), how
        assert sjlj.ASYNCIFY_OBJECT not in asyncify.custom_section_names(wasm), how
        caged = lind.run([out], root=tmp_path, capture_output=True, timeout=60)
        assert (caged.stdout, caged.returncode) == (ref.stdout, 0), how
    # without fork the same object stays exceptions: nothing of Asyncify
    (tmp_path / "nofork.c").write_text("int try_it(int);\nint main(void) { return try_it(2); }\n")
    out = tmp_path / "nofork.wasm"
    assert cc.main([str(tmp_path / "nofork.c"), str(archive), "-o", str(out)]) == 0
    assert not asyncify.needs_asyncify(out.read_bytes())
    assert lind.run([out], root=tmp_path, timeout=60).returncode == 7


def test_lto_lowers_setjmp_in_the_link_and_falls_back_when_the_program_forks(
        tmp_path: Path) -> None:
    """With -flto, objects are bitcode and LLVM lowers setjmp when the linker compiles
    them: the link gets the lowering's flags, and a program that forks is linked again
    without them (setjmp through Asyncify). Both run as natively."""
    (tmp_path / "lib.c").write_text(textwrap.dedent(JUMPING_LIB))
    (tmp_path / "main.c").write_text(textwrap.dedent(FORKING_MAIN))
    (tmp_path / "nofork.c").write_text("int try_it(int);\nint main(void) { return try_it(2); }\n")
    lib_o = tmp_path / "lib.o"
    assert cc.main(["-O2", "-flto", "-c", str(tmp_path / "lib.c"), "-o", str(lib_o)]) == 0
    assert lib_o.read_bytes().startswith(b"BC\xc0\xde")
    alone = tmp_path / "nofork.wasm"
    assert cc.main(["-O2", "-flto", str(tmp_path / "nofork.c"), str(lib_o), "-o", str(alone)]) == 0
    wasm = alone.read_bytes()
    assert not asyncify.needs_asyncify(wasm) and sjlj.uses_wasm_sjlj(wasm)
    assert lind.run([alone], root=tmp_path, timeout=60).returncode == 7
    forks = tmp_path / "forks.wasm"
    assert cc.main(["-O2", "-flto", str(tmp_path / "main.c"), str(lib_o), "-o", str(forks)]) == 0
    wasm = forks.read_bytes()
    assert asyncify.needs_asyncify(wasm) and not asyncify.uses_exception_handling(wasm)
    caged = lind.run([forks], root=tmp_path, capture_output=True, timeout=60)
    assert (caged.stdout, caged.returncode) == (b"child 8\nparent 7\n", 0)


FAULT_JUMP = r"""
    #include <setjmp.h>
    #include <signal.h>
    #include <stdio.h>
    #include <unistd.h>
    static SIGJMP_BUF env;
    static void on_segv(int s) { (void)s; SIGLONGJMP(env, 1); }
    int main(int argc, char **argv) {
        (void)argv;
        signal(SIGSEGV, on_segv);
        if (SIGSETJMP(env) == 0) { *(volatile int *)(long)(argc - 1) = 1; puts("no fault"); }
        else puts("recovered");
        return 0;
    }
"""
SIG_FAULT_JUMP = ("#define SIGJMP_BUF sigjmp_buf\n#define SIGSETJMP(e) sigsetjmp(e, 1)\n"
                  "#define SIGLONGJMP siglongjmp\n" + FAULT_JUMP)
PLAIN_FAULT_JUMP = ("#define SIGJMP_BUF jmp_buf\n#define SIGSETJMP(e) setjmp(e)\n"
                    "#define SIGLONGJMP longjmp\n" + FAULT_JUMP)


def test_longjmp_out_of_a_fault_handler(tmp_path: Path) -> None:
    """A fault's handler runs from the host after the trap unwound the program: only
    Asyncify's setjmp can resume it, which sigsetjmp always is (and setjmp with
    --setjmp=asyncify). A plain longjmp out of it, as an exception, leaves the fault
    standing, with a reason that says what to do."""
    ref = native(tmp_path, SIG_FAULT_JUMP)
    assert ref.stdout == b"recovered\n"
    for name, source, flags in [("sig", SIG_FAULT_JUMP, ()),
                                ("asyncify", PLAIN_FAULT_JUMP, ("--setjmp=asyncify",))]:
        caged = lind.run([build(tmp_path, source, "-O2", *flags, name=name)], root=tmp_path,
                         capture_output=True, timeout=60)
        assert (caged.stdout, caged.returncode) == (ref.stdout, 0), name
    caged = lind.run([build(tmp_path, PLAIN_FAULT_JUMP, "-O2", name="plain")], root=tmp_path,
                     capture_output=True, timeout=60)
    assert caged.returncode == -11 and caged.stdout == b""
    assert "--setjmp=asyncify" in caged.trap, caged.trap


def test_a_longjmp_nothing_catches_is_sigsegv_with_its_reason(tmp_path: Path) -> None:
    """longjmp to a jmp_buf whose setjmp's function has returned (undefined in C): no
    frame catches the throw; the cage ends with SIGSEGV and says why."""
    source = r"""
        #include <setjmp.h>
        #include <stdio.h>
        static jmp_buf jb;
        __attribute__((noinline)) static int mark(void) { return setjmp(jb); }
        int main(void) { if (mark() == 0) longjmp(jb, 1); puts("back"); return 0; }
    """
    caged = lind.run([build(tmp_path, source, "-O2")], root=tmp_path, capture_output=True,
                     timeout=60)
    assert caged.returncode == -11 and caged.stdout == b""
    assert caged.trap == "longjmp to a jmp_buf whose setjmp's function has returned"


def test_setjmp_option_is_checked(tmp_path: Path, capfd) -> None:
    src = tmp_path / "x.c"
    src.write_text("int main(void) { return 0; }\n")
    assert cc.main(["--setjmp=fast", str(src), "-o", str(tmp_path / "x.wasm")]) == 1
    assert "--setjmp=fast: expected --setjmp=asyncify or --setjmp=exceptions" in \
        capfd.readouterr().err


def test_damaged_archives_are_left_to_the_linker() -> None:
    """Every link looks into its archives (bitcode? twins?): a damaged one must neither
    raise nor loop (a negative size walked back to the same header forever)."""
    good = b"!<arch>\n" + b"a.o/".ljust(16) + b"".ljust(32) + b"2".ljust(10) + b"`\n" + b"xy"
    assert sjlj.archive_members(good) == [("a.o", b"xy")]
    for size in (b"zz", b"-60", b"-1"):
        bad = good + b"b.o/".ljust(16) + b"".ljust(32) + size.ljust(10) + b"`\n" + b"xy"
        assert sjlj.archive_members(bad) == [("a.o", b"xy")]
    long_name = b"!<arch>\n" + b"#1/-3".ljust(16) + b"".ljust(32) + b"2".ljust(10) + b"`\nxy"
    assert sjlj.archive_members(long_name) == []
