"""Process identity, limits and exit. fork/exec/wait arrive with the process model."""

from __future__ import annotations

import errno
import os
import stat
import struct

from lind.microvisor import abi, limits, virtual
from lind.microvisor.abi import s32, u32
from lind.microvisor.fs import join
from lind.microvisor.sys_memory import MAX_MEMORY

RLIMIT_STACK, RLIMIT_NOFILE, RLIMIT_AS = 3, 7, 9
RLIM_INFINITY = (1 << 64) - 1
_RLIMIT = struct.Struct("<QQ")


def sys_exit_group(cage, status, *_):
    cage.exit(s32(status) & 0xFF)
    return 0


def sys_gettid(cage, *_):
    return cage.id


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


def sys_set_tid_address(cage, *_):
    return cage.id


def sys_sched_yield(cage, *_):
    os.sched_yield()
    return 0


def _limit(cage, resource: int) -> tuple[int, int]:
    if resource == RLIMIT_NOFILE:
        return cage.fds.limit, cage.fds.hard
    if resource == RLIMIT_AS:
        return cage.rlimit_as
    if resource == RLIMIT_STACK:
        return cage.stack_size, cage.stack_size
    if 0 <= resource < 16:
        return RLIM_INFINITY, RLIM_INFINITY
    raise OSError(errno.EINVAL, "Invalid argument")


def _set_limit(cage, resource: int, soft: int, hard: int) -> None:
    """Which limits a cage may change is documented in `limits`."""
    current = _limit(cage, resource)
    limits.check_new_limit(soft, hard, current[1])
    if resource == RLIMIT_NOFILE:
        cage.fds.set_limits(soft, hard)
        cage.slot.set_fd_limit(cage.fds.ceiling())
    elif resource == RLIMIT_AS:
        cage.rlimit_as = (soft, hard)
        cage.aspace.limit = min(soft, MAX_MEMORY)
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

CLONE_VM, CLONE_VFORK, CLONE_THREAD = 0x100, 0x4000, 0x10000
_SIGNAL_MASK = 0xFF


def sys_fork(cage, *_):
    """First call: unwind the cage, copy it, then rewind both; the child sees 0."""
    result = cage.rewound()
    if result is not None:
        return result

    def make_child() -> None:
        try:
            cage.resume_with(cage.runtime.fork(cage).id)
        except OSError as exc:
            cage.resume_with(-(exc.errno or errno.EAGAIN))

    cage.unwind_then(make_child)
    # Nobody in the cage sees this value (its stack is unwinding); a grate forwarding
    # the call does, and learns that the call will be made again (as Linux's strace
    # shows a restarted call).
    return -abi.ERESTARTNOINTR


def sys_clone(cage, flags, *_):
    """Only the fork-like forms; threads (CLONE_VM without CLONE_VFORK) come with pthreads.

    A rewind re-enters with the same arguments, so these checks pass again then.
    """
    if flags & CLONE_THREAD or (flags & CLONE_VM and not flags & CLONE_VFORK):
        raise OSError(errno.ENOSYS, "threads are not supported yet")
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
    cage.mem.view(env, 8)      # EFAULT now: the token goes there once the stack is saved

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
        if total > ARG_MAX:
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


def load_program(cage, guest_path: str, argv: list[bytes], depth: int = 0):
    """The module to exec for a guest path, following `#!` lines; and the final argv."""
    from lind.cage import loader
    from lind.microvisor.fs import proc_path

    guest_path, named = program_file(cage, guest_path)
    if named is not None:
        try:
            return loader.load(named), argv
        except loader.ProgramError:
            raise OSError(errno.ENOEXEC, "Exec format error") from None
    fd = cage.fs.open(guest_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode) or not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EACCES, "Permission denied")
        if not os.access(proc_path(fd), os.X_OK):
            raise OSError(errno.EACCES, "Permission denied")
        data = os.pread(fd, st.st_size, 0) if st.st_size <= 256 << 20 else b""
    finally:
        os.close(fd)
    if data.startswith(b"#!"):
        if depth >= _MAX_SHEBANG_DEPTH:
            raise OSError(errno.ELOOP, "Too many levels of symbolic links")
        line = data[2:].split(b"\n", 1)[0].strip()
        if not line:
            raise OSError(errno.ENOEXEC, "Exec format error")
        interp, _, arg = line.partition(b" ")
        arg = arg.strip()
        new_argv = [interp] + ([arg] if arg else []) + [os.fsencode(guest_path)] + argv[1:]
        return load_program(cage, join(cage.cwd, os.fsdecode(interp)), new_argv, depth + 1)
    if not data.startswith(loader.WASM_MAGIC):
        raise OSError(errno.ENOEXEC, "Exec format error")
    try:
        return loader.load_bytes(data, guest_path), argv
    except loader.ProgramError:
        raise OSError(errno.ENOEXEC, "Exec format error") from None


def sys_execve(cage, path, argv, envp, *_):
    from lind.microvisor.sys_files import path_arg

    guest = path_arg(cage, path)
    args = _string_vector(cage, argv)
    env = _string_vector(cage, envp)
    exe = program_file(cage, guest)
    module, args = load_program(cage, guest, args)
    waiting = cage.fs.grates_at_exec.pop(guest, None)
    if waiting:
        from lind.grates import attach_all

        attach_all(waiting, cage)
    cage.exec_program(module, args, env)
    cage.exe = exe
    return 0


# ------------------------------------------------------------ wait and exit

WNOHANG, WUNTRACED = 1, 2
_WAIT_OPTIONS = WNOHANG | WUNTRACED | 8 | 0x01000000 | 0x20000000 | 0x40000000 | 0x80000000
_RUSAGE_SIZE = 144


def _wanted(cage, child, pid: int) -> bool:
    if pid > 0:
        return child.id == pid
    if pid == -1:
        return True
    if pid == 0:
        return child.pgid == cage.pgid
    return child.pgid == -pid


def sys_wait4(cage, pid, wstatus, options, rusage, *_):
    pid, options = s32(pid), u32(options)
    if options & ~_WAIT_OPTIONS:
        raise OSError(errno.EINVAL, "Invalid argument")
    rt = cage.runtime
    with rt.changed:
        while True:
            wanted = [c for c in cage.children.values() if _wanted(cage, c, pid)]
            if not wanted:
                raise OSError(errno.ECHILD, "No child processes")
            done = next((c for c in wanted if c.finished), None)
            if done is not None:
                break
            if options & WNOHANG:
                return 0
            try:
                cage.block_on(rt.changed)   # a caught signal: EINTR, or a restart (SA_RESTART)
            except OSError:
                # As Linux: a child that ended meanwhile (its SIGCHLD is often the very
                # signal) is reported; the handler runs when the call returns.
                done = next((c for c in wanted if c.finished), None)
                if done is None or cage.kill_requested or cage.status is not None:
                    raise
                break
        if wstatus:
            cage.mem.write(wstatus, struct.pack("<i", done.status))
        if rusage:
            cage.mem.write(rusage, bytes(_RUSAGE_SIZE))
        del cage.children[done.id]
    rt.reaped(done)
    return done.id


def _in_tree(cage, pid: int):
    """The cage `pid` names from `cage`'s point of view (0: itself), within its tree."""
    pid = s32(pid)
    if pid in (0, cage.id):
        return cage
    for c in cage.runtime.tree(cage):
        if c.id == pid:
            return c
    raise OSError(errno.ESRCH, "No such process")


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
    if target.sid != cage.sid or target.id == target.sid:
        raise OSError(errno.EPERM, "Operation not permitted")
    target.pgid = pgid or target.id
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
