"""Which arguments of which calls name files, for the grates that act on paths.

A path is resolved the way the microvisor resolves it: lexically (`.`, `..` and
repeated slashes folded), against the cage's working directory or, for an *at call,
against the directory its dirfd was opened as. Symbolic links are not followed here;
the layer that opens the file does that.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass

from lind.grates import Call
from lind.microvisor import abi
from lind.microvisor.fs import join, normalize


@dataclass(frozen=True)
class PathArg:
    """A path argument: its index, and the index of the dirfd it is relative to (*at)."""

    path: int
    dirfd: int | None = None


_P0, _P1, _AT01 = PathArg(0), PathArg(1), PathArg(1, 0)

# Every call in Linux x86_64 that takes a file name, by name -> its path arguments
# (a socket address's file name: SOCKET_ADDRESS_CALLS).
PATH_CALLS: dict[str, tuple[PathArg, ...]] = {
    "open": (_P0,), "creat": (_P0,), "openat": (_AT01,),
    "stat": (_P0,), "lstat": (_P0,), "newfstatat": (_AT01,), "statx": (_AT01,),
    "access": (_P0,), "faccessat": (_AT01,), "faccessat2": (_AT01,),
    "readlink": (_P0,), "readlinkat": (_AT01,),
    "unlink": (_P0,), "unlinkat": (_AT01,), "rmdir": (_P0,),
    "mkdir": (_P0,), "mkdirat": (_AT01,), "mknod": (_P0,), "mknodat": (_AT01,),
    "rename": (_P0, _P1), "renameat": (_AT01, PathArg(3, 2)), "renameat2": (_AT01, PathArg(3, 2)),
    "link": (_P0, _P1), "linkat": (_AT01, PathArg(3, 2)),
    "symlink": (_P1,), "symlinkat": (PathArg(2, 1),),
    "chmod": (_P0,), "fchmodat": (_AT01,), "fchmodat2": (_AT01,),
    "chown": (_P0,), "lchown": (_P0,), "fchownat": (_AT01,),
    "truncate": (_P0,), "utime": (_P0,), "utimes": (_P0,), "futimesat": (_AT01,),
    "utimensat": (_AT01,),
    "chdir": (_P0,), "chroot": (_P0,), "execve": (_P0,), "execveat": (_AT01,),
    "statfs": (_P0,), "inotify_add_watch": (_P1,), "fanotify_mark": (PathArg(4, 3),),
    "openat2": (_AT01,), "name_to_handle_at": (_AT01,), "uselib": (_P0,), "acct": (_P0,),
    "swapon": (_P0,), "swapoff": (_P0,), "mount": (_P0, _P1), "umount2": (_P0,),
    "pivot_root": (_P0, _P1), "quotactl": (_P1,), "open_tree": (_AT01,),
    "move_mount": (_AT01, PathArg(3, 2)), "fspick": (_AT01,), "mount_setattr": (_AT01,),
    "setxattr": (_P0,), "lsetxattr": (_P0,), "getxattr": (_P0,), "lgetxattr": (_P0,),
    "listxattr": (_P0,), "llistxattr": (_P0,), "removexattr": (_P0,), "lremovexattr": (_P0,),
}

# Calls that act on an open file's contents or attributes through one fd, by name ->
# the index of that fd (what a tee sends through both stacks, each with its own fd).
FD_CALLS: dict[str, int] = {
    name: 0 for name in (
        "read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
        "preadv2", "pwritev2", "lseek", "fstat", "fstatfs", "fsync", "fdatasync", "syncfs",
        "sync_file_range", "readahead", "fadvise64", "ftruncate", "fallocate",
        "fchmod", "fchown", "fchdir", "getdents", "getdents64", "ioctl", "fcntl", "flock",
        "close", "dup", "dup2", "dup3", "fsetxattr", "fgetxattr", "flistxattr", "fremovexattr",
    )
} | {"mmap": 4}

# Every call in Linux x86_64 that takes a file descriptor of the caller's as an
# argument, by name -> the indexes of those arguments; a call matches a condition on
# fds when any of them does. Not here: the dirfd of an *at call (PATH_CALLS: the path
# is resolved against it), fds held in memory (poll, select, epoll's events,
# SCM_RIGHTS), pidfds in waitid's id, and close_range's bounds (FD_RANGE_CALLS).
FD_ARGS: dict[str, tuple[int, ...]] = {name: (index,) for name, index in FD_CALLS.items()} | {
    "dup2": (0, 1), "dup3": (0, 1),
    "sendfile": (0, 1), "copy_file_range": (0, 2), "splice": (0, 2), "tee": (0, 1),
    "vmsplice": (0,),
    **{name: (0,) for name in (
        "connect", "accept", "accept4", "bind", "listen", "shutdown", "getsockname",
        "getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg",
        "recvmsg", "sendmmsg", "recvmmsg",
        "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl_old", "epoll_wait_old",
        "signalfd", "signalfd4", "timerfd_settime", "timerfd_gettime",
        "inotify_add_watch", "inotify_rm_watch", "fanotify_mark",
        "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
        "open_by_handle_at", "setns", "finit_module", "fsconfig", "fsmount",
        "pidfd_send_signal", "pidfd_getfd", "process_madvise", "process_mrelease",
        "io_uring_enter", "io_uring_register", "landlock_add_rule", "landlock_restrict_self",
        "cachestat",
    )},
    "epoll_ctl": (0, 2), "kexec_file_load": (0, 1), "perf_event_open": (3,),
}

# Calls whose fd arguments are the first and last of a range.
FD_RANGE_CALLS: dict[str, tuple[int, int]] = {"close_range": (0, 1)}

# Calls that name a file in a socket address: bind (a new name), connect and sendto (one
# to reach), with an AF_UNIX path (`socket_path`). Abstract names (a NUL first) name none.
SOCKET_ADDRESS_CALLS = ("bind", "connect", "sendto")

# Every other Linux x86_64 call names no file and takes no fd of the caller's, so no
# path or fd condition can match it (a test checks that these tables cover every name).
NO_FILE_CALLS = frozenset((
    "poll", "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "pipe", "select", "sched_yield", "mremap", "msync", "mincore", "madvise", "shmget",
    "shmat", "shmctl", "pause", "nanosleep", "getitimer", "alarm", "setitimer", "getpid",
    "socket", "socketpair", "clone", "fork", "vfork", "exit", "wait4", "kill", "uname",
    "semget", "semop", "semctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl", "getcwd",
    "umask", "gettimeofday", "getrlimit", "getrusage", "sysinfo", "times", "ptrace",
    "getuid", "syslog", "getgid", "setuid", "setgid", "geteuid", "getegid", "setpgid",
    "getppid", "getpgrp", "setsid", "setreuid", "setregid", "getgroups", "setgroups",
    "setresuid", "getresuid", "setresgid", "getresgid", "getpgid", "setfsuid", "setfsgid",
    "getsid", "capget", "capset", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
    "rt_sigsuspend", "sigaltstack", "personality", "ustat", "sysfs", "getpriority",
    "setpriority", "sched_setparam", "sched_getparam", "sched_setscheduler",
    "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
    "sched_rr_get_interval", "mlock", "munlock", "mlockall", "munlockall", "vhangup",
    "modify_ldt", "_sysctl", "prctl", "arch_prctl", "adjtimex", "setrlimit", "sync",
    "settimeofday", "reboot", "sethostname", "setdomainname", "iopl", "ioperm",
    "create_module", "init_module", "delete_module", "get_kernel_syms", "query_module",
    "nfsservctl", "getpmsg", "putpmsg", "afs_syscall", "tuxcall", "security", "gettid",
    "tkill", "time", "futex", "sched_setaffinity", "sched_getaffinity", "set_thread_area",
    "io_setup", "io_destroy", "io_getevents", "io_submit", "io_cancel", "get_thread_area",
    "lookup_dcookie", "epoll_create", "remap_file_pages", "set_tid_address",
    "restart_syscall", "semtimedop", "timer_create", "timer_settime", "timer_gettime",
    "timer_getoverrun", "timer_delete", "clock_settime", "clock_gettime", "clock_getres",
    "clock_nanosleep", "exit_group", "tgkill", "vserver", "mbind", "set_mempolicy",
    "get_mempolicy", "mq_unlink", "kexec_load", "waitid", "add_key", "request_key",
    "keyctl", "ioprio_set", "ioprio_get", "inotify_init", "migrate_pages", "pselect6",
    "ppoll", "unshare", "set_robust_list", "get_robust_list", "move_pages",
    "timerfd_create", "eventfd", "eventfd2", "epoll_create1", "pipe2", "inotify_init1",
    "rt_tgsigqueueinfo", "fanotify_init", "prlimit64", "clock_adjtime", "getcpu",
    "process_vm_readv", "process_vm_writev", "kcmp", "sched_setattr", "sched_getattr",
    "seccomp", "getrandom", "memfd_create", "bpf", "userfaultfd", "membarrier", "mlock2",
    "pkey_mprotect", "pkey_alloc", "pkey_free", "io_pgetevents", "rseq", "io_uring_setup",
    "fsopen", "pidfd_open", "clone3", "memfd_secret", "mq_open", "futex_waitv",
    "set_mempolicy_home_node", "landlock_create_ruleset", "register_handler",
    "copy_data_between_cages", "copy_handler_table_to_cage", "make_threei_call",
    "harsh_exit", "pin_fds", "unpin_fds", "spawn",
))


def open_flags_and_mode(call: Call) -> tuple[int, int]:
    """The open flags (O_LARGEFILE left out) and mode of an open, openat or creat call;
    creat's are O_CREAT|O_WRONLY|O_TRUNC."""
    if call.name == "creat":
        return abi.O_CREAT | abi.O_WRONLY | abi.O_TRUNC, abi.u32(call.args[1])
    at = 1 if call.name == "open" else 2
    return abi.u32(call.args[at]) & ~abi.O_LARGEFILE, abi.u32(call.args[at + 1])


def encode_path(path: str) -> bytes:
    """A guest path as the C string a call takes (`call.put` it to pass it down)."""
    return path.encode("utf-8", "surrogateescape") + b"\0"


def under(path: str, prefix: str) -> bool:
    """Whether `path` is `prefix` or inside it (both absolute and normalised)."""
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def guest_dir(text: str) -> str:
    """An absolute guest directory given in a grate's arguments, normalised."""
    if not text.startswith("/"):
        raise ValueError(f"{text!r} is not an absolute path")
    return normalize(text)


def fd_path(call: Call, fd: int) -> str | None:
    """The guest path file descriptor `fd` of the calling cage was opened as, if any."""
    try:
        return call.file(abi.s32(fd)).path or None
    except OSError:
        return None


def _as_is(path: str) -> str:
    return path


def resolve(call: Call, arg: PathArg, view: Callable[[str], str] = _as_is) -> str | None:
    """The absolute guest path argument `arg` names, or None when it names no path
    (NULL or empty: the call then acts on its dirfd) or its dirfd is not a directory.

    `view` translates the directory a relative path starts from (the working
    directory or the dirfd's path) before joining, for grates that rename the tree.
    """
    if not call.args[arg.path]:
        return None
    raw = call.string(arg.path, abi.PATH_MAX - 1).decode("utf-8", "surrogateescape")
    if not raw:
        return None
    if raw.startswith("/"):
        return normalize(raw)
    start = start_dir(call, arg, view)
    if start is None:
        return None
    path = join(start, raw)
    if view is _as_is and path.startswith("/"):
        call.resolved(arg.path, arg.dirfd, path)    # what is checked is what goes below
    return path


def start_dir(call: Call, arg: PathArg, view: Callable[[str], str] = _as_is) -> str | None:
    """The directory a relative path argument starts from: the working directory, or
    for an *at call the one its dirfd was opened as (None if that is no directory)."""
    if arg.dirfd is None or abi.s32(call.args[arg.dirfd]) == abi.AT_FDCWD:
        return view(call.cage.cwd)
    try:
        f = call.file(abi.s32(call.args[arg.dirfd]))
    except OSError:
        return None
    return view(f.path) if f.is_dir else None


def _names_path(call: Call, arg: PathArg) -> bool:
    return bool(call.args[arg.path]) and bool(call.string(arg.path, abi.PATH_MAX - 1))


_SOCKADDR_ARGS = {"bind": (1, 2), "connect": (1, 2), "sendto": (4, 5)}   # address, length
_SOCKADDR_MAX = 128                 # sizeof(struct sockaddr_storage), as the microvisor reads
_AF_UNIX = 1


def socket_path(call: Call, view: Callable[[str], str] = _as_is) -> str | None:
    """The file an AF_UNIX address argument of bind, connect or sendto names, resolved
    as the microvisor resolves it (a relative name against the working directory); None
    for any other address, an abstract name (a NUL first) or none. sendmsg's address
    lies inside its header, which this does not read."""
    where = _SOCKADDR_ARGS.get(call.name)
    if where is None or not call.args[where[0]]:
        return None
    length = abi.s32(call.args[where[1]])
    if not 2 < length <= _SOCKADDR_MAX:
        return None
    raw = call.read(where[0], length)     # the copy the layers below get
    if int.from_bytes(raw[:2], "little") != _AF_UNIX or raw[2] == 0:
        return None
    name = raw[2:].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    if name.startswith("/"):
        return normalize(name)
    path = join(view(call.cage.cwd), name)
    if view is _as_is:
        # what is checked is what goes below (a chdir in between cannot move it); a name
        # too long for an address made so is refused, as Linux refuses one given so
        address = raw[:2] + encode_path(path)
        if len(address) > _SOCKADDR_MAX:
            raise abi.error(errno.ENAMETOOLONG)
        call.resolved_address(where[0], where[1], address)
    return path


def fd_args(call: Call) -> list[int]:
    """The caller's fds a call takes as arguments (FD_ARGS; close_range: the open fds in
    its range)."""
    if call.name in FD_RANGE_CALLS:
        first, last = (abi.u32(call.args[i]) for i in FD_RANGE_CALLS[call.name])
        return [n for n in call.cage.fds.numbers() if first <= n <= last]
    return [abi.s32(call.args[i]) for i in FD_ARGS.get(call.name, ())]


def touched(call: Call) -> list[str]:
    """Every file a call names: its resolved path arguments (an *at call with an empty
    path acts on its dirfd), the file an AF_UNIX socket address names, and the paths
    its fd arguments were opened as."""
    found = []
    for arg in PATH_CALLS.get(call.name, ()):
        path = resolve(call, arg)
        if path is None and arg.dirfd is not None and not _names_path(call, arg):
            path = fd_path(call, call.args[arg.dirfd])
        if path is not None:
            found.append(path)
    if call.name in SOCKET_ADDRESS_CALLS and (path := socket_path(call)) is not None:
        found.append(path)
    for fd in fd_args(call):
        path = fd_path(call, fd)
        if path is not None:
            found.append(path)
    return found


def may_name_file(name: str | None) -> bool:
    """Whether a call of this name may name a file or take an fd: False only for the
    calls known to do neither (NO_FILE_CALLS) and numbers with no Linux name (3i's own
    operations, Lind's private calls, unused numbers)."""
    return name is not None and name not in NO_FILE_CALLS


def may_take_fd(name: str | None) -> bool:
    """Whether a call of this name may take an fd of the caller's as an argument (a
    name no table knows may)."""
    if name in FD_ARGS or name in FD_RANGE_CALLS:
        return True
    return may_name_file(name) and name not in PATH_CALLS and name not in SOCKET_ADDRESS_CALLS


def removes_directory(call: Call) -> bool:
    """Whether an unlink, unlinkat or rmdir call is for a directory (AT_REMOVEDIR)."""
    if call.name != "unlinkat":
        return call.name == "rmdir"
    flags = abi.u32(call.args[2])
    if flags & ~abi.AT_REMOVEDIR:
        raise abi.error(errno.EINVAL)
    return bool(flags & abi.AT_REMOVEDIR)
