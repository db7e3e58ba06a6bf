"""Process identity, limits and exit. fork/exec/wait arrive with the process model."""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import stat
import struct
import time
from collections.abc import Callable

from lind.microvisor import abi, limits, sys_signals, sys_threads, virtual
from lind.microvisor.abi import s32, u32
from lind.microvisor.fs import join, libc
from lind.microvisor.sys_info import host_cpus
from lind.microvisor.sys_memory import MAX_MEMORY
from lind.microvisor.sys_threads import CLONE_THREAD, CLONE_VFORK, CLONE_VM

RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_STACK, RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_AS = 0, 1, 3, 6, 7, 9
RLIMIT_SIGPENDING = 11
RLIM_INFINITY = limits.RLIM_INFINITY
_RLIMIT = struct.Struct("<QQ")


def sys_exit_group(cage, status, *_):
    cage.exit(s32(status) & 0xFF)
    return 0


# Identity calls: the trampoline answers them from the Slot; these serve a grate that
# forwards one (acting for a cage, so the ids must be that cage's).
def sys_getpid(cage, *_):
    return cage.id


def sys_getppid(cage, *_):
    return cage.ppid


def sys_getuid(cage, *_):
    return cage.ids[0]


def sys_geteuid(cage, *_):
    return cage.ids[1]


def sys_getgid(cage, *_):
    return cage.ids[2]


def sys_getegid(cage, *_):
    return cage.ids[3]


def sys_sched_yield(cage, *_):
    os.sched_yield()
    return 0


def _limit(cage, resource: int) -> tuple[int, int]:
    if resource == RLIMIT_NOFILE:
        return cage.fds.limit, cage.fds.hard
    if resource == RLIMIT_AS:
        return cage.rlimit_as
    if resource == RLIMIT_STACK:
        return cage.rlimit_stack
    if resource == RLIMIT_NPROC:
        return cage.rlimit_nproc
    if resource == RLIMIT_CPU:
        return cage.rlimit_cpu
    if resource == RLIMIT_FSIZE:
        return cage.rlimit_fsize
    if resource == RLIMIT_SIGPENDING:
        return cage.rlimit_sigpending
    if 0 <= resource < 16:
        return RLIM_INFINITY, RLIM_INFINITY
    raise OSError(errno.EINVAL, "Invalid argument")


def _set_limit(cage, resource: int, soft: int, hard: int) -> None:
    """Which limits a cage may change is documented in `limits`."""
    current = _limit(cage, resource)
    limits.check_new_limit(soft, hard, current[1])
    if resource == RLIMIT_NOFILE:
        cage.fds.set_limits(soft, hard)
        cage.fd_limits_changed()
    elif resource == RLIMIT_AS:
        cage.rlimit_as = (soft, hard)
        cage.aspace.limit = min(soft, MAX_MEMORY)
    elif resource == RLIMIT_NPROC:
        cage.rlimit_nproc = (soft, hard)
    elif resource == RLIMIT_STACK:
        cage.rlimit_stack = (soft, hard)
    elif resource == RLIMIT_CPU:
        cage.rlimit_cpu = (soft, hard)
        cage.next_xcpu = soft
    elif resource == RLIMIT_FSIZE:
        cage.set_file_size_limit(soft, hard)
    elif resource == RLIMIT_SIGPENDING:
        cage.rlimit_sigpending = (soft, hard)
    elif (soft, hard) != current:
        raise OSError(errno.EPERM, "Operation not permitted")


def sys_getrlimit(cage, resource, buf, *_):
    cage.mem.write(buf, _RLIMIT.pack(*_limit(cage, u32(resource))))
    return 0


def sys_setrlimit(cage, resource, buf, *_):
    return sys_prlimit64(cage, 0, resource, buf, 0)


def sys_prlimit64(cage, pid, resource, new, old, *_):
    if s32(pid) not in (0, cage.id):
        raise OSError(errno.ESRCH, "No such process")
    resource = u32(resource)
    current = _limit(cage, resource)
    if new:
        _set_limit(cage, resource, *_RLIMIT.unpack(cage.mem.read(new, _RLIMIT.size)))
    if old:
        cage.mem.write(old, _RLIMIT.pack(*current))
    return 0


# -------------------------------------------------------------- fork and exec

_SIGNAL_MASK = 0xFF


def sys_fork(cage, *_):
    """First call: unwind the cage, copy it, then rewind both; the child sees 0."""
    result = cage.rewound()
    if result is not None:
        return result

    cage.unwind_then(lambda: cage.resume_with(cage.fork_unwound()))
    # Nobody in the cage sees this value (its stack is unwinding); a grate forwarding
    # the call does, and learns that the call will be made again (as Linux's strace
    # shows a restarted call).
    return -abi.ERESTARTNOINTR


def sys_spawn(cage, plan, size, *_):
    """A child that starts this program afresh at its spawn entry: the guest's plan
    (opaque bytes to the host, read back by the child) says what it does before it
    execs. posix_spawn, system and popen need neither a copy of the caller nor an
    unwind of its stack."""
    size = u32(size)
    if size > 2 * ARG_MAX:      # argv and envp, the file actions' paths, the attributes
        raise OSError(errno.E2BIG, "Argument list too long")
    return cage.runtime.posix_spawn(cage, cage.mem.read(plan, size)).id


def sys_spawn_plan(cage, buf, size, *_):
    """The spawned child takes its plan (once): its size when `size` is too small."""
    plan = cage.spawn_plan
    if plan is None:
        raise OSError(errno.ENOENT, "not a spawned child")
    if u32(size) < len(plan):
        return len(plan)
    cage.mem.write(buf, plan)
    cage.spawn_plan = None
    return len(plan)


def sys_clone(cage, flags, stack, ptid, ctid, tls, *_):
    """A thread (CLONE_THREAD), or a fork-like form. CLONE_VM without CLONE_VFORK or
    CLONE_THREAD (a process sharing memory) is refused.

    A rewind re-enters with the same arguments, so these checks pass again then.
    """
    if flags & CLONE_THREAD:
        return sys_threads.sys_clone_thread(cage, flags, stack, ptid, ctid, tls)
    if flags & CLONE_VM and not flags & CLONE_VFORK:
        raise OSError(errno.ENOSYS, "processes sharing memory are not supported")
    if flags & ~(CLONE_VM | CLONE_VFORK | _SIGNAL_MASK):
        raise OSError(errno.EINVAL, "Invalid argument")
    return sys_fork(cage)


# setjmp/longjmp: Lind-private calls the guest makes through lind.syscall_unwind.
SETJMP, LONGJMP = 1020, 1021


def sys_setjmp(cage, env, *_):
    """Returns 0 now; longjmp(env, v) later rewinds the saved frames so it returns v."""
    result = cage.rewound()
    if result is not None:
        return result
    cage.mem.view(env, 8, writing=True)   # EFAULT now: the token goes there once the stack is saved

    def save() -> None:
        cage.save_jump_point(env)
        cage.resume_with(0)

    cage.unwind_then(save)
    return 0


def sys_longjmp(cage, env, value, *_):
    token = cage.jump_token(env)
    if token is None:
        raise OSError(errno.EINVAL, "longjmp to a jmp_buf no setjmp filled")

    def jump() -> None:
        cage.restore_jump_point(token)
        cage.resume_with(value or 1)

    cage.unwind_then(jump, replaces_stack=True)
    return 0


ARG_MAX = 2 * 1024 * 1024
MAX_ARG_STRLEN = 32 * 4096   # one argument or variable, its NUL included (Linux)
_MAX_SHEBANG_DEPTH = 4


def _string_vector(cage, addr: int) -> list[bytes]:
    """A NULL-terminated array of string pointers (argv, envp) from cage memory."""
    out: list[bytes] = []
    total = 0
    if not addr:
        return out
    while True:
        (ptr,) = struct.unpack("<I", cage.mem.read(addr + 4 * len(out), 4))
        if ptr == 0:
            return out
        s = cage.mem.cstring(ptr, ARG_MAX)
        total += len(s) + 5
        if total > ARG_MAX or len(s) >= MAX_ARG_STRLEN:
            raise OSError(errno.E2BIG, "Argument list too long")
        out.append(s)


def program_file(cage, guest_path: str) -> tuple[str, str | None]:
    """The guest path exec runs for `guest_path` (virtual links followed), and the host
    file behind it when the program was named to Lind (then the root is not asked)."""
    found = virtual.lookup(cage, guest_path)
    if isinstance(found, virtual.Program):      # /proc/self/exe of a program named to Lind
        return cage.exe[0], found.host
    if not isinstance(found, str):
        raise OSError(errno.EACCES, "Permission denied")
    return found, cage.fs.programs.get(found)


def _host_program_bytes(cage, guest_path: str, named: bool = False) -> tuple[bytes, int]:
    """A program file's bytes from the cage's file system, and what they were charged to
    the cage's memory budget, which the caller gives back once it has loaded them
    (ENOMEM when the tree has not that much left: cages exec'ing a 256 MiB file at once
    each held a copy outside every budget); EACCES unless it is a regular file the host
    lets Lind run (a program named to Lind may lack the mode's execute bits, as when it
    was started)."""
    from lind.cage.program_file import PROGRAM_BYTES_MAX
    from lind.microvisor.fs import proc_path

    fd = cage.fs.open(guest_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode) or not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EACCES, "Permission denied")
        if not named and not os.access(proc_path(fd), os.X_OK, effective_ids=True):
            raise OSError(errno.EACCES, "Permission denied")
        if st.st_size > PROGRAM_BYTES_MAX:
            return b"", 0
        cage.memory_budget.charge(st.st_size)
        try:
            return os.pread(fd, st.st_size, 0), st.st_size
        except BaseException:
            cage.memory_budget.release(st.st_size)
            raise
    finally:
        os.close(fd)


# Where a program's bytes come from: a grate that keeps files of its own (the
# portable back end, imfs) gives them for its paths and None for the others.
ProgramReader = Callable[[object, str], bytes | None]


def load_program(cage, guest_path: str, argv: list[bytes], depth: int = 0,
                 read: ProgramReader | None = None, spelled: bytes | None = None):
    """The module to exec for a guest path, following `#!` lines; and the final argv.
    `spelled`: the path as execve was given it (or a `#!` line names the interpreter),
    which a script's interpreter gets as its script's name, as on Linux."""
    from lind.cage import loader
    from lind.cage.program_file import PROGRAM_BYTES_MAX

    guest_path, named = program_file(cage, guest_path)
    in_view = cage.fs.guest_path_of(named) if named is not None else None
    if named is not None and in_view is None:    # read by the loader, as it was started
        held = min(_file_size(named), PROGRAM_BYTES_MAX)
        cage.memory_budget.charge(held)
        try:
            return _compiled(cage, lambda wait: loader.load(named, wait, cage)), argv
        finally:
            cage.memory_budget.release(held)
    data = read(cage, guest_path) if read is not None else None
    if data is not None:    # a grate's own file: its copy counts as the host's read does
        held = len(data)
        cage.memory_budget.charge(held)
    else:
        data, held = (_host_program_bytes(cage, in_view, named=True) if in_view is not None
                      else _host_program_bytes(cage, guest_path))
    try:
        return _program_from(cage, guest_path, data, argv, depth, read, spelled)
    finally:
        cage.memory_budget.release(held)


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0          # the loader says why it cannot read it


_BINPRM_BUF_SIZE = 256     # what Linux reads of a file to find its `#!` line
_SPACE_TAB = b" \t"


def _shebang(data: bytes) -> tuple[bytes, bytes | None]:
    """A `#!` line's interpreter and optional argument, as Linux's binfmt_script finds
    them in the first 256 bytes: the line trimmed of spaces and tabs only (a `\r` of a
    CRLF line stays part of the name, so that script's interpreter is not found), the
    name ending at a space, tab or NUL, the argument the rest of the line; ENOEXEC for
    no name, or a name that may have been cut off at 256 bytes."""
    buf = data[:_BINPRM_BUF_SIZE].ljust(_BINPRM_BUF_SIZE, b"\0")
    end = buf.find(b"\n")
    if end < 0:
        end = _BINPRM_BUF_SIZE - 1
        body = buf[2:end].lstrip(_SPACE_TAB)
        if not body or not any(c in b" \t\0" for c in body):
            raise OSError(errno.ENOEXEC, "Exec format error")
    line = buf[2:end].strip(_SPACE_TAB)
    if not line:
        raise OSError(errno.ENOEXEC, "Exec format error")
    stop = min((i for i in (line.find(b" "), line.find(b"\t"), line.find(b"\0")) if i >= 0),
               default=len(line))
    name, rest = line[:stop], line[stop:]
    if not name:
        raise OSError(errno.ENOEXEC, "Exec format error")
    arg = rest.lstrip(_SPACE_TAB).split(b"\0", 1)[0] if rest[:1] not in (b"", b"\0") else b""
    return name, arg or None


def _program_from(cage, guest_path: str, data: bytes, argv: list[bytes], depth: int,
                  read: ProgramReader | None, spelled: bytes | None = None):
    """load_program's, for a program file's bytes: a script's interpreter, or a module."""
    from lind.cage import loader

    if data.startswith(b"#!"):
        if depth >= _MAX_SHEBANG_DEPTH:
            raise OSError(errno.ELOOP, "Too many levels of symbolic links")
        interp, arg = _shebang(data)
        script = spelled if spelled is not None else os.fsencode(guest_path)
        new_argv = [interp] + ([arg] if arg else []) + [script] + argv[1:]
        return load_program(cage, join(cage.cwd, os.fsdecode(interp)), new_argv, depth + 1,
                            read, interp)
    if not data.startswith(loader.WASM_MAGIC):
        raise OSError(errno.ENOEXEC, "Exec format error")
    return _compiled(cage, lambda wait: loader.load_bytes(data, guest_path, wait, cage)), argv


def _compiled(cage, load: Callable[[Callable[[int], None]], object]):
    """`load(wait)`'s module, compiling while the cage waits as in an uninterruptible
    call (only its stop ends the wait); ENOMEM when the compile would pass its limits,
    ENOEXEC when it is no program."""
    from lind.cage import loader

    try:
        return load(cage.wait_host_until_stopped)
    except loader.TooLargeToCompile:
        raise OSError(errno.ENOMEM, "Cannot allocate memory") from None
    except loader.ProgramError:
        raise OSError(errno.ENOEXEC, "Exec format error") from None


def sys_execve(cage, path, argv, envp, *_):
    from lind.microvisor.sys_files import path_arg

    return exec_from(cage, path_arg(cage, path), argv, envp, spelled=spelled_path(cage, path))


def spelled_path(cage, addr: int) -> bytes:
    """execve's path argument as the program wrote it (a script's interpreter gets it)."""
    return cage.mem.cstring(addr, abi.PATH_MAX - 1)


def exec_from(cage, guest: str, argv: int, envp: int, read: ProgramReader | None = None,
              spelled: bytes | None = None) -> int:
    """execve of the program at `guest`, its bytes from `read` where it gives them;
    `spelled`: the path as the cage wrote it."""
    args = _string_vector(cage, argv)
    env = _string_vector(cage, envp)
    exe = program_file(cage, guest)
    module, args = load_program(cage, guest, args, read=read, spelled=spelled)
    waiting = cage.fs.grates_at_exec_of(guest)
    if waiting:
        from lind.grates import attach_all

        attach_all(waiting, cage)
    cage.exec_program(module, args, env)
    cage.exe = exe
    return 0


# ------------------------------------------------------------ wait and exit

WNOHANG, WUNTRACED = 1, 2
_WAIT_OPTIONS = WNOHANG | WUNTRACED | 8 | 0x01000000 | 0x20000000 | 0x40000000 | 0x80000000


def _wanted(cage, child, pid: int) -> bool:
    if pid > 0:
        return child.id == pid
    if pid == -1:
        return True
    if pid == 0:
        return child.pgid == cage.pgid
    return child.pgid == -pid


def _await_child(cage, pid: int, nohang: bool, exited: bool = True):
    """With the runtime's lock held: the first child `pid` selects that has ended
    (none reported unless `exited`), waiting for one unless `nohang` (then None).
    ECHILD when no child is selected."""

    def ended() -> object | None:
        return next((c for c in cage.children.values()
                     if c.finished and _wanted(cage, c, pid)), None) if exited else None

    while True:
        # one pass (a fork+exit+wait's wait makes it once or twice): whether any child
        # is selected, and the first selected one that has ended
        selected, done = False, None
        for c in cage.children.values():
            if _wanted(cage, c, pid):
                selected = True
                if exited and c.finished:
                    done = c
                    break
        if not selected:
            raise OSError(errno.ECHILD, "No child processes")
        if done is not None or nohang:
            return done
        try:
            # a caught signal: EINTR, or a restart (SA_RESTART)
            cage.block_on(cage.children_changed)
        except OSError:
            # As Linux: a child that ended meanwhile (its SIGCHLD is often the very
            # signal) is reported, unless it was reaped as it ended (SIGCHLD ignored);
            # the handler runs when the call returns.
            done = ended()
            if done is None or cage.kill_requested or cage.status is not None:
                raise
            return done


def sys_wait4(cage, pid, wstatus, options, rusage, *_):
    pid, options = s32(pid), u32(options)
    if options & ~_WAIT_OPTIONS:
        raise OSError(errno.EINVAL, "Invalid argument")
    if pid == -0x80000000:       # as Linux: -INT_MIN names no group
        raise OSError(errno.ESRCH, "No such process")
    rt = cage.runtime
    with rt.lock:
        done = _await_child(cage, pid, bool(options & WNOHANG))
        if done is None:
            return 0
        if wstatus:
            cage.mem.write(wstatus, struct.pack("<i", done.status))
        if rusage:
            cage.mem.write(rusage, _pack_rusage(done.cpu_times(), done))
        del cage.children[done.id]
    _account_reaped(cage, done)
    rt.reaped(done)
    return done.id


def _in_tree(cage, pid: int):
    """The cage `pid` names from `cage`'s point of view (0: itself), within its tree; a
    thread's id names its cage, as Linux finds any task by its id (pthread_getschedparam
    passes a thread's; what it reads is kept per cage, the CPU affinity per thread:
    _task_in_tree)."""
    pid = s32(pid)
    if pid in (0, cage.id):
        return cage
    for c in cage.runtime.tree(cage):
        if c.id == pid or pid in c.threads:
            return c
    raise OSError(errno.ESRCH, "No such process")


def _task_in_tree(cage, pid: int):
    """(cage, thread id) of the thread `pid` names (0: the calling thread; a cage's id:
    its first thread), for what Linux keeps per thread, such as the CPU affinity."""
    pid = s32(pid)
    if pid == 0:
        return cage, cage.current_tid()
    target = _in_tree(cage, pid)
    return target, pid


def sys_getpgid(cage, pid, *_):
    return _in_tree(cage, pid).pgid


def sys_getpgrp(cage, *_):
    return cage.pgid


def sys_setpgid(cage, pid, pgid, *_):
    pid, pgid = s32(pid), s32(pgid)
    if pgid < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    target = cage if pid in (0, cage.id) else cage.children.get(pid)
    if target is None or target.finished:
        raise OSError(errno.ESRCH, "No such process")
    if target.sid != cage.sid:
        raise OSError(errno.EPERM, "Operation not permitted")
    if target is not cage and target.did_exec:
        raise OSError(errno.EACCES, "Permission denied")
    if target.id == target.sid:
        raise OSError(errno.EPERM, "Operation not permitted")
    pgid = pgid or target.id
    # a group other than its own must exist in the caller's session, as on Linux
    if pgid != target.id and not any(c.pgid == pgid and c.sid == cage.sid
                                     for c in cage.runtime.tree(cage)):
        raise OSError(errno.EPERM, "Operation not permitted")
    target.pgid = pgid
    return 0


def sys_getsid(cage, pid, *_):
    return _in_tree(cage, pid).sid


def sys_setsid(cage, *_):
    if any(c.pgid == cage.id and c is not cage for c in cage.runtime.tree(cage)):
        raise OSError(errno.EPERM, "Operation not permitted")
    if cage.pgid == cage.id:
        raise OSError(errno.EPERM, "Operation not permitted")
    cage.sid = cage.pgid = cage.id
    return cage.id


# ------------------------------------------------------------------- waitid

P_ALL, P_PID, P_PGID = 0, 1, 2
WSTOPPED, WEXITED, WCONTINUED, WNOWAIT = 2, 4, 8, 0x01000000
_WAITID_OPTIONS = WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | 0x20000000 | 0x40000000 | 0x80000000


def sys_waitid(cage, idtype, ident, infop, options, rusage, *_):
    """Children only ever end here (no job control stops them): WEXITED reports them,
    WSTOPPED and WCONTINUED alone wait for what never comes. WNOWAIT leaves the child
    to be waited for again."""
    idtype, ident, options = u32(idtype), s32(ident), u32(options)
    if options & ~_WAITID_OPTIONS or not options & (WEXITED | WSTOPPED | WCONTINUED):
        raise OSError(errno.EINVAL, "Invalid argument")
    if idtype == P_ALL:
        pid = -1
    elif idtype == P_PID:
        if ident <= 0:
            raise OSError(errno.EINVAL, "Invalid argument")
        pid = ident
    elif idtype == P_PGID:
        if ident < 0:
            raise OSError(errno.EINVAL, "Invalid argument")
        pid = -ident if ident else 0
    else:
        raise OSError(errno.EINVAL, "Invalid argument")
    rt = cage.runtime
    with rt.lock:
        done = _await_child(cage, pid, bool(options & WNOHANG), bool(options & WEXITED))
        if done is None:
            if infop:
                cage.mem.write(infop, bytes(sys_signals.SIGINFO_SIZE))
            return 0
        if infop:
            cage.mem.write(infop, sys_signals.child_info(done))
        if rusage:
            cage.mem.write(rusage, _pack_rusage(done.cpu_times(), done))
        if options & WNOWAIT:
            return 0
        del cage.children[done.id]
    _account_reaped(cage, done)
    rt.reaped(done)
    return 0


# --------------------------------------------------- resource usage, times

RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1
# The x86_64 kernel's struct rusage: two timevals, then 14 longs, all 64-bit (the guest
# libc takes it whole, toolchain/guest/arch/wasm32/syscall_arch.h).
_RUSAGE = struct.Struct("<18q")
_CLK_TCK = 100


def _pack_rusage(cpu: tuple[float, float], cage) -> bytes:
    """struct rusage: CPU times and, for a cage still running, its memory as maxrss."""
    maxrss = cage.mem.size() // 1024 if cage.cpu_at_end is None and cage.mem is not None else 0
    fields = [0] * 14
    fields[0] = maxrss
    us = [round(t * 1e6) for t in cpu]
    return _RUSAGE.pack(us[0] // 10**6, us[0] % 10**6, us[1] // 10**6, us[1] % 10**6, *fields)


def _account_reaped(cage, child) -> None:
    """A reaped child's CPU time, and its own reaped children's, become the parent's
    RUSAGE_CHILDREN."""
    own, theirs = child.cpu_times(), child.children_cpu
    cage.children_cpu = (cage.children_cpu[0] + own[0] + theirs[0],
                         cage.children_cpu[1] + own[1] + theirs[1])


def sys_getrusage(cage, who, usage, *_):
    who = s32(who)
    if who == RUSAGE_SELF:
        data = _pack_rusage(cage.cpu_times(), cage)
    elif who == RUSAGE_THREAD:
        data = _pack_rusage(cage.thread_cpu_times(), cage)
    elif who == RUSAGE_CHILDREN:
        data = _pack_rusage(cage.children_cpu, cage)[:32] + bytes(_RUSAGE.size - 32)
    else:
        raise OSError(errno.EINVAL, "Invalid argument")
    cage.mem.write(usage, data)
    return 0


def sys_times(cage, buf, *_):
    """struct tms of the guest (four 32-bit clock_t, in ticks of 1/100 s); the answer
    is ticks since an arbitrary point (boot), as on Linux."""
    if buf:
        ticks = [int(t * _CLK_TCK) & 0xFFFFFFFF for t in (*cage.cpu_times(), *cage.children_cpu)]
        cage.mem.write(buf, struct.pack("<4I", *ticks))
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * _CLK_TCK)


# ---------------------------------------------------------------- scheduling

SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE = 0, 1, 2, 3, 5
_SCHED_RESET_ON_FORK = 0x40000000


_HOST_SCHED_GETAFFINITY = 204 if platform.machine() == "x86_64" else 123


def _possible_cpus() -> int:
    """The kernel's nr_cpu_ids: how many CPU numbers a mask must hold."""
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            return int(f.read().strip().split(",")[-1].split("-")[-1]) + 1
    except (OSError, ValueError):
        return max(host_cpus()) + 1


@functools.cache
def _kernel_mask_size() -> int:
    """How many bytes the host kernel's sched_getaffinity answers (its cpumask size,
    which depends on how it was built)."""
    buf = ctypes.create_string_buffer(1024)
    n = libc.syscall(_HOST_SCHED_GETAFFINITY, 0, 1024, buf)
    return n if n > 0 else (_possible_cpus() + 63) // 64 * 8


def sys_sched_getaffinity(cage, pid, size, mask, *_):
    """The host's CPUs (musl's sysconf(_SC_NPROCESSORS_ONLN) counts them here), or the
    ones sched_setaffinity chose; the answer is the kernel's mask size, as Linux's."""
    target, tid = _task_in_tree(cage, pid)
    size, possible = u32(size), _possible_cpus()
    if size * 8 < possible or size % 8:
        raise OSError(errno.EINVAL, "Invalid argument")
    need = min(size, _kernel_mask_size())
    bits = 0
    for cpu in target.thread_affinity(tid) or host_cpus():
        bits |= 1 << cpu
    cage.mem.write(mask, bits.to_bytes(need, "little"))
    return need


def sys_sched_setaffinity(cage, pid, size, mask, *_):
    """The CPUs of one thread, as on Linux (a process's other threads keep theirs)."""
    target, tid = _task_in_tree(cage, pid)
    raw = cage.mem.read(mask, min(u32(size), 1024))
    wanted = int.from_bytes(raw, "little")
    cpus = frozenset(c for c in host_cpus() if wanted >> c & 1)
    if not cpus:
        raise OSError(errno.EINVAL, "Invalid argument")
    _may_change(cage, target)
    target.set_thread_affinity(None if cpus == host_cpus() else cpus, tid)
    return 0


def _may_change(cage, target) -> None:
    """An unprivileged cage changes the scheduling of cages of its own user only."""
    if cage.ids[1] != 0 and cage.ids[1] not in (target.ids[0], target.ids[1]):
        raise OSError(errno.EPERM, "Operation not permitted")


def _policy(policy: int) -> int:
    policy &= ~_SCHED_RESET_ON_FORK
    if policy not in (SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE):
        raise OSError(errno.EINVAL, "Invalid argument")
    return policy


def sys_sched_get_priority_max(cage, policy, *_):
    return 99 if _policy(s32(policy)) in (SCHED_FIFO, SCHED_RR) else 0


def sys_sched_get_priority_min(cage, policy, *_):
    return 1 if _policy(s32(policy)) in (SCHED_FIFO, SCHED_RR) else 0


def _pid_arg(cage, pid: int):
    if s32(pid) < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    return _in_tree(cage, pid)


def sys_sched_getscheduler(cage, pid, *_):
    _pid_arg(cage, pid)
    return SCHED_OTHER


def sys_sched_getparam(cage, pid, param, *_):
    _pid_arg(cage, pid)
    if not param:
        raise OSError(errno.EINVAL, "Invalid argument")
    cage.mem.write(param, struct.pack("<i", 0))
    return 0


def _set_scheduler(cage, pid: int, policy: int, param: int) -> int:
    if not param:
        raise OSError(errno.EINVAL, "Invalid argument")
    target = _pid_arg(cage, pid)
    (priority,) = struct.unpack("<i", cage.mem.read(param, 4))
    realtime = policy in (SCHED_FIFO, SCHED_RR)
    if realtime and not 1 <= priority <= 99 or not realtime and priority != 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    _may_change(cage, target)
    if realtime:     # every cage shares the host's scheduling: no real-time class for one
        raise OSError(errno.EPERM, "Operation not permitted")
    return 0


def sys_sched_setscheduler(cage, pid, policy, param, *_):
    return _set_scheduler(cage, pid, _policy(s32(policy)), param)


def sys_sched_setparam(cage, pid, param, *_):
    return _set_scheduler(cage, pid, SCHED_OTHER, param)


def sys_getcpu(cage, cpu, node, *_):
    """The lowest CPU the calling thread may run on (the host does not say which one it
    is on now)."""
    if cpu:
        cage.mem.write(cpu, struct.pack("<I", min(cage.thread_affinity() or host_cpus())))
    if node:
        cage.mem.write(node, struct.pack("<I", 0))
    return 0


PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2


def _priority_targets(cage, which: int, who: int) -> list:
    tree = cage.runtime.tree(cage)
    if which == PRIO_PROCESS:
        found = [_in_tree(cage, who)] if who >= 0 else []
    elif which == PRIO_PGRP:
        pgid = who or cage.pgid
        found = [c for c in tree if c.pgid == pgid] if who >= 0 else []
    elif which == PRIO_USER:
        uid = who or cage.ids[0]
        found = [c for c in tree if c.ids[0] == uid]
    else:
        raise OSError(errno.EINVAL, "Invalid argument")
    if not found:
        raise OSError(errno.ESRCH, "No such process")
    return found


def sys_getpriority(cage, which, who, *_):
    """As the kernel answers: 20 - nice (libc turns it back into the nice value)."""
    return max(20 - c.nice for c in _priority_targets(cage, s32(which), s32(who)))


def sys_setpriority(cage, which, who, prio, *_):
    """Each cage's own nice value; lowering it needs privilege (EACCES), as on Linux."""
    nice = min(max(s32(prio), -20), 19)
    for target in _priority_targets(cage, s32(which), s32(who)):
        _may_change(cage, target)
        if nice < target.nice and cage.ids[1] != 0:
            raise OSError(errno.EACCES, "Permission denied")
        target.nice = nice
    return 0


# ------------------------------------------------------------ user identity

_NO_ID = 0xFFFFFFFF
NGROUPS_MAX = 65536


def _id(value: int) -> int:
    return u32(value)


def _change_ids(cage, real: int, effective: int, saved: int, group: bool, *,
                allowed) -> None:
    """Set (real, effective, saved) user or group ids; -1 keeps one. Without privilege
    (effective uid 0 in the cage) `allowed(new, kind)` must accept every change."""
    uid, euid, gid, egid = cage.ids
    suid, sgid = cage.saved_ids
    old = (gid, egid, sgid) if group else (uid, euid, suid)
    new = [old[i] if v == _NO_ID else v for i, v in enumerate((real, effective, saved))]
    if euid != 0:
        for i, v in enumerate((real, effective, saved)):
            if v != _NO_ID and not allowed(v, i, old):
                raise OSError(errno.EPERM, "Operation not permitted")
    if group:
        cage.set_identity((uid, euid, new[0], new[1]), (suid, new[2]))
    else:
        cage.set_identity((new[0], new[1], gid, egid), (new[2], sgid))


def _any_of_three(v: int, i: int, old: tuple[int, int, int]) -> bool:
    return v in old


def sys_setresuid(cage, r, e, s, *_):
    _change_ids(cage, _id(r), _id(e), _id(s), False, allowed=_any_of_three)
    return 0


def sys_setresgid(cage, r, e, s, *_):
    _change_ids(cage, _id(r), _id(e), _id(s), True, allowed=_any_of_three)
    return 0


def _setre(cage, r: int, e: int, group: bool) -> int:
    """setreuid/setregid: the real id may become the effective one; the effective may
    become any of the three; the saved id follows a new effective one when the real id
    is set or the effective one differs from the old real id."""
    uid, euid, gid, egid = cage.ids
    real, eff = (gid, egid) if group else (uid, euid)
    saved = _NO_ID
    if r != _NO_ID or e != _NO_ID and e != real:
        saved = e if e != _NO_ID else eff

    def allowed(v: int, i: int, old: tuple[int, int, int]) -> bool:
        return v in old[:2] if i == 0 else v in old if i == 1 else True

    _change_ids(cage, r, e, saved, group, allowed=allowed)
    return 0


def sys_setreuid(cage, r, e, *_):
    return _setre(cage, _id(r), _id(e), False)


def sys_setregid(cage, r, e, *_):
    return _setre(cage, _id(r), _id(e), True)


def _set_one(cage, value: int, group: bool) -> int:
    """setuid/setgid: with privilege all three ids, else only the effective one, and only
    to the real or saved id."""
    value = _id(value)
    if value == _NO_ID:
        raise OSError(errno.EINVAL, "Invalid argument")
    if cage.ids[1] == 0:
        _change_ids(cage, value, value, value, group, allowed=_any_of_three)
    else:
        _change_ids(cage, _NO_ID, value, _NO_ID, group,
                    allowed=lambda v, i, old: v in (old[0], old[2]))
    return 0


def sys_setuid(cage, uid, *_):
    return _set_one(cage, uid, False)


def sys_setgid(cage, gid, *_):
    return _set_one(cage, gid, True)


def _write_three(cage, addrs: tuple[int, int, int], values: tuple[int, int, int]) -> int:
    for addr in addrs:
        cage.mem.view(addr, 4, writing=True)   # EFAULT before anything is written
    for addr, value in zip(addrs, values, strict=True):
        cage.mem.write(addr, struct.pack("<I", value))
    return 0


def sys_getresuid(cage, r, e, s, *_):
    return _write_three(cage, (r, e, s), (cage.ids[0], cage.ids[1], cage.saved_ids[0]))


def sys_getresgid(cage, r, e, s, *_):
    return _write_three(cage, (r, e, s), (cage.ids[2], cage.ids[3], cage.saved_ids[1]))


def sys_getgroups(cage, size, addr, *_):
    size = s32(size)
    if size < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    groups = cage.groups
    if size:
        if size < len(groups):
            raise OSError(errno.EINVAL, "Invalid argument")
        cage.mem.write(addr, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


def sys_setgroups(cage, size, addr, *_):
    size = s32(size)
    if cage.ids[1] != 0:
        raise OSError(errno.EPERM, "Operation not permitted")
    if not 0 <= size <= NGROUPS_MAX:
        raise OSError(errno.EINVAL, "Invalid argument")
    groups = struct.unpack(f"<{size}I", cage.mem.read(addr, 4 * size)) if size else ()
    cage.groups = tuple(sorted(set(groups)))
    return 0


# -------------------------------------------------------------------- prctl

PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_SET_NAME, PR_GET_NAME = 15, 16
PR_GET_TID_ADDRESS = 40


def sys_prctl(cage, option, arg2, arg3, arg4, arg5, *_):
    option = s32(option)
    if option == PR_SET_PDEATHSIG:
        if not 0 <= arg2 < sys_signals.NSIG:
            raise OSError(errno.EINVAL, "Invalid argument")
        cage.pdeathsig = arg2
        return 0
    if option == PR_GET_PDEATHSIG:
        cage.mem.write(arg2, struct.pack("<i", cage.pdeathsig))
        return 0
    if option == PR_GET_DUMPABLE:
        return cage.dumpable
    if option == PR_SET_DUMPABLE:
        if arg2 not in (0, 1):
            raise OSError(errno.EINVAL, "Invalid argument")
        cage.dumpable = arg2
        return 0
    if option == PR_SET_NAME:
        cage.set_thread_comm(_comm_arg(cage, arg2).decode("utf-8", "surrogateescape"))
        return 0
    if option == PR_GET_NAME:
        name = virtual.comm(cage).encode("utf-8", "surrogateescape")
        cage.mem.write(arg2, name[:virtual.TASK_COMM_LEN - 1].ljust(virtual.TASK_COMM_LEN, b"\0"))
        return 0
    if option in (abi.PR_SET_NO_NEW_PRIVS, abi.PR_GET_NO_NEW_PRIVS):
        cage.no_new_privs, result = abi.no_new_privs(option, (arg2, arg3, arg4, arg5),
                                                     cage.no_new_privs)
        return result
    if option == PR_GET_TID_ADDRESS:
        cage.mem.write(arg2, struct.pack("<I", cage.clear_tid_address()))
        return 0
    raise OSError(errno.EINVAL, "Invalid argument")


def _comm_arg(cage, addr: int) -> bytes:
    """PR_SET_NAME's string: up to 15 bytes, the rest ignored (no NUL needed after them)."""
    out = bytearray()
    while len(out) < virtual.TASK_COMM_LEN - 1:
        byte = cage.mem.read(addr + len(out), 1)
        if byte == b"\0":
            break
        out += byte
    return bytes(out)


# ------------------------------------------------ personality, capabilities

_PERSONALITY_QUERY = 0xFFFFFFFF
PER_LINUX = 0


def sys_personality(cage, persona, *_):
    """Only Linux's own personality: a query, or setting it again."""
    if u32(persona) not in (_PERSONALITY_QUERY, PER_LINUX):
        raise OSError(errno.EINVAL, "Invalid argument")
    return PER_LINUX


_CAP_V1, _CAP_V2, _CAP_V3 = 0x19980330, 0x20071026, 0x20080522


def sys_capget(cage, header, data, *_):
    """A cage holds no capabilities (whatever its uid: its ids are virtual)."""
    version, pid = struct.unpack("<Ii", cage.mem.read(header, 8))
    if version not in (_CAP_V1, _CAP_V2, _CAP_V3):
        cage.mem.write(header, struct.pack("<I", _CAP_V3))
        raise OSError(errno.EINVAL, "Invalid argument")
    if pid < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    _in_tree(cage, pid)
    if data:
        cage.mem.write(data, bytes(12 if version == _CAP_V1 else 24))
    return 0


