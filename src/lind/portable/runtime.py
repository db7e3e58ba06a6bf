"""The cooperative runtime: cages on any WebAssembly engine (lind.engine), on one
host thread, with no host system call -- what Lind runs on in a web browser, and
on Linux (`lind.portable.runtime.run`, on wasmtime).

Every cage is a process of this runtime: an instance of its program over a memory of
its own, its fds, its working directory. Files are a memfs Tree, pipes and the
console are Python objects (lind.portable.descriptions), sockets connect the run's
cages only (sockets), signals and file locks are the run's own (signals, locks),
time is the host's clock as the language gives it. fork, setjmp and longjmp unwind the cage's stack with
Asyncify as `lind cc` instruments programs that use them, exactly as the threaded
runtime does; exec replaces the instance.

One thread runs everything, so a call that must wait (a read of an empty pipe,
wait4, poll, a sleep) lets the other cages run. A program built with `lind cc
--suspendable` (Asyncify on every call) is set aside: its stack unwound into its
memory, it waits in the run's list of parked cages until what it waits for can
happen (or its time is up), then it is rewound into the same call, which runs
again. Any program else waits on the host stack: the other cages run on top of it,
and it resumes only when those above it finish or wait themselves; when every cage
that could end a wait is beneath it, the call fails with EDEADLK (said on the run's
stderr) -- so two such cages answering each other back and forth over pipes cannot
run, and at most 24 wait on one another. When every cage waits and none can ever be
woken (a cycle that would hang on Linux), the one that waited last is told EDEADLK.
A run's pipes hold up to 256 MiB before a writer waits.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import posixpath
import struct
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lind.engine import (
    WASM_PAGE,
    Engine,
    EngineError,
    Import,
    Instance,
    Memory,
    instance_bytes,
    jump_points,
    new_engine,
)
from lind.engine.compiler import CompileLimit
from lind.microvisor import abi
from lind.portable import signals, syscalls
from lind.portable.descriptions import Console, Description, PipeBudget
from lind.portable.events import TimerFile
from lind.portable.locks import Locks
from lind.portable.memfs import File, Tree
from lind.portable.resources import Resources
from lind.portable.sockets import Network
from lind.portable.syscalls import CageEnded, Suspend
from lind.toolchain.asyncify import (
    NULL_PAGE_SIZE,
    NULL_PAGE_UNUSED,
    AsyncifyError,
    custom_section_names,
    instance_shape,
    is_suspendable,
)

RETRY = 1 << 40                  # Process.wake: run the parked call again
START = "_start"
SPAWN_START = "__lind_spawn_start"   # a posix_spawn child's entry (guest src/process/posix_spawn.c)
ASYNCIFY_BUFFER = 64 * 1024       # the unwound frames of one fork or setjmp
ASYNCIFY_STACK_POINTER = "lind_global_0"   # what `lind cc` exports the stack pointer as
_COPIED_GLOBAL_PREFIX = "lind_global_"
MAX_MEMORY_PAGES = 16384          # 1 GiB of linear memory for each cage
PAGE = 4096
MAX_PROCESSES = 256
MAX_NESTED = 24                  # cages run on top of waiting ones at once (host stack depth)
MEMORY_LIMIT = 2 << 30           # the linear memories of all of a run's cages together
PROGRAMS_KEPT_BYTES = 64 << 20   # code of compiled programs kept for the next exec
TREE_ROOM = 1 << 30              # what a run may add to a tree that has no capacity
ARG_MAX = 2 << 20                # argv and envp of an exec together, as Linux's default
LONGEST_NAP = 60.0               # seconds the scheduler sleeps before it looks again
LONGEST_TIMER = 1e7              # seconds past which a clock thread is not armed (~4 months)
# setjmp's jump points a cage keeps (their frames are host memory; the threaded runtime's
# limits, lind.microvisor.limits.JUMP_POINTS and JUMP_POINT_BYTES), the least recently
# used forgotten past them; what they hold counts in the run's memory
JUMP_POINTS = 1024
JUMP_POINT_BYTES = 16 << 20
_SUSPEND_HINT = " (built with lind cc --suspendable, it would wait aside)"


@dataclass(frozen=True)
class Program:
    """A compiled program, whether it can be set aside on any call, and the host
    memory its code holds and each instance of it holds of its own (globals, tables),
    counted in the run's memory while cages run it."""
    module: Any
    suspendable: bool
    code_bytes: int
    instance_bytes: int
    memory: Import | None       # its memory import (a program lind cc built: lind.memory)
    null_guard: bool = False    # it keeps nothing in page 0: a pointer there is EFAULT


@dataclass
class Parked:
    """A suspendable cage set aside in a call that must wait."""
    proc: Process
    ready: Callable[[], bool]       # the call can go on (run it again)
    what: str
    until: float | None             # monotonic time its wait ends anyway...
    expired: Callable[[], int] | None    # ...with this result of the call
    restartable: bool = True        # a handler's SA_RESTART makes the call again


class _RunFrames(jump_points.FrameBudget):
    """The frames of a run's jump points: they fit while the run's memory has room
    (memory_held counts them, each once)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(0)
        self._runtime = runtime

    def fits(self, n: int) -> bool:
        return self._runtime.memory_held() + n <= self._runtime.memory_limit


def args_bytes(argv: Sequence[bytes], env: Sequence[bytes]) -> int:
    """What a program's argv and env hold of the host (each string, and a pointer's
    worth for it), counted in the run's memory: 250 cages exec'd with 2 MiB of
    arguments each held 500 MiB of the host under --memory 64M."""
    return sum(len(s) + 9 for s in argv) + sum(len(s) + 9 for s in env)


def memory_pages(program: Program) -> tuple[int, int]:
    """The pages `program`'s lind.memory starts with and may grow to here: ENOEXEC for
    a program without one (not built with lind cc), ENOMEM when it cannot fit."""
    wanted = program.memory
    if wanted is None or wanted.module != "lind" or wanted.name != "memory":
        raise OSError(errno.ENOEXEC, "not a program built with lind cc (no lind.memory import)")
    least, most = wanted.limits
    most = min(most or MAX_MEMORY_PAGES, MAX_MEMORY_PAGES)
    if least > most:
        raise OSError(errno.ENOMEM, "Cannot allocate memory")
    return least, most


class Process:
    """One cage: a program instance, its memory, its fds and identity."""

    def __init__(self, runtime: Runtime, pid: int, parent: Process | None) -> None:
        self.runtime = runtime
        self.pid = pid
        self.parent = parent
        self.children: list[Process] = []
        self.fds: dict[int, tuple[Description, bool]] = {}    # fd -> (description, cloexec)
        self.cwd = "/"
        self.umask = 0o022
        self.argv: list[bytes] = []
        self.args_bytes = 0                  # what argv and env hold, counted in the run's memory
        self.env: list[bytes] = []
        self.status: int | None = None       # the wait status, once it ended
        self.reaped = False
        self.program: Program | None = None
        self.instance: Instance | None = None
        self.memory: Memory | None = None
        self.heap: Heap | None = None
        self.exports: frozenset[str] = frozenset()
        self.exec_request: tuple[Program, list[bytes], list[bytes]] | None = None
        self.after_unwind: Callable[[], None] | None = None
        self.rewind_result: int | None = None
        self.rewinding = False
        self.woken: int | None = None  # rewinding into a parked call: None, RETRY or a result
        self.asyncify_data = 0
        self.jump_points = runtime.new_jump_points()
        self.running = False     # on the host stack now (running or waiting)
        self.parked = False      # set aside in a call (Runtime.parked)
        self.entry = START
        self.spawn_plan: bytes | None = None
        # the first cage leads a group in the session of whoever started the run (0)
        # The first process's group and session lie outside the run, as for the first
        # process of a PID namespace (0 seen from inside): it may call setsid().
        self.pgid = parent.pgid if parent is not None else 0
        self.sid = parent.sid if parent is not None else 0
        self.signal_mask = 0
        self.actions: dict[int, tuple[int, int, int]] = {}   # signo -> handler, flags, mask
        # signals sent, not yet taken: each sending's siginfo (signals.post)
        self.pending: dict[int, deque[bytes]] = {}
        self.signal_words = (0, 0)               # where the guest reads "a handler is due"
        self.mask_after_suspend: int | None = None   # sigsuspend's caller's mask
        self.altstack = (0, 2, 0)                # sigaltstack's sp, flags, size (disabled)
        self.resources = (parent.resources.forked() if parent is not None
                          else Resources.first(runtime.max_processes))

    # -- memory ---------------------------------------------------------------
    # A program lind cc built keeps nothing in page 0 (it says so in a custom section):
    # as on the threaded runtime, whose trampoline guards that page, a pointer into it
    # is EFAULT, as Linux answers for a bad pointer.
    def null_page(self, addr: int, length: int) -> bool:
        addr &= 0xFFFFFFFF
        return bool(length) and addr < NULL_PAGE_SIZE and self.program is not None \
            and self.program.null_guard

    def read(self, addr: int, length: int) -> bytes:
        addr &= 0xFFFFFFFF
        if self.null_page(addr, length):
            raise OSError(errno.EFAULT, "Bad address")
        try:
            return self.memory.read(addr, length)
        except IndexError:
            raise OSError(errno.EFAULT, "Bad address") from None

    def write(self, addr: int, data: bytes) -> None:
        addr &= 0xFFFFFFFF
        if self.null_page(addr, len(data)):
            raise OSError(errno.EFAULT, "Bad address")
        try:
            self.memory.write(addr, data)
        except IndexError:
            raise OSError(errno.EFAULT, "Bad address") from None

    def string(self, addr: int, limit: int = abi.PATH_MAX) -> bytes:
        """The NUL-terminated string at `addr` (ENAMETOOLONG past `limit`)."""
        addr &= 0xFFFFFFFF
        out, step = bytearray(), 256
        while len(out) <= limit:
            chunk = self.read(addr + len(out), min(step, max(1, self.memory.size() - addr - len(out))))
            end = chunk.find(b"\0")
            if end >= 0 and len(out) + end <= limit:
                out += chunk[:end]
                return bytes(out)
            if end >= 0:
                break
            out += chunk
            step = min(2 * step, 1 << 16)   # (a copy of all read so far, 256 bytes on, was
                                            # ~30 MB of garbage for one string of 128 KiB)
        raise OSError(errno.ENAMETOOLONG, "File name too long")

    def strings(self, addr: int) -> list[bytes]:
        """A NULL-terminated array of string pointers (argv, envp)."""
        items, total = [], 0
        addr &= 0xFFFFFFFF
        while True:
            (pointer,) = struct.unpack("<I", self.read(addr + 4 * len(items), 4))
            if pointer == 0:
                return items
            items.append(self.string(pointer, 1 << 17))
            total += len(items[-1]) + 1 + 8
            if total > ARG_MAX:       # one string named a million times is E2BIG too
                raise OSError(errno.E2BIG, "Argument list too long")

    # -- fds ------------------------------------------------------------------
    def description(self, fd: int) -> Description:
        entry = self.fds.get(abi.s32(fd))
        if entry is None:
            raise OSError(errno.EBADF, "Bad file descriptor")
        return entry[0]

    def install(self, description: Description, cloexec: bool = False, lowest: int = 0) -> int:
        fd = lowest
        while fd in self.fds:
            fd += 1
        if fd >= self.resources.open_files:
            description.release()
            raise OSError(errno.EMFILE, "Too many open files")
        self.fds[fd] = (description, cloexec)
        return fd

    def inherit_fds(self, parent: Process) -> None:
        """fork and posix_spawn: the parent's fds, each what its child holds of it."""
        for fd, (description, cloexec) in parent.fds.items():
            self.fds[fd] = (description.inherited_by(self), cloexec)

    def close(self, fd: int) -> None:
        entry = self.fds.pop(abi.s32(fd), None)
        if entry is None:
            raise OSError(errno.EBADF, "Bad file descriptor")
        description = entry[0]
        self.runtime.locks.fd_closed(self, description)
        description.release()
        if description.refs == 0:
            self.runtime.locks.description_gone(description)

    # -- the program ------------------------------------------------------------
    def load(self, program: Program, argv: list[bytes], env: list[bytes]) -> None:
        """Instantiate `program` over a fresh memory (start, exec)."""
        engine = self.runtime.engine
        wanted = program.memory
        least, most = memory_pages(program)
        self.memory = None                      # the old program's, on exec
        code = 0 if self.runtime.runs(program) else program.code_bytes
        args = args_bytes(argv, env)
        self.runtime.charge_memory(least * WASM_PAGE + code + program.instance_bytes + args)
        memory = engine.new_memory(least, most, wanted.shared)
        self._instantiate(program, memory)
        self.argv, self.env, self.args_bytes = argv, env, args
        heap_base = self.instance.get_global("__heap_base") if self.instance.has("__heap_base") \
            else memory.size()
        self.heap = Heap(memory, heap_base, most * WASM_PAGE, self.runtime.charge_memory)
        self.asyncify_data = 0
        self.jump_points = self.runtime.new_jump_points()
        self.entry = START

    def _instantiate(self, program: Program, memory: Memory) -> None:
        engine = self.runtime.engine
        functions = {("lind", "syscall"): self._syscall, ("lind", "syscall_unwind"): self._syscall,
                     ("lind", "args_sizes_get"): lambda c, s: self._sizes(self.argv, c, s),
                     ("lind", "args_get"): lambda p, b: self._strings_into(self.argv, p, b),
                     ("lind", "environ_sizes_get"): lambda c, s: self._sizes(self.env, c, s),
                     ("lind", "environ_get"): lambda p, b: self._strings_into(self.env, p, b)}
        self.program, self.memory = program, memory
        try:
            self.instance = engine.instantiate(program.module, functions, memory)
        except EngineError as exc:    # a memory of its own, a third table, its start trapped
            raise OSError(errno.ENOEXEC, f"not a program Lind can run: {exc}") from None
        self.exports = frozenset(engine.exports(program.module))

    def _sizes(self, items: list[bytes], count: int, size: int) -> int:
        self.write(count, struct.pack("<I", len(items)))
        self.write(size, struct.pack("<I", sum(len(i) + 1 for i in items)))
        return 0

    def _strings_into(self, items: list[bytes], pointers: int, buffer: int) -> int:
        at, offsets = buffer & 0xFFFFFFFF, []
        for item in items:
            offsets.append(at)
            at += len(item) + 1
        self.write(buffer, b"".join(i + b"\0" for i in items))
        self.write(pointers, b"".join(struct.pack("<I", o) for o in offsets))
        return 0

    def _syscall(self, nr: int, *args: int) -> int:
        """Every call the cage makes: its result, or -errno."""
        if self.status is not None or self.exec_request is not None:
            raise CageEnded()        # ending: nothing more runs in this instance
        if self.woken is not None:   # rewound into the call it was parked in
            woken, self.woken, self.rewinding = self.woken, None, False
            self.instance.call("asyncify_stop_rewind")
            if woken != RETRY:       # ended while aside: its own mask, if any, goes
                if woken != -abi.linux_errno(errno.EINTR) or not signals.deliverable(self):
                    signals.unmask(self)
                return woken
        try:
            return self.runtime.dispatch(self, nr & 0xFFFFFFFF, args)
        except Suspend as wait:
            parked = Parked(self, *wait.args)
            return self.unwind_then(lambda: self.runtime.park(parked))

    # -- Asyncify (fork, setjmp, longjmp) ----------------------------------------
    def unwind_then(self, action: Callable[[], None]) -> int:
        """From a call: unwind the cage's stack into its buffer, then `action`."""
        if "asyncify_start_unwind" not in self.exports:
            raise OSError(errno.ENOSYS, "program was not built with unwinding (lind cc)")
        if not self.asyncify_data:
            self.asyncify_data = self.heap.mmap(ASYNCIFY_BUFFER)
        data = self.asyncify_data
        self.write(data, struct.pack("<II", data + 8, data + ASYNCIFY_BUFFER))
        self.after_unwind = action
        self.instance.call("asyncify_start_unwind", data)
        return 0

    def rewound(self) -> int | None:
        """The result the call that unwound returns, when this call is its rewind."""
        if not self.rewinding:
            return None
        self.rewinding = False
        self.instance.call("asyncify_stop_rewind")
        result, self.rewind_result = self.rewind_result, None
        return result

    def resume_with(self, result: int) -> None:
        self.rewind_result = result
        self.rewinding = True

    def wake(self, result: int) -> None:
        """Rewind a parked cage into its call: run it again (RETRY) or return `result`."""
        self.woken = result
        self.rewinding = True

    def globals_to_copy(self) -> list[str]:
        return sorted(n for n in self.exports
                      if n.startswith(_COPIED_GLOBAL_PREFIX) or n == "__stack_pointer")

    def save_jump_point(self, env: int) -> None:
        """setjmp(env), just unwound: keep its frames under a token in the jmp_buf."""
        data = self.asyncify_data
        (current,) = struct.unpack("<I", self.read(data, 4))
        if not data + 8 <= current <= data + ASYNCIFY_BUFFER:   # the program wrote it
            raise OSError(errno.EFAULT, "setjmp's unwound frames end outside their buffer")
        frames = self.read(data + 8, current - data - 8)
        self.read(env, 8)                       # EFAULT before a point is kept for it
        try:
            token = self.jump_points.save(frames, self.instance.get_global(ASYNCIFY_STACK_POINTER),
                                          env)
        except MemoryError:
            raise OSError(errno.ENOMEM, "no memory left for setjmp's frames") from None
        self.write(env, struct.pack("<Q", token))

    def restore_jump_point(self, env: int) -> bool:
        """longjmp(env), just unwound: make the rewind land in that setjmp."""
        (token,) = struct.unpack("<Q", self.read(env, 8))
        point = self.jump_points.take(token)
        if point is None:
            return False
        frames, stack_pointer = point
        data = self.asyncify_data
        self.write(data + 8, frames)
        self.write(data, struct.pack("<I", data + 8 + len(frames)))
        self.instance.set_global(ASYNCIFY_STACK_POINTER, stack_pointer)
        return True

    # -- ending ---------------------------------------------------------------
    def end(self, status: int) -> None:
        """exit or a fatal signal: close everything, become a zombie for the parent."""
        if self.status is not None:
            return
        self.status = status
        for fd in list(self.fds):
            self.close(fd)
        self.runtime.locks.process_ended(self)
        opening = self.runtime.fifo_openers.pop(self, None)
        if opening is not None:
            opening[1].release()
        if self in self.runtime.timers:
            self.runtime.set_timer(self, None)
        signals.discard(self)
        if self.parent is not None:
            killed = status & 0x7F
            signals.post(self.parent, signals.SIGCHLD, self.pid,
                         signals.CLD_KILLED if killed else signals.CLD_EXITED,
                         killed or status >> 8)
        if self.memory is not None:
            self.resources.peak_kib = max(self.resources.peak_kib, self.memory.size() // 1024)
        self.instance = self.memory = self.heap = None    # its memory back to the run
        self.argv, self.env, self.args_bytes = [], [], 0   # (a zombie kept them, and
        self.spawn_plan = None                             # a plan it never fetched)
        self.jump_points = self.runtime.new_jump_points()
        for child in self.children:
            child.parent = None          # no init to adopt them: nobody waits for them
            if child.resources.parent_death_signal:          # prctl(PR_SET_PDEATHSIG)
                signals.post(child, child.resources.parent_death_signal, self.pid)
        self.children = []
        if self.parent is None:
            self.reaped = True


class Heap:
    """brk and anonymous mmap over a cage's linear memory: page-aligned regions above
    the program's heap base, freed ranges reused first fit."""

    def __init__(self, memory: Memory, base: int, limit: int,
                 budget: Callable[[int], None]) -> None:
        self.memory = memory
        self.budget = budget          # budget(bytes): ENOMEM unless the run has them
        self.brk = self.heap_base = (base + 15) & ~15
        self.top = (self.brk + PAGE - 1) & ~(PAGE - 1)   # mappings start above brk's first page
        self.limit = limit
        self.free: list[tuple[int, int]] = []     # (start, length), sorted
        self.mapped: dict[int, int] = {}

    def _ensure(self, end: int) -> None:
        if end > self.limit:
            raise OSError(errno.ENOMEM, "Cannot allocate memory")
        size = self.memory.size()
        if end > size:
            self.budget(end - size)
            try:
                self.memory.grow((end - size + WASM_PAGE - 1) // WASM_PAGE)
            except EngineError:
                raise OSError(errno.ENOMEM, "Cannot allocate memory") from None

    def set_brk(self, addr: int) -> int:
        """brk: the program break moves inside the first region; mappings go above it."""
        if addr < self.heap_base or addr > self.top + (64 << 20) or self.mapped:
            return self.brk
        try:
            self._ensure(addr)
        except OSError:
            return self.brk
        if addr > self.brk:
            self.memory.write(self.brk, bytes(addr - self.brk))
        self.brk = addr
        self.top = max(self.top, (addr + PAGE - 1) & ~(PAGE - 1))
        return addr

    def mmap(self, length: int) -> int:
        length = (length + PAGE - 1) & ~(PAGE - 1)
        if length <= 0 or length > self.limit:
            raise OSError(errno.ENOMEM if length > 0 else errno.EINVAL, "mmap")
        for i, (start, size) in enumerate(self.free):
            if size >= length:
                if size == length:
                    del self.free[i]
                else:
                    self.free[i] = (start + length, size - length)
                self.memory.write(start, bytes(length))
                self.mapped[start] = length
                return start
        start = self.top
        self._ensure(start + length)
        self.top = start + length
        self.memory.write(start, bytes(length))   # memory.grow gives zeros; a fork copy may not
        self.mapped[start] = length
        return start

    def munmap(self, addr: int, length: int) -> None:
        if addr % PAGE or length <= 0:
            raise OSError(errno.EINVAL, "Invalid argument")
        length = (length + PAGE - 1) & ~(PAGE - 1)
        for start, size in list(self.mapped.items()):
            end = start + size
            if start >= addr + length or end <= addr:
                continue
            del self.mapped[start]
            if start < addr:
                self.mapped[start] = addr - start
            if end > addr + length:
                self.mapped[addr + length] = end - addr - length
            lo, hi = max(start, addr), min(end, addr + length)
            self.free.append((lo, hi - lo))
        self.free.sort()

    def copy(self, memory: Memory) -> Heap:
        twin = Heap(memory, self.heap_base, self.limit, self.budget)
        twin.brk, twin.top = self.brk, self.top
        twin.free, twin.mapped = list(self.free), dict(self.mapped)
        return twin


class Runtime:
    """One run: its processes, its tree, its console, its engine."""

    def __init__(self, *, engine: Engine | None = None, tree: Tree | None = None,
                 stdin: bytes | Callable[[int], bytes] = b"",
                 stdout: Callable[[bytes], None] | None = None,
                 stderr: Callable[[bytes], None] | None = None,
                 layers: Sequence[Any] = (), timeout: float | None = None,
                 max_processes: int = MAX_PROCESSES, memory_limit: int = MEMORY_LIMIT) -> None:
        self.engine = engine or new_engine()
        self.tree = tree if tree is not None else Tree()
        if self.tree.capacity is None:          # what cages write is the host's memory
            self.tree.capacity = self.tree.used + TREE_ROOM
        with self.tree.lock:
            if self.tree.find("/tmp").node is None:
                self.tree.make_dirs("/tmp").mode = 0o41777
        self.stdout = stdout or (lambda b: (sys.stdout.buffer.write(b), sys.stdout.flush()))
        self.stderr = stderr or (lambda b: (sys.stderr.buffer.write(b), sys.stderr.flush()))
        self.stdin = stdin
        self.layers = list(layers)       # grates of this runtime: handle(call) -> int
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.pipe_budget = PipeBudget()
        self.network = Network(self.pipe_budget)     # its sockets' names (lind.portable.sockets)
        self.locks = Locks()
        self.fifos: dict[Any, Any] = {}          # a FIFO's node -> its pipe
        self.fifo_openers: dict[Process, tuple] = {}   # set aside in a FIFO's open
        self.timers: dict[Process, tuple[float, float]] = {}   # setitimer's: due, interval
        self.timer_files: set[TimerFile] = set()     # armed timerfds: the scheduler wakes for them
        self.on_cpu: Process | None = None           # the cage the host CPU works for
        self.on_cpu_since = 0
        self._clock: threading.Timer | None = None
        self.max_processes = max_processes
        if memory_limit <= 0:
            raise ValueError("a memory limit must be positive")
        self.memory_limit = memory_limit
        self.frames = _RunFrames(self)    # what its cages' jump points hold
        self.processes: dict[int, Process] = {}
        self.queued_signals = 0           # realtime signals its processes have queued
        self.runnable: deque[Process] = deque()
        self.parked: list[Parked] = []
        self.started_ns = time.monotonic_ns()
        self._next_pid = 1
        self._modules: OrderedDict[bytes, Program] = OrderedDict()   # least recent first
        self.timed_out = False
        self.nested = 0                  # cages on the host stack now

    # -- programs -----------------------------------------------------------------
    def compile(self, wasm: bytes) -> Program:
        key = hashlib.sha256(wasm).digest()
        program = self._modules.get(key)
        if program is not None:
            self._modules.move_to_end(key)
            return program
        if not wasm.startswith(b"\0asm"):
            raise OSError(errno.ENOEXEC, "Exec format error")
        try:
            module = self.engine.compile(wasm)
            memory = next((i for i in self.engine.imports(module) if i.kind == "memory"), None)
            program = Program(module, is_suspendable(wasm), self.engine.code_size(module),
                              instance_bytes(*instance_shape(wasm)), memory,
                              NULL_PAGE_UNUSED in custom_section_names(wasm))
        except CompileLimit as exc:
            raise OSError(errno.ENOMEM, f"not compiled: {exc}") from None
        except (EngineError, AsyncifyError) as exc:
            raise OSError(errno.ENOEXEC, f"not a valid program: {exc}") from None
        self._modules[key] = program
        while (len(self._modules) > 1
               and sum(p.code_bytes for p in self._modules.values()) > PROGRAMS_KEPT_BYTES):
            self._modules.popitem(last=False)    # (a cage running it still holds it)
        return program

    def memory_held(self, leaving: Process | None = None, coming: Program | None = None) -> int:
        """Bytes of linear memory the run's cages hold now, of their instances' own
        state, and of the code of the programs they run (each program once); without
        what `leaving` holds, with `coming`'s code and instance (an exec's)."""
        holders = [p for p in self.processes.values()
                   if p.memory is not None and p.program is not None and p is not leaving]
        running = {id(p.program): p.program.code_bytes for p in holders}
        instances = sum(p.program.instance_bytes for p in holders)
        if coming is not None:
            running[id(coming)] = coming.code_bytes
            instances += coming.instance_bytes
        # a fork's child's arguments counted again (it shares its parent's)
        kept = sum(p.args_bytes + len(p.spawn_plan or b"") for p in holders)
        return (sum(p.memory.size() for p in holders) + sum(running.values()) + instances
                + kept + self.frames.held)

    def new_jump_points(self) -> jump_points.JumpPoints:
        """A cage's jump points (a new program's): JUMP_POINTS and JUMP_POINT_BYTES at
        most, within the run's memory."""
        return jump_points.JumpPoints(1, JUMP_POINTS, JUMP_POINT_BYTES, self.frames)

    def runs(self, program: Program) -> bool:
        """Whether a cage of the run has `program` as its program now."""
        return any(p.program is program and p.memory is not None
                   for p in self.processes.values())

    def charge_memory(self, more: int) -> None:
        """ENOMEM unless the run's cages may hold `more` bytes of memory besides theirs."""
        if self.memory_held() + more > self.memory_limit:
            raise OSError(errno.ENOMEM, "Cannot allocate memory")

    def new_process(self, parent: Process | None) -> Process:
        live = sum(1 for p in self.processes.values() if not p.reaped)
        if live >= self.max_processes:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        proc = Process(self, self._next_pid, parent)
        self._next_pid += 1
        self.processes[proc.pid] = proc
        if parent is not None:
            parent.children.append(proc)
        return proc

    def run(self, wasm: bytes, argv: Sequence[bytes | str], env: Sequence[bytes | str] = (),
            cwd: str = "/") -> int:
        """Run the program `wasm` with `argv` and `env` until every cage it starts has
        ended; its exit status as subprocess gives it (-N: killed by signal N)."""
        first = self.new_process(None)
        first.cwd = cwd
        first.resources.name = posixpath.basename(os.fsencode(argv[0]))[:15] if argv else b""
        first.install(Console(stdin=self.stdin))
        first.install(Console(sink=self.stdout))
        first.install(Console(sink=self.stderr))
        encode = [a.encode() if isinstance(a, str) else a for a in argv]
        environ = [e.encode() if isinstance(e, str) else e for e in env]
        first.load(self.compile(wasm), encode, environ)
        self._place_program(wasm, encode[0] if encode else b"", cwd)
        self.runnable.append(first)
        timer = self._interrupt_at_deadline()
        try:
            self.engine.hosting(self._schedule)
        finally:
            for clock in (timer, self._clock):
                if clock is not None:
                    clock.cancel()
        status = first.status or 0
        return -(status & 0x7F) if status & 0x7F else status >> 8

    def _schedule(self) -> None:
        """Run cages until none is left to run or to wake."""
        while True:
            self.wake_parked()
            if self.runnable:
                self.step(self.runnable.popleft())
                continue
            if not self.parked:
                return
            if self._past_deadline():
                for parked in self.parked:
                    parked.proc.end(abi.signal_status(9))
                self.parked.clear()
                return
            soonest = self._soonest()
            if soonest is not None:
                _nap_until(soonest)
                continue
            last = self.parked.pop()      # a cycle of waits: the newest is told so
            self.stderr(f"lind: cage {last.proc.pid} would wait forever for {last.what}: "
                        "every cage that could end the wait waits too\n".encode())
            self._wake(last, -abi.linux_errno(errno.EDEADLK))

    def _past_deadline(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
            return True
        return False

    def _soonest(self, until: float | None = None) -> float | None:
        """The earliest time a timed wait (`until`, or a parked cage's) ends, capped by
        the run's deadline."""
        times = [p.until for p in self.parked if p.until is not None]
        times += [due for due, _ in self.timers.values()]
        times += [due for f in self.timer_files if (due := f.due_monotonic()) is not None]
        if until is not None:
            times.append(until)
        if not times:
            return None
        return min(times) if self.deadline is None else min(*times, self.deadline)

    def park(self, parked: Parked) -> None:
        parked.proc.parked = True
        self.parked.append(parked)

    def _wake(self, parked: Parked, result: int) -> None:
        parked.proc.parked = False
        parked.proc.wake(result)
        self.runnable.append(parked.proc)

    def wake_parked(self) -> None:
        """Make runnable each parked cage whose call can go on or whose time is up."""
        signals.fire_timers(self)
        if not self.parked:
            return
        now, still = time.monotonic(), []
        for parked in self.parked:
            if parked.proc.status is not None:
                continue                      # killed while it waited
            interrupted = signals.interruption(parked.proc, parked.restartable)
            if parked.ready():     # as Linux: a call that can go on does; the signal after
                self._wake(parked, RETRY)
            elif interrupted:
                self._wake(parked, -abi.linux_errno(interrupted))
            elif parked.until is not None and now >= parked.until:
                self._wake(parked, parked.expired() if parked.expired else 0)
            else:
                still.append(parked)
        self.parked = still

    def _interrupt_at_deadline(self) -> threading.Timer | None:
        """A cage computing without calls is stopped at the deadline by the engine, if
        it can (wasmtime's epochs), from a timer thread where threads exist; otherwise
        at its next call (dispatch)."""
        if self.deadline is None:
            return None

        def stop() -> None:
            self.timed_out = True
            self.engine.interrupt()

        return _on_a_thread_at(self.deadline, stop)

    def set_timer(self, proc: Process, due: float | None, interval: float = 0.0) -> None:
        """Arm (or with `due` None, disarm) `proc`'s real-time timer (setitimer, alarm)."""
        if due is None:
            self.timers.pop(proc, None)
        else:
            self.timers[proc] = (due, interval)
        self._rearm_clock()

    def _rearm_clock(self) -> None:
        """Where threads exist, a clock that, when a timer is due, raises its cage's
        signal words: a cage computing without calls then takes the signal at its next
        loop safepoint (lind cc puts them in programs that can unwind), whose
        next_signal call fires the timer here. Otherwise timers fire at calls."""
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None
        if not self.timers:
            return
        due, _ = min(self.timers.values(), key=lambda t: t[0])

        def nudge() -> None:
            now = time.monotonic()
            for proc, (when, _) in list(self.timers.items()):
                if when <= now and proc.status is None:
                    with contextlib.suppress(Exception):   # it may be exec'ing or ending
                        for word in set(proc.signal_words):
                            if word:
                                proc.memory.write(word, struct.pack("<i", 1))

        self._clock = _on_a_thread_at(due, nudge)

    def _place_program(self, wasm: bytes, name: bytes, cwd: str) -> None:
        """The program as a file of the tree at its argv[0] (beside cwd when relative),
        unless something is there: a program that execs itself finds itself."""
        path = posixpath.join(cwd, os.fsdecode(name))
        if not name or path.endswith("/"):
            return
        with self.tree.lock:
            try:
                found = self.tree.find(path)
                if found.node is None and found.name:
                    self.tree.new(found.parent, found.name, File, 0o755, data=bytearray(wasm))
            except OSError:
                pass              # no such directory: the program stays nameless

    def step(self, proc: Process) -> None:
        """Run `proc` from where it is until it ends (nested in a waiting cage's call
        when that one runs it)."""
        proc.running = True
        self.nested += 1
        outer = self.on_cpu
        self.charge_cpu(proc)
        try:
            while proc.status is None:
                if proc.exec_request is not None:
                    program, argv, env = proc.exec_request
                    proc.exec_request = None
                    try:
                        proc.load(program, argv, env)
                    except Exception as exc:   # noqa: BLE001 - the old program is gone
                        self.stderr(f"lind: cage {proc.pid}: exec failed after the old "
                                    f"program was gone: {exc}\n".encode())
                        proc.end(abi.signal_status(9))     # as Linux, that late
                        continue
                try:
                    if proc.rewinding:    # (the program's own export: it may trap too)
                        proc.instance.call("asyncify_start_rewind", proc.asyncify_data)
                    proc.instance.call(proc.entry)
                except CageEnded:
                    continue
                except Exception as exc:   # noqa: BLE001 - a trap, or an exception in a call
                    if proc.status is not None or proc.exec_request is not None:
                        continue
                    self._crashed(proc, exc)
                    continue
                if proc.after_unwind is not None:       # unwound: fork, setjmp, a wait
                    action, proc.after_unwind = proc.after_unwind, None
                    try:
                        proc.instance.call("asyncify_stop_unwind")
                        action()
                    except Exception as exc:   # noqa: BLE001 - as a call's, above
                        # frames past the unwind buffer (stop_unwind traps), a jmp_buf
                        # outside memory, no memory left for setjmp's frames: that cage
                        # ends, as Linux's would (SIGSEGV), where the error left
                        # Runtime.run and ended every cage of the run
                        self._crashed(proc, exc)
                        continue
                    if proc.parked:
                        return
                    continue
                proc.end(abi.exit_status(0))            # _start returned
        finally:
            proc.running = False
            self.nested -= 1
            self.charge_cpu(outer)

    def _crashed(self, proc: Process, exc: Exception) -> None:
        """The cage's code trapped, or a call failed in a way no errno says (a bug of
        Lind's, or the engine's own limits): that cage ends as by SIGSEGV, with a line
        on the run's stderr; the run and the host go on."""
        if self.timed_out:
            proc.end(abi.signal_status(9))
            return
        text = str(exc).splitlines()[0] if str(exc) else ""
        self.stderr(f"lind: cage {proc.pid}: {type(exc).__name__}: {text}\n".encode())
        proc.end(abi.signal_status(11))

    # -- calls ----------------------------------------------------------------------
    def dispatch(self, proc: Process, nr: int, args: tuple[int, ...]) -> int:
        signals.fire_timers(self)
        if proc.status is not None:        # its own timer's SIGALRM, unhandled, ended it
            raise CageEnded()
        if self._past_deadline():
            proc.end(abi.signal_status(9))
            raise CageEnded()
        call = syscalls.Call(proc, nr, args)
        if self.layers:
            return syscalls.through(self.layers, call)
        return call.run()

    def wait_until(self, proc: Process, ready: Callable[[], bool], what: str,
                   until: float | None = None, expired: Callable[[], int] | None = None,
                   restartable: bool = True) -> bool:
        """Wait until `ready()` (True) or the monotonic time `until` (False), the other
        cages running meanwhile. `ready` must not change anything: a suspendable cage
        is parked (Suspend) and its call runs again once `ready()`, or returns
        `expired()` at `until`. Any other waits here, EDEADLK when no cage can help.
        A caught signal ends the wait: EINTR, or ERESTARTSYS when `restartable` and
        its handler says SA_RESTART (the guest makes the call again)."""
        if ready():
            return True
        if proc.program.suspendable:
            interrupted = signals.interruption(proc, restartable)
            if interrupted:
                raise OSError(interrupted, "Interrupted system call")
            raise Suspend(ready, what, until, expired, restartable)
        while not ready():
            interrupted = signals.interruption(proc, restartable)
            if interrupted:
                raise OSError(interrupted, "Interrupted system call")
            if self._past_deadline():
                proc.end(abi.signal_status(9))
                raise CageEnded()
            if until is not None and time.monotonic() >= until:
                return False
            self.wake_parked()
            if proc.status is not None:     # a signal's default action (a timer's) ended it
                raise CageEnded()
            if self.runnable and self.nested < MAX_NESTED:
                self.step(self.runnable.popleft())
                if proc.status is not None:
                    raise CageEnded()
                continue
            soonest = self._soonest(until)
            if soonest is not None and (until is not None or not self.runnable):
                _nap_until(soonest)
                continue
            if self.runnable:
                self.stderr(f"lind: cage {proc.pid} cannot wait for {what}: {self.nested} cages "
                            "already wait on one another, the most one thread holds"
                            f"{_SUSPEND_HINT}\n".encode())
            else:
                self.stderr(f"lind: cage {proc.pid} would wait forever for {what}: every cage "
                            "that could end the wait is itself waiting beneath it"
                            f"{_SUSPEND_HINT}\n".encode())
            raise OSError(errno.EDEADLK, "Resource deadlock avoided")
        return True

    # -- fork, exec, wait -----------------------------------------------------------
    def fork(self, parent: Process) -> int:
        child = self.new_process(parent)   # EAGAIN past MAX_PROCESSES, before unwinding

        def copy() -> None:
            try:
                self.charge_memory(parent.memory.size() + parent.program.instance_bytes
                                   + parent.args_bytes)
                memory = self.engine.new_memory(parent.memory.size() // WASM_PAGE,
                                                parent.heap.limit // WASM_PAGE, True)
                memory.copy_from(parent.memory)
                child.cwd, child.umask = parent.cwd, parent.umask
                child.argv, child.env = parent.argv, parent.env
                child.args_bytes = parent.args_bytes
                child.entry, child.signal_mask = parent.entry, parent.signal_mask
                child.actions = dict(parent.actions)
                child.signal_words = parent.signal_words
                child.altstack = parent.altstack
                child._instantiate(parent.program, memory)
                for name in parent.globals_to_copy():
                    child.instance.set_global(name, parent.instance.get_global(name))
                child.heap = parent.heap.copy(memory)
                child.asyncify_data = parent.asyncify_data
                child.jump_points = parent.jump_points.copy()
                child.inherit_fds(parent)
            except (OSError, EngineError) as exc:
                parent.children.remove(child)
                del self.processes[child.pid]
                parent.resume_with(-abi.linux_errno(getattr(exc, "errno", None) or errno.ENOMEM))
                return
            child.resume_with(0)
            self.runnable.append(child)
            parent.resume_with(child.pid)

        return parent.unwind_then(copy)

    def spawn(self, parent: Process, plan: bytes) -> int:
        """posix_spawn's child: this program afresh at its spawn entry, which fetches
        `plan` (what to do before it execs); nothing copied, nothing unwound."""
        if SPAWN_START not in parent.exports:
            raise OSError(errno.ENOSYS, "the program has no spawn entry")
        child = self.new_process(parent)
        try:
            child.cwd, child.umask, child.signal_mask = parent.cwd, parent.umask, parent.signal_mask
            child.actions = signals.kept_by_exec(parent.actions)
            child.load(parent.program, parent.argv, parent.env)
            self.charge_memory(len(plan))     # kept until the child fetches it
        except (OSError, EngineError):
            parent.children.remove(child)
            del self.processes[child.pid]
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable") from None
        child.inherit_fds(parent)
        child.entry, child.spawn_plan = SPAWN_START, plan
        self.runnable.append(child)
        return child.pid

    def execve(self, proc: Process, path: str, argv: list[bytes], env: list[bytes]) -> None:
        program = (proc.program if path == "/proc/self/exe"        # what this cage runs now
                   else self.compile(syscalls.program_bytes(proc, path)))
        # what load would refuse, refused while execve can fail: a program without
        # lind.memory left Runtime.run from the exec'd cage's load, ending the whole run
        least = memory_pages(program)[0] * WASM_PAGE + args_bytes(argv, env)
        if self.memory_held(proc, program) + least > self.memory_limit:
            raise OSError(errno.ENOMEM, "Cannot allocate memory")   # while execve can fail
        for fd, (_, cloexec) in list(proc.fds.items()):
            if cloexec:
                proc.close(fd)
        proc.exec_request = (program, argv, env)
        proc.resources.exec_done(os.fsencode(posixpath.basename(path)))
        proc.actions = signals.kept_by_exec(proc.actions)
        proc.signal_words = (0, 0)         # the new program says where its words are
        raise CageEnded()

    def reap(self, parent: Process, pid: int, nohang: bool, keep: bool = False,
             exited: bool = True) -> Process | None:
        """wait4's and waitid's: an ended child matching `pid` (Linux's: -1 any child, 0
        one of the caller's group, below -1 one of the group -pid, else that child),
        reaped -- its CPU time the parent's children's -- unless `keep` (WNOWAIT); None
        with `nohang` when none has ended. Without `exited` it waits for a stop, which
        never comes here (waitid with WSTOPPED or WCONTINUED alone)."""
        def matching() -> list[Process]:
            if pid > 0:
                return [c for c in parent.children if c.pid == pid]
            group = parent.pgid if pid == 0 else -pid
            return [c for c in parent.children if pid == -1 or c.pgid == group]

        def ended() -> Process | None:
            return next((c for c in matching() if c.status is not None), None) if exited else None

        if not matching():
            raise OSError(errno.ECHILD, "No child processes")
        if not nohang:
            self.wait_until(parent, lambda: ended() is not None, "a child to end")
        child = ended()
        if child is not None and not keep:
            parent.children.remove(child)
            child.reaped = True
            parent.resources.reaped(child.resources)
        return child

    def cpu_time(self, proc: Process) -> int:
        """Nanoseconds of host CPU time `proc` has had, up to now if it is running."""
        if self.on_cpu is proc:
            self.charge_cpu(proc)
        return proc.resources.cpu_ns

    def charge_cpu(self, next_on: Process | None) -> None:
        """The host CPU time since the last switch goes to the cage that ran (as user
        time: its code and its calls are not told apart, which would cost two clock
        reads a call); `next_on` runs from now. Called where cages switch (a step
        begins or ends, nested or not), and by cpu_time for the cage that runs."""
        now = time.process_time_ns()
        if self.on_cpu is not None:
            self.on_cpu.resources.cpu_ns += now - self.on_cpu_since
        self.on_cpu, self.on_cpu_since = next_on, now


def _nap_until(when: float) -> None:
    """Sleep towards the monotonic time `when`, a minute at most: the callers look again
    (a cage's sleep of 2**62 s is no sleep Python can take in one go)."""
    time.sleep(min(max(0.0, when - time.monotonic()), LONGEST_NAP))


def _on_a_thread_at(when: float, action: Callable[[], None]) -> threading.Timer | None:
    """`action()` at the monotonic time `when` on a timer thread; None without threads
    (Pyodide) or when that is further than a timer thread can wait (years)."""
    delay = max(0.0, when - time.monotonic())
    if delay > LONGEST_TIMER:
        return None
    timer = threading.Timer(delay, action)
    timer.daemon = True
    try:
        timer.start()
    except RuntimeError:
        return None
    return timer


def run(wasm: bytes, argv: Sequence[bytes | str], **options: Any) -> int:
    """Run `wasm` on a new Runtime (its keyword options); its exit status."""
    env = options.pop("env", ())
    cwd = options.pop("cwd", "/")
    return Runtime(**options).run(wasm, argv, env, cwd)
