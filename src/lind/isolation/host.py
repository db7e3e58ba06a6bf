"""The second wall: the Lind process itself (or a native program) inside the kernel's
own isolation.

`lind run --isolate` (or a policy's `[host] isolate`) calls `enter()` before any cage
exists. Lind then runs in new user, mount, pid, ipc and uts namespaces (and a network
namespace unless the run uses the host's network), sees a minimal file system — a
fresh root holding read-only the system libraries, Python, Lind and the module cache
(nothing compiled inside persists), the run's own directories as the run uses them,
the working directory read-only, a private /tmp, a /dev of six devices (read-only
mounts of the host's) and pseudo-terminals of its own (devpts), its own /proc (its
host-wide settings read-only) — with no_new_privs, no capabilities, no core files, and
a seccomp filter that lets through only the system calls the runtime makes
(lind_calls.txt, measured by tests/isolation_calls.py); anything else kills the Lind
process. So a bug in Lind or
Wasmtime that a cage could turn into host code still meets the kernel. `run_native()`
(`lind isolate`) gives a native program the same layers, with its policy's rules as the
kernel can apply them.

How: unshare() of the namespaces (the user namespace first, which an unprivileged and
single-threaded process may create; the caller's ids mapped to themselves, host root to
ROOT_INSIDE), a fork (the child is the new pid namespace's first process and goes on;
the parent waits, passes on the signals a shell or process manager sends, and exits
with the child's status), pivot_root into the new root, then the filter. Each layer
the kernel refuses is one line; without `best_effort` the first refusal stops the run.
"""

from __future__ import annotations

# Every module a layer uses is imported here: after pivot_root a native program's new
# root has no Python library to import from.
import contextlib
import ctypes
import errno
import fcntl
import os
import resource
import signal
import socket
import struct
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lind.hostdirs import cache_root
from lind.isolation import cgroup

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 0x400, 0x800, 0x200000
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24
SYS_PIVOT_ROOT, SYS_SECCOMP, SYS_CAPSET, SYS_OPENAT2 = 155, 317, 126, 437
RESOLVE_IN_ROOT = 0x10
SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC = 1, 1
SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ERRNO, SECCOMP_RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
AUDIT_ARCH_X86_64 = 0xC000003E
ROOT_INSIDE = 1000            # the id host root runs Lind as when isolated
LIND_OVERHEAD = 512 << 20     # an isolated Lind's own memory beside its cages' budget
LIND_TASKS = 4096             # its threads: cages', grates' and helpers' together
MARKER = "LIND_ISOLATED"      # the pid namespace Lind isolated itself in (no nesting)
TEST_FORBIDDEN_CALL = "LIND_ISOLATE_TEST_FORBIDDEN_CALL"   # test hook: make a refused call

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_void_p]
_libc.syscall.restype = ctypes.c_long


class Refused(OSError):
    """A layer the kernel would not set up."""


@dataclass(frozen=True)
class Bind:
    """A host path kept in the new root, at `target` (default: the same path)."""

    path: str
    writable: bool = False
    target: str | None = None


def _check(result: int, what: str) -> None:
    if result < 0:
        code = ctypes.get_errno()
        raise Refused(code, f"{what}: {os.strerror(code)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, what: str) -> None:
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       flags, None), what)


def already_isolated() -> bool:
    """True inside the pid namespace a Lind isolated itself in (it does not nest)."""
    try:
        return os.environ.get(MARKER) == os.readlink("/proc/self/ns/pid")
    except OSError:
        return False


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


_NAMESPACE_FLAGS = {"mount": CLONE_NEWNS, "pid": CLONE_NEWPID, "ipc": CLONE_NEWIPC,
                    "uts": CLONE_NEWUTS, "net": CLONE_NEWNET}
ALL_NAMESPACES = ("user", *_NAMESPACE_FLAGS)


def _enter_namespaces(network: bool, ids: tuple[int | None, int | None] = (None, None),
                      names: Sequence[str] = ALL_NAMESPACES) -> list[str]:
    """unshare() the user namespace, then the others of `names` (net only with
    `network`); the user namespace must succeed (the rest needs it). `ids` are the uid
    and gid to have inside (None: the caller's own, host root excepted)."""
    if _threads() > 1:
        raise Refused(errno.EINVAL, "namespaces: Lind is already running threads")
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER), "user namespace")
    if os.path.exists("/proc/self/setgroups"):
        _write("/proc/self/setgroups", "deny")
    # Root becomes an ordinary id inside: without capabilities a process may map only
    # ids other than host root into a namespace of its own (the private network's
    # helper makes one).
    inside_uid = ids[0] if ids[0] is not None else uid or ROOT_INSIDE
    inside_gid = ids[1] if ids[1] is not None else gid or ROOT_INSIDE
    _write("/proc/self/uid_map", f"{inside_uid} {uid} 1\n")
    _write("/proc/self/gid_map", f"{inside_gid} {gid} 1\n")
    others = [n for n in _NAMESPACE_FLAGS if n in names and (network or n != "net")]
    flags = 0
    for name in others:
        flags |= _NAMESPACE_FLAGS[name]
    if flags:
        _check(_libc.unshare(flags), ", ".join(others) + " namespaces")
    return ["namespaces: " + ", ".join(["user", *others])]


# x86_64: shmget shmat shmctl, semget semop semctl shmdt, msgget msgsnd msgrcv msgctl,
# semtimedop, mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr.
_IPC_CALLS = {29, 30, 31, 64, 65, 66, 67, 68, 69, 70, 71, 220, 240, 241, 242, 243, 244, 245}

_FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)


def _mountpoint() -> tuple[str, int]:
    """An empty host directory for the new root, and an fd of its parent directory: the
    child's pivot_root moves this process's root too (they share the mount namespace),
    and through the fd the directory can still be removed at the end."""
    base = os.path.abspath(os.environ.get("TMPDIR") or "/tmp")
    path = os.path.join(base, f"lind-isolate-{os.getpid()}")
    try:     # tempfile.mkdtemp first probes $TMPDIR by writing a file: 0.4 ms of each run
        os.mkdir(path, 0o700)
    except OSError:    # taken (by a run that died with this pid, or by someone else)
        path = tempfile.mkdtemp(prefix="lind-isolate-")
    return path, os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _wait_for(child: int, what: str, mountpoint: tuple[str, int] | None,
              wall_time: float | None = None, cgroup_made: Path | None = None) -> None:
    """The parent: pass on what is sent to it (a terminal's SIGINT and SIGQUIT reach
    the child through the process group), kill the child at `wall_time` (exit 124, as
    timeout(1)), remove the empty directory the child's root was mounted on (if any)
    and the cgroup it ran in (if any), then leave as the child left."""
    timed_out = []

    def expire(*_: object) -> None:
        timed_out.append(True)
        os.kill(child, signal.SIGKILL)

    for sig in _FORWARDED:
        signal.signal(sig, lambda s, _f: os.kill(child, s))
    for sig in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    if wall_time is not None:
        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, wall_time)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            os._exit(125)
        except InterruptedError:
            continue
    if mountpoint is not None:
        with contextlib.suppress(OSError):
            os.rmdir(os.path.basename(mountpoint[0]), dir_fd=mountpoint[1])
    if cgroup_made is not None:
        cgroup.remove(cgroup_made)
    if timed_out:
        print(f"lind: {what}: timed out after {wall_time:g} s", file=sys.stderr)
        os._exit(124)
    if os.WIFSIGNALED(status):
        if os.WTERMSIG(status) == signal.SIGSYS:
            print(f"lind: {what}: killed by SIGSYS: the isolation's seccomp filter refused "
                  "a system call", file=sys.stderr)
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status))


def _mount_flags(path: str) -> int:
    """The flags of the mount `path` is on that a user namespace may not drop."""
    st = os.statvfs(path)
    flags = 0
    for st_flag, ms_flag in ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV),
                             (os.ST_NOEXEC, MS_NOEXEC), (os.ST_NOATIME, MS_NOATIME),
                             (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME)):
        if st.f_flag & st_flag:
            flags |= ms_flag
    return flags


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def _open_in(root_fd: int, path: str, flags: int) -> int:
    """openat2(root_fd, path, RESOLVE_IN_ROOT): a symbolic link on the way (a shipped
    root directory or a mounted one may hold any) resolves inside the new root, never
    on the host, where Lind, as root, would make directories and mount over them."""
    how = _OpenHow(flags | os.O_CLOEXEC, 0, RESOLVE_IN_ROOT)
    fd = _libc.syscall(SYS_OPENAT2, root_fd, (path.strip("/") or ".").encode(),
                       ctypes.byref(how), ctypes.sizeof(how))
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{path} in the new root: {os.strerror(code)}")
    return fd


def _place(root_fd: int, path: str, directory: bool = True) -> str:
    """`path` in the new root, made if missing (a directory, or an empty file), with
    its missing parents: the name of an O_PATH fd of it (/proc/self/fd/N) to mount on,
    good until _placed_fds closes them."""
    names = [n for n in path.split("/") if n]
    if any(n in (".", "..") for n in names):
        raise Refused(errno.EINVAL, f"{path}: . or .. in a path of the new root")
    for i, name in enumerate(names):
        last = i == len(names) - 1
        flags = os.O_PATH | (os.O_DIRECTORY if directory or not last else 0)
        try:
            os.close(_open_in(root_fd, "/".join(names[:i + 1]), flags))
        except FileNotFoundError:
            parent = _open_in(root_fd, "/".join(names[:i]), os.O_PATH | os.O_DIRECTORY)
            try:
                if directory or not last:
                    os.mkdir(name, 0o755, dir_fd=parent)
                else:
                    os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                     | os.O_CLOEXEC, 0o644, dir_fd=parent))
            except FileExistsError:     # a link to nothing: made here, it could move
                raise Refused(errno.ELOOP, f"{path}: /{'/'.join(names[:i + 1])} is a symbolic "
                              "link to nothing in the new root") from None
            finally:
                os.close(parent)
    fd = _open_in(root_fd, path, os.O_PATH | (os.O_DIRECTORY if directory else 0))
    _placed_fds.append(fd)
    return f"/proc/self/fd/{fd}"


_placed_fds: list[int] = []


def _bind(root_fd: int, bind: Bind) -> None:
    source = os.path.realpath(bind.path)
    guest = bind.target or bind.path
    _mount(source, _place(root_fd, guest, os.path.isdir(source)), None, MS_BIND | MS_REC,
           f"bind {bind.path}")
    if not bind.writable:            # on the mount just made: the path looked up again
        _mount(None, _place(root_fd, guest, os.path.isdir(source)), None,
               MS_REMOUNT | MS_BIND | MS_RDONLY | _mount_flags(source), f"read-only {guest}")


def _link_or_bind(root_fd: int, path: str) -> None:
    """/lib and friends: the same symlink where the host has one (merged /usr)."""
    if os.path.islink(path):
        os.symlink(os.readlink(path), _place(root_fd, os.path.dirname(path)) + "/"
                   + os.path.basename(path))
    elif os.path.isdir(path):
        _bind(root_fd, Bind(path))


def _exists_in(root_fd: int, path: str) -> bool:
    try:
        os.close(_open_in(root_fd, path, os.O_PATH))
        return True
    except OSError:
        return False


_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def _own_terminals(root_fd: int) -> None:
    """/dev/pts, a devpts instance of this mount namespace's own, and /dev/ptmx opening
    in it: the run's pseudo-terminals are its own, and none of the host's (other users'
    sessions) is in sight. A kernel that refuses the mount leaves the run without
    pseudo-terminals (openpty: ENOENT), as a /dev without them."""
    if _libc.mount(b"devpts", _place(root_fd, "/dev/pts").encode(), b"devpts",
                   MS_NOSUID | MS_NOEXEC, b"newinstance,ptmxmode=0666,mode=0620") != 0:
        return
    dev = _open_in(root_fd, "dev", os.O_PATH | os.O_DIRECTORY)
    try:
        os.symlink("pts/ptmx", "ptmx", dir_fd=dev)
    finally:
        os.close(dev)


def _new_root(root: str, binds: Sequence[Bind], runtime: bool = True, tmp: Sequence[str] = (),
              base: str | None = None) -> list[str]:
    """At the empty directory `root`: a tmpfs with the system's programs and libraries
    (or the directory `base`) and `binds` (and Python, Lind and the module cache with
    `runtime`), a private /tmp and `tmp` directories; pivot_root into it. Every place
    in it is found and made through a directory fd of the new root (_place)."""
    cwd = os.getcwd()
    _mount(None, "/", None, MS_REC | MS_PRIVATE, "private mounts")
    if base is not None:                # a directory of its own as / (an image)
        _mount(os.path.realpath(base), root, None, MS_BIND | MS_REC, f"bind {base} as /")
    else:
        _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "root tmpfs")
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        # /tmp first: the run's directories may lie in /tmp
        _mount("tmpfs", _place(root_fd, "/tmp"), "tmpfs", MS_NOSUID | MS_NODEV, "/tmp")
        os.chmod(_place(root_fd, "/tmp"), 0o1777)
        for path in _SYSTEM if base is None else ():
            _link_or_bind(root_fd, path)
        for bind in [*(_runtime_binds() if runtime else []), *binds,
                     *([Bind(cwd)] if cwd != "/" else [])]:
            # read-only ones already visible through another are left as they are
            seen = _exists_in(root_fd, bind.target or bind.path)
            if os.path.exists(bind.path) and (bind.writable or bind.target or not seen):
                _bind(root_fd, bind)
        for path in tmp:
            _mount("tmpfs", _place(root_fd, path), "tmpfs", MS_NOSUID | MS_NODEV, path)
        _mount("tmpfs", _place(root_fd, "/dev"), "tmpfs", MS_NOSUID | MS_NOEXEC, "/dev")
        for name in _DEVICES:
            # Read-only mounts: reading and writing a device stay the device's, but its
            # inode is the host's own (a chmod or utimes inside would change the host's)
            if os.path.exists(f"/dev/{name}"):
                _bind(root_fd, Bind(f"/dev/{name}"))
        _own_terminals(root_fd)
        # while the host's /proc is still in sight: a user namespace may mount one only
        # where another is fully visible
        _mount("proc", _place(root_fd, "/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "/proc")
        _guard_proc(_place(root_fd, "/proc"), _place(root_fd, "/dev/null", directory=False))
        old = _place(root_fd, "/.old")
        _check(_libc.syscall(SYS_PIVOT_ROOT, root.encode(), old.encode()), "pivot_root")
    finally:
        os.close(root_fd)
        while _placed_fds:
            os.close(_placed_fds.pop())
    os.chdir("/")
    _check(_libc.umount2(b"/.old", MNT_DETACH), "detach the old root")
    os.rmdir("/.old")
    if os.path.isdir(cwd):
        os.chdir(cwd)
    if not os.path.isdir(os.environ.get("TMPDIR", "/tmp")):   # a host one, out of sight now
        os.environ["TMPDIR"] = "/tmp"
        tempfile.tempdir = None
    return ["file system: a new root (Python, Lind, system libraries read-only; the run's "
            "directories; private /tmp, /dev, /dev/pts, /proc)"]


# What of /proc acts on the whole host rather than on the pid namespace: read-only (as
# container runtimes make them), since host root runs the program as host uid 0 (the
# user namespace maps it so), to which a sysctl's file mode alone gives writing.
_HOST_WIDE_PROC = ("sys", "sysrq-trigger", "irq", "bus", "fs", "acpi", "scsi", "asound",
                   "driver", "tty")
# ... and what only root may read, which tells of the host's kernel and the keys of its
# root user: empty (/dev/null over them), as container runtimes mask them.
_ROOT_ONLY_PROC = ("keys", "key-users", "timer_list", "sched_debug", "slabinfo",
                   "vmallocinfo", "pagetypeinfo", "iomem", "zoneinfo", "kcore")


def _guard_proc(proc: str, null: str) -> None:
    for name in _HOST_WIDE_PROC:
        path = f"{proc}/{name}"
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND | MS_REC, f"bind /proc/{name}")
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _mount_flags(path),
                   f"read-only /proc/{name}")
    for name in _ROOT_ONLY_PROC:
        path = f"{proc}/{name}"
        if os.path.isfile(path):
            _mount(null, path, None, MS_BIND, f"mask /proc/{name}")


def _runtime_binds() -> list[Bind]:
    """Python, Lind and the module cache, read-only: what an isolated Lind compiles stays
    in its memory, so a Lind subverted inside cannot plant code for later runs."""
    keep = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
            os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    keep |= {p for p in sys.path if p and os.path.isdir(p)}
    binds = [Bind(os.path.abspath(p)) for p in sorted(keep)]
    binds.append(Bind(cache_root()))
    return binds


def _drop_privileges() -> list[str]:
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    cap = 0
    while _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1
    header = struct.pack("<Ii", 0x20080522, 0)           # _LINUX_CAPABILITY_VERSION_3
    data = ctypes.create_string_buffer(24)                # two zeroed cap_user_data_t
    _check(_libc.syscall(SYS_CAPSET, header, data), "drop capabilities")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return [f"privileges: no_new_privs, {cap} capabilities dropped, no core files"]


CALLS = os.path.join(os.path.dirname(__file__), "lind_calls.txt")


def allowed_calls() -> list[int]:
    """The system calls the Lind process makes (measured: tests/isolation_calls.py)."""
    with open(CALLS) as f:
        return [int(line.split()[1]) for line in f if line.strip() and not line.startswith("#")]


def seccomp_program(returns: Mapping[int, int], default: int) -> bytes:
    """A classic BPF filter: x86_64 only (x32 numbers take `default` too); each number
    in `returns` gets its SECCOMP_RET_ value, any other `default`."""
    ld_arch = (0x20, 0, 0, 4)            # BPF_LD|BPF_W|BPF_ABS: seccomp_data.arch
    ld_nr = (0x20, 0, 0, 0)              # seccomp_data.nr
    code = [ld_arch, (0x15, 1, 0, AUDIT_ARCH_X86_64),       # JEQ: skip the kill
            (0x06, 0, 0, SECCOMP_RET_KILL_PROCESS), ld_nr]
    for nr, value in sorted(returns.items()):   # JEQ nr: on to its RET, else past it
        code += [(0x15, 0, 1, nr), (0x06, 0, 0, value)]
    code.append((0x06, 0, 0, default))
    return b"".join(struct.pack("<HBBI", *insn) for insn in code)


def _install_filter(returns: Mapping[int, int], default: int, said: str) -> list[str]:
    program = seccomp_program(returns, default)
    filters = ctypes.create_string_buffer(program)
    fprog = struct.pack("<HxxxxxxQ", len(program) // 8, ctypes.addressof(filters))
    _check(_libc.syscall(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                         fprog), "seccomp filter")
    return [said]


def _lind_filter(allowed: Iterable[int]) -> list[str]:
    allowed = set(allowed)
    return _install_filter(dict.fromkeys(allowed, SECCOMP_RET_ALLOW), SECCOMP_RET_KILL_PROCESS,
                           f"seccomp: {len(allowed)} system calls allowed, any other kills Lind")


def enter(binds: Sequence[Bind], *, network: bool, best_effort: bool = False,
          allowed_calls: Iterable[int], namespaces: Sequence[str] = ALL_NAMESPACES,
          seccomp: bool = True, memory: int | None = None) -> list[str]:
    """Put this process inside the layers above (in a forked child: the caller's
    process waits for it and exits with its status). Returns one line per layer, what
    it did or why the kernel refused it; raises Refused on the first refusal unless
    `best_effort`. A policy's [host] may leave out namespaces (`namespaces`; without
    "mount" there is no new root) and the filter (`seccomp`). Where a cgroup v2 can be
    made (see cgroup.py), Lind runs in one of its own: `memory` (the cages' budget) plus
    LIND_OVERHEAD as memory.max, LIND_TASKS threads as pids.max; where not, nothing is
    said (the cages' memory and processes are counted by Lind itself). Call it before
    anything starts a thread."""
    if already_isolated():
        return ["isolation: already isolated (not nested)"]
    said: list[str] = []
    allowed_calls = list(allowed_calls)
    if seccomp and "ipc" in namespaces and not _IPC_CALLS & set(allowed_calls):
        # The filter kills every System V IPC and message-queue call, all an IPC
        # namespace would hide: making one (and tearing it down) cost ~9 ms of each run.
        namespaces = [n for n in namespaces if n != "ipc"]
        said.append("ipc: no System V IPC or message-queue call passes the filter")

    def layer(step, *args, required: bool = False) -> bool:
        try:
            said.extend(step(*args))
            return True
        except (Refused, OSError) as exc:
            if not best_effort or required:
                raise Refused(exc.errno or errno.EPERM, f"--isolate: {exc.strerror or exc}") from None
            said.append(f"not applied: {exc.strerror or exc}")
            return False

    try:    # made as for a native program: before the namespaces, as the host's user
        made = cgroup.create(cgroup.limit_files(
            None if memory is None else memory + LIND_OVERHEAD, LIND_TASKS))
    except cgroup.Unavailable as exc:
        made = None
        said.append(f"{exc.strerror}: none made")
    entered = False
    try:
        entered = layer(_enter_namespaces, network, (None, None), namespaces)
    finally:
        if made is not None and not entered:    # no waiting parent to remove it later
            cgroup.remove(made)
    if not entered:
        layer(_drop_privileges)
        if seccomp:
            layer(_lind_filter, allowed_calls)
        return said
    sys.stdout.flush()
    sys.stderr.flush()
    mountpoint = _mountpoint() if "mount" in namespaces else None
    child = os.fork()
    if child:
        _wait_for(child, "the isolated Lind", mountpoint, cgroup_made=made)
    if made is not None:
        layer(_join_cgroup, made)
    os.environ[MARKER] = os.readlink("/proc/self/ns/pid")
    if mountpoint is not None:
        os.close(mountpoint[1])
        layer(_new_root, mountpoint[0], binds, required=True)   # never half made: see run_native
    layer(_drop_privileges)
    if seccomp:
        layer(_lind_filter, allowed_calls)
    if os.environ.get(TEST_FORBIDDEN_CALL):
        _libc.syscall(int(os.environ[TEST_FORBIDDEN_CALL]), 0, 0, 0, 0)
    return said


# ----------------------------------------------------------- native programs

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
_EXIT_CALLS = (60, 231)          # exit, exit_group: a program can always end
_EXECVE = 59


def _loopback_up() -> list[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sh14x", b"lo", 0)
        flags = struct.unpack("16sh14x", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", flags | IFF_UP))
    return ["network: a loopback of its own"]


def _limits(policy) -> list[str]:
    said = []
    if policy.memory is not None:
        resource.setrlimit(resource.RLIMIT_AS, (policy.memory, policy.memory))
        said.append(f"memory: RLIMIT_AS {policy.memory}")
    if policy.open_files is not None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (policy.open_files, policy.open_files))
        said.append(f"open files: RLIMIT_NOFILE {policy.open_files}")
    if policy.cpu_time is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (policy.cpu_time, policy.cpu_time + 1))
        said.append(f"CPU: RLIMIT_CPU {policy.cpu_time}")
    if policy.file_size is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (policy.file_size, policy.file_size))
        said.append(f"file size: RLIMIT_FSIZE {policy.file_size}")
    if policy.stack is not None:
        resource.setrlimit(resource.RLIMIT_STACK,
                           (policy.stack, resource.getrlimit(resource.RLIMIT_STACK)[1]))
        said.append(f"stack: RLIMIT_STACK {policy.stack}")
    return said


def _join_cgroup(made: Path) -> list[str]:
    cgroup.join(made)
    return [f"cgroup: {made}"]


def _hostname(name: str) -> list[str]:
    """In the new uts namespace only: outside it this would rename the host."""
    _check(_libc.sethostname(name.encode(), len(name.encode())), "hostname")
    return [f"hostname: {name}"]


def _action_value(action) -> int:
    return {"allow": SECCOMP_RET_ALLOW, "kill": SECCOMP_RET_KILL_PROCESS}.get(
        action.kind, SECCOMP_RET_ERRNO | action.code)


# keyctl, add_key, request_key: the kernel's keyrings are kept by host uid, and host root
# runs a native program as uid 0 to the kernel (its user namespace maps it so): it would
# reach root's own keyrings. EPERM whatever the policy says, as container runtimes do.
_KEY_CALLS = (250, 248, 249)


def _program_filter(policy) -> list[str]:
    refused = dict.fromkeys(_KEY_CALLS, SECCOMP_RET_ERRNO | errno.EPERM)
    grate = policy.seccomp()
    if grate is None:
        return _install_filter(refused, SECCOMP_RET_ALLOW,
                               "seccomp: the keyring calls refused, every other call allowed")
    returns = {nr: _action_value(action) for nr, action in grate.rules.items()} | refused
    returns |= dict.fromkeys(_EXIT_CALLS, SECCOMP_RET_ALLOW)
    returns.setdefault(_EXECVE, SECCOMP_RET_ALLOW)      # to start the program at all
    return _install_filter(returns, _action_value(grate.default),
                           f"seccomp: the policy's {len(grate.rules)} rules, default {grate.default.kind}")


def run_native(argv: Sequence[str], policy, base_dir: str, *, best_effort: bool = False,
               python: bool = False, keep: Sequence[Bind] = (), host_network: bool = False) -> None:
    """`lind isolate`: exec the native program `argv` under the host layers and
    `policy`'s rules — its mounts, tmp and root (relative to `base_dir`), its network
    (none or a private loopback: a network namespace; host: the host's), its system
    calls as a seccomp filter (execve passes unless the policy names it, exit always),
    memory (RLIMIT_AS, and a cgroup's memory.max where one can be made), processes (a
    cgroup's pids.max; refused without one), open files, CPU time, file size, wall time,
    ids and hostname. With `python`, this
    Python and Lind are kept too, read-only (a Python program isolating itself, see
    `lind.isolate`), and `keep` as it says; `host_network` is the person's consent to a
    policy that asks for the host's network. Never returns."""
    from lind.grates import number

    if policy.network_allow is not None:
        raise Refused(errno.EINVAL, "a network allow list needs a cage (lind run); a native "
                      "program gets the policy's network mode only")
    from lind.isolation.policy import PolicyViolation, beside

    if policy.network == "host" and not host_network:
        raise PolicyViolation(f"{argv[0]}: its policy asks for the host's network, which only "
                              "the person running it can grant: --net host")
    # RLIMIT_NPROC counts the host user's processes: a process count needs a cgroup.
    # Its pids.max counts the program's threads too, and the namespace's init.
    limits = cgroup.limit_files(policy.memory, None if policy.processes is None
                                else policy.processes + 1)
    cgroup_made = None
    if limits:
        try:
            cgroup_made = cgroup.create(limits)
        except cgroup.Unavailable as exc:
            if policy.processes is not None and not best_effort:
                raise Refused(exc.errno or errno.EINVAL, "a process count needs a cage (lind run) "
                              f"or a cgroup for the native program, and {exc.strerror}") from None
            if policy.processes is not None:
                print(f"lind: isolate: not applied: {exc.strerror}", file=sys.stderr)
    rules = policy.seccomp().rules if policy.seccomp() is not None else {}
    if rules.get(number("execve")) is not None and rules[number("execve")].kind != "allow":
        raise Refused(errno.EINVAL, "the policy refuses execve, which starting a native program needs")
    here = Path(base_dir).resolve()
    binds = [*keep, *(Bind(beside(here, m.host, argv[0]), not m.readonly, m.path)
                      for m in policy.mounts)]
    base = beside(here, policy.root, argv[0]) if policy.root is not None else None
    said: list[str] = []

    def layer(step, *args, required: bool = False) -> None:
        try:
            said.extend(step(*args))
        except (Refused, OSError) as exc:
            if not best_effort or required:
                print(f"lind: isolate: {exc.strerror or exc}", file=sys.stderr)
                os._exit(125)
            print(f"lind: isolate: not applied: {exc.strerror or exc}", file=sys.stderr)

    network = policy.network != "host"
    try:
        said += _enter_namespaces(network, (policy.uid, policy.gid))
        namespaces = True
    except (Refused, OSError) as exc:
        if not best_effort:
            if cgroup_made is not None:
                cgroup.remove(cgroup_made)
            raise
        print(f"lind: isolate: not applied: {exc.strerror or exc}", file=sys.stderr)
        namespaces = False
    if namespaces:
        sys.stdout.flush()
        sys.stderr.flush()
        mountpoint = _mountpoint()
        child = os.fork()
        if child:
            _wait_for(child, argv[0], mountpoint, policy.wall_time, cgroup_made)
        os.close(mountpoint[1])
        if cgroup_made is not None:
            layer(_join_cgroup, cgroup_made)
        os.environ[MARKER] = os.readlink("/proc/self/ns/pid")
        # Never skipped once the namespaces are made: what fails here may be the shipped
        # root's doing (its /proc a file), and the program would run in the host's files.
        layer(_new_root, mountpoint[0], binds, python, policy.tmp, base, required=True)
        if policy.network == "private":
            layer(_loopback_up)
        if policy.hostname is not None:
            layer(_hostname, policy.hostname)
    elif cgroup_made is not None:       # no waiting parent to remove it afterwards
        cgroup.remove(cgroup_made)
        print("lind: isolate: not applied: cgroup: needs the namespaces", file=sys.stderr)
    layer(_limits, policy)
    layer(_drop_privileges)
    if namespaces:
        # This process is the pid namespace's first, for which signals without a
        # handler do nothing (SIGXCPU, a terminal's SIGINT...): it stays as the
        # namespace's init, passing signals on, and the program runs as its child.
        program = os.fork()
        if program:
            _wait_for(program, argv[0], None)
    layer(_program_filter, policy)
    for ignored_by_python in (signal.SIGPIPE, signal.SIGXFSZ):   # as subprocess restores them
        signal.signal(ignored_by_python, signal.SIG_DFL)
    try:
        os.execvp(argv[0], list(argv))
    except OSError as exc:
        print(f"lind: isolate: {argv[0]}: {exc.strerror}", file=sys.stderr)
        os._exit(127 if exc.errno == errno.ENOENT else 126)


def isolate_python(policy_file: str | os.PathLike[str] | None = None, *,
                   best_effort: bool = False) -> None:
    """Run this Python program again inside `lind isolate` with `policy_file`; returns at
    once in the isolated run (the second call), never in the first."""
    if already_isolated():
        return
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] not in ("", "-c") else None
    options = [*(["--policy", os.fspath(policy_file)] if policy_file is not None else []),
               *(["--isolate=best-effort"] if best_effort else []),
               *(["--keep", os.path.dirname(script)] if script else [])]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "lind", "isolate", "--python", *options,
                              "--", sys.executable, *sys.orig_argv[1:]])
