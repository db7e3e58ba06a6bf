"""The microvisor's one table: Linux x86_64 syscall number -> implementation.

`fast` names an entry the C trampoline answers without entering Python (identity
calls from the cage's Slot; I/O on host fds the FdTable mirrors into the Slot); such
entries keep a Python handler for what the fast path declines (a directory, a fd that
is not host-backed, a close). A number missing here is ENOSYS.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from lind import threei
from lind.microvisor import abi
from lind.microvisor import sys_epoll as ep
from lind.microvisor import sys_events as ev
from lind.microvisor import sys_files as f
from lind.microvisor import sys_futex as fx
from lind.microvisor import sys_info as info
from lind.microvisor import sys_inotify as notify
from lind.microvisor import sys_ipc as ipc
from lind.microvisor import sys_locks as lk
from lind.microvisor import sys_memory as m
from lind.microvisor import sys_net as net
from lind.microvisor import sys_poll as poll
from lind.microvisor import sys_process as p
from lind.microvisor import sys_signals as s
from lind.microvisor import sys_threads as th
from lind.microvisor import sys_time as t
from lind.microvisor import sys_timers as tm
from lind.threei import ops


@dataclass(frozen=True)
class Syscall:
    nr: int
    name: str
    impl: Callable[..., int] | None
    fast: int = threei.FAST_NONE


SYSCALLS: dict[int, Syscall] = {
    sc.nr: sc
    for sc in [
        # files
        Syscall(0, "read", f.sys_read, threei.FAST_READ),
        Syscall(1, "write", f.sys_write, threei.FAST_WRITE),
        Syscall(2, "open", f.sys_open, threei.FAST_OPEN),
        Syscall(3, "close", f.sys_close, threei.FAST_CLOSE),
        Syscall(4, "stat", f.sys_stat),
        Syscall(5, "fstat", f.sys_fstat, threei.FAST_FSTAT),
        Syscall(6, "lstat", f.sys_lstat),
        Syscall(8, "lseek", f.sys_lseek, threei.FAST_LSEEK),
        Syscall(16, "ioctl", f.sys_ioctl, threei.FAST_IOCTL),
        Syscall(17, "pread64", f.sys_pread64, threei.FAST_PREAD),
        Syscall(18, "pwrite64", f.sys_pwrite64, threei.FAST_PWRITE),
        Syscall(19, "readv", f.sys_readv, threei.FAST_READV),
        Syscall(20, "writev", f.sys_writev, threei.FAST_WRITEV),
        Syscall(21, "access", f.sys_access, threei.FAST_ACCESS),
        Syscall(22, "pipe", f.sys_pipe),
        Syscall(32, "dup", f.sys_dup),
        Syscall(33, "dup2", f.sys_dup2),
        Syscall(72, "fcntl", f.sys_fcntl),
        Syscall(73, "flock", lk.sys_flock),
        Syscall(74, "fsync", f.sys_fsync),
        Syscall(75, "fdatasync", f.sys_fdatasync),
        Syscall(76, "truncate", f.sys_truncate),
        Syscall(77, "ftruncate", f.sys_ftruncate),
        Syscall(79, "getcwd", f.sys_getcwd),
        Syscall(80, "chdir", f.sys_chdir),
        Syscall(81, "fchdir", f.sys_fchdir),
        Syscall(82, "rename", f.sys_rename, threei.FAST_RENAME),
        Syscall(83, "mkdir", f.sys_mkdir),
        Syscall(84, "rmdir", f.sys_rmdir, threei.FAST_RMDIR),
        Syscall(85, "creat", f.sys_creat),
        Syscall(86, "link", f.sys_link),
        Syscall(87, "unlink", f.sys_unlink, threei.FAST_UNLINK),
        Syscall(88, "symlink", f.sys_symlink),
        Syscall(89, "readlink", f.sys_readlink, threei.FAST_READLINK),
        Syscall(90, "chmod", f.sys_chmod),
        Syscall(91, "fchmod", f.sys_fchmod),
        Syscall(92, "chown", f.sys_chown),
        Syscall(93, "fchown", f.sys_fchown),
        Syscall(94, "lchown", f.sys_lchown),
        Syscall(95, "umask", f.sys_umask),
        Syscall(217, "getdents64", f.sys_getdents64),
        Syscall(257, "openat", f.sys_openat, threei.FAST_OPENAT),
        Syscall(258, "mkdirat", f.sys_mkdirat),
        Syscall(262, "newfstatat", f.sys_newfstatat, threei.FAST_NEWFSTATAT),
        Syscall(263, "unlinkat", f.sys_unlinkat, threei.FAST_UNLINKAT),
        Syscall(264, "renameat", f.sys_renameat, threei.FAST_RENAMEAT),
        Syscall(265, "linkat", f.sys_linkat),
        Syscall(266, "symlinkat", f.sys_symlinkat),
        Syscall(267, "readlinkat", f.sys_readlinkat, threei.FAST_READLINKAT),
        Syscall(260, "fchownat", f.sys_fchownat),
        Syscall(268, "fchmodat", f.sys_fchmodat),
        Syscall(452, "fchmodat2", f.sys_fchmodat2),
        Syscall(269, "faccessat", f.sys_faccessat, threei.FAST_FACCESSAT),
        Syscall(280, "utimensat", f.sys_utimensat),
        Syscall(285, "fallocate", f.sys_fallocate),
        Syscall(292, "dup3", f.sys_dup3),
        Syscall(293, "pipe2", f.sys_pipe2),
        Syscall(316, "renameat2", f.sys_renameat2),
        Syscall(439, "faccessat2", f.sys_faccessat2),
        Syscall(40, "sendfile", f.sys_sendfile),
        Syscall(132, "utime", f.sys_utime),
        Syscall(133, "mknod", f.sys_mknod),
        Syscall(137, "statfs", f.sys_statfs),
        Syscall(138, "fstatfs", f.sys_fstatfs),
        Syscall(162, "sync", f.sys_sync),
        Syscall(187, "readahead", f.sys_readahead),
        Syscall(188, "setxattr", f.sys_setxattr),
        Syscall(189, "lsetxattr", f.sys_lsetxattr),
        Syscall(190, "fsetxattr", f.sys_fxattr_none),
        Syscall(191, "getxattr", f.sys_getxattr),
        Syscall(192, "lgetxattr", f.sys_lgetxattr),
        Syscall(193, "fgetxattr", f.sys_fxattr_none),
        Syscall(194, "listxattr", f.sys_listxattr),
        Syscall(195, "llistxattr", f.sys_llistxattr),
        Syscall(196, "flistxattr", f.sys_flistxattr),
        Syscall(197, "removexattr", f.sys_removexattr),
        Syscall(198, "lremovexattr", f.sys_lremovexattr),
        Syscall(199, "fremovexattr", f.sys_fxattr_none),
        Syscall(221, "fadvise64", f.sys_fadvise64),
        Syscall(235, "utimes", f.sys_utimes),
        Syscall(259, "mknodat", f.sys_mknodat),
        Syscall(261, "futimesat", f.sys_futimesat),
        Syscall(277, "sync_file_range", f.sys_sync_file_range),
        Syscall(295, "preadv", f.sys_preadv),
        Syscall(296, "pwritev", f.sys_pwritev),
        Syscall(306, "syncfs", f.sys_syncfs),
        Syscall(319, "memfd_create", f.sys_memfd_create),
        Syscall(326, "copy_file_range", f.sys_copy_file_range),
        Syscall(275, "splice", f.sys_splice),
        Syscall(276, "tee", f.sys_tee),
        Syscall(278, "vmsplice", f.sys_vmsplice),
        Syscall(327, "preadv2", f.sys_preadv2),
        Syscall(328, "pwritev2", f.sys_pwritev2),
        Syscall(436, "close_range", f.sys_close_range),
        Syscall(332, "statx", f.sys_statx),
        # file change notifications
        Syscall(253, "inotify_init", notify.sys_inotify_init),
        Syscall(254, "inotify_add_watch", notify.sys_inotify_add_watch),
        Syscall(255, "inotify_rm_watch", notify.sys_inotify_rm_watch),
        Syscall(294, "inotify_init1", notify.sys_inotify_init1),
        # sockets
        Syscall(41, "socket", net.sys_socket),
        Syscall(42, "connect", net.sys_connect),
        Syscall(43, "accept", net.sys_accept),
        Syscall(44, "sendto", net.sys_sendto, threei.FAST_SENDTO),
        Syscall(45, "recvfrom", net.sys_recvfrom, threei.FAST_RECVFROM),
        Syscall(46, "sendmsg", net.sys_sendmsg),
        Syscall(47, "recvmsg", net.sys_recvmsg),
        Syscall(48, "shutdown", net.sys_shutdown),
        Syscall(49, "bind", net.sys_bind),
        Syscall(50, "listen", net.sys_listen),
        Syscall(51, "getsockname", net.sys_getsockname),
        Syscall(52, "getpeername", net.sys_getpeername),
        Syscall(53, "socketpair", net.sys_socketpair),
        Syscall(54, "setsockopt", net.sys_setsockopt),
        Syscall(55, "getsockopt", net.sys_getsockopt),
        Syscall(288, "accept4", net.sys_accept4),
        Syscall(299, "recvmmsg", net.sys_recvmmsg),
        Syscall(307, "sendmmsg", net.sys_sendmmsg),
        # readiness
        Syscall(7, "poll", poll.sys_poll, threei.FAST_POLL),
        Syscall(23, "select", poll.sys_select),
        Syscall(270, "pselect6", poll.sys_pselect6, threei.FAST_PSELECT6),
        Syscall(271, "ppoll", poll.sys_ppoll),
        Syscall(213, "epoll_create", ep.sys_epoll_create),
        Syscall(291, "epoll_create1", ep.sys_epoll_create1),
        Syscall(233, "epoll_ctl", ep.sys_epoll_ctl),
        Syscall(232, "epoll_wait", ep.sys_epoll_wait),
        Syscall(281, "epoll_pwait", ep.sys_epoll_pwait, threei.FAST_EPOLL_PWAIT),
        Syscall(441, "epoll_pwait2", ep.sys_epoll_pwait2),
        # events as files
        Syscall(284, "eventfd", ev.sys_eventfd),
        Syscall(290, "eventfd2", ev.sys_eventfd2),
        Syscall(283, "timerfd_create", ev.sys_timerfd_create),
        Syscall(286, "timerfd_settime", ev.sys_timerfd_settime),
        Syscall(287, "timerfd_gettime", ev.sys_timerfd_gettime),
        Syscall(282, "signalfd", ev.sys_signalfd),
        Syscall(289, "signalfd4", ev.sys_signalfd4),
        # memory
        Syscall(9, "mmap", m.sys_mmap),
        Syscall(10, "mprotect", m.sys_mprotect),
        Syscall(11, "munmap", m.sys_munmap),
        Syscall(12, "brk", m.sys_brk),
        Syscall(25, "mremap", m.sys_mremap),
        Syscall(26, "msync", m.sys_msync),
        Syscall(28, "madvise", m.sys_madvise),
        Syscall(27, "mincore", m.sys_mincore),
        Syscall(149, "mlock", m.sys_mlock),
        Syscall(150, "munlock", m.sys_munlock),
        Syscall(151, "mlockall", m.sys_mlockall),
        Syscall(152, "munlockall", m.sys_munlockall),
        Syscall(325, "mlock2", m.sys_mlock2),
        # signals
        Syscall(13, "rt_sigaction", s.sys_rt_sigaction),
        Syscall(14, "rt_sigprocmask", s.sys_rt_sigprocmask, threei.FAST_SIGPROCMASK),
        Syscall(34, "pause", s.sys_pause),
        Syscall(62, "kill", s.sys_kill),
        Syscall(127, "rt_sigpending", s.sys_rt_sigpending),
        Syscall(130, "rt_sigsuspend", s.sys_rt_sigsuspend),
        Syscall(200, "tkill", s.sys_tkill),
        Syscall(234, "tgkill", s.sys_tgkill),
        Syscall(128, "rt_sigtimedwait", s.sys_rt_sigtimedwait),
        Syscall(129, "rt_sigqueueinfo", s.sys_rt_sigqueueinfo),
        Syscall(131, "sigaltstack", s.sys_sigaltstack),
        Syscall(297, "rt_tgsigqueueinfo", s.sys_rt_tgsigqueueinfo),
        # System V IPC, one namespace per runtime
        Syscall(29, "shmget", ipc.sys_shmget),
        Syscall(30, "shmat", ipc.sys_shmat),
        Syscall(31, "shmctl", ipc.sys_shmctl),
        Syscall(67, "shmdt", ipc.sys_shmdt),
        Syscall(64, "semget", ipc.sys_semget),
        Syscall(65, "semop", ipc.sys_semop),
        Syscall(66, "semctl", ipc.sys_semctl),
        Syscall(220, "semtimedop", ipc.sys_semtimedop),
        Syscall(68, "msgget", ipc.sys_msgget),
        Syscall(69, "msgsnd", ipc.sys_msgsnd),
        Syscall(70, "msgrcv", ipc.sys_msgrcv),
        Syscall(71, "msgctl", ipc.sys_msgctl),
        # waiting on memory words, within a cage and across cages sharing pages
        Syscall(202, "futex", fx.sys_futex, threei.FAST_FUTEX),
        # process
        Syscall(24, "sched_yield", p.sys_sched_yield),
        Syscall(39, "getpid", p.sys_getpid, threei.FAST_GETPID),
        Syscall(56, "clone", p.sys_clone),
        Syscall(57, "fork", p.sys_fork, threei.FAST_FORK),
        Syscall(58, "vfork", p.sys_fork),
        Syscall(59, "execve", p.sys_execve),
        Syscall(61, "wait4", p.sys_wait4),
        Syscall(109, "setpgid", p.sys_setpgid),
        Syscall(111, "getpgrp", p.sys_getpgrp),
        Syscall(112, "setsid", p.sys_setsid),
        Syscall(121, "getpgid", p.sys_getpgid),
        Syscall(124, "getsid", p.sys_getsid),
        Syscall(60, "exit", th.sys_exit),
        Syscall(97, "getrlimit", p.sys_getrlimit),
        Syscall(102, "getuid", p.sys_getuid, threei.FAST_GETUID),
        Syscall(104, "getgid", p.sys_getgid, threei.FAST_GETGID),
        Syscall(107, "geteuid", p.sys_geteuid, threei.FAST_GETEUID),
        Syscall(108, "getegid", p.sys_getegid, threei.FAST_GETEGID),
        Syscall(110, "getppid", p.sys_getppid, threei.FAST_GETPPID),
        Syscall(160, "setrlimit", p.sys_setrlimit),
        Syscall(186, "gettid", th.sys_gettid),
        Syscall(218, "set_tid_address", th.sys_set_tid_address),
        Syscall(231, "exit_group", p.sys_exit_group),
        Syscall(302, "prlimit64", p.sys_prlimit64),
        Syscall(98, "getrusage", p.sys_getrusage),
        Syscall(100, "times", p.sys_times),
        Syscall(105, "setuid", p.sys_setuid),
        Syscall(106, "setgid", p.sys_setgid),
        Syscall(113, "setreuid", p.sys_setreuid),
        Syscall(114, "setregid", p.sys_setregid),
        Syscall(115, "getgroups", p.sys_getgroups),
        Syscall(116, "setgroups", p.sys_setgroups),
        Syscall(117, "setresuid", p.sys_setresuid),
        Syscall(118, "getresuid", p.sys_getresuid),
        Syscall(119, "setresgid", p.sys_setresgid),
        Syscall(120, "getresgid", p.sys_getresgid),
        Syscall(125, "capget", p.sys_capget),
        Syscall(135, "personality", p.sys_personality),
        Syscall(140, "getpriority", p.sys_getpriority),
        Syscall(141, "setpriority", p.sys_setpriority),
        Syscall(142, "sched_setparam", p.sys_sched_setparam),
        Syscall(143, "sched_getparam", p.sys_sched_getparam),
        Syscall(144, "sched_setscheduler", p.sys_sched_setscheduler),
        Syscall(145, "sched_getscheduler", p.sys_sched_getscheduler),
        Syscall(146, "sched_get_priority_max", p.sys_sched_get_priority_max),
        Syscall(147, "sched_get_priority_min", p.sys_sched_get_priority_min),
        Syscall(157, "prctl", p.sys_prctl),
        Syscall(203, "sched_setaffinity", p.sys_sched_setaffinity),
        Syscall(204, "sched_getaffinity", p.sys_sched_getaffinity),
        Syscall(247, "waitid", p.sys_waitid),
        Syscall(273, "set_robust_list", th.sys_set_robust_list),
        Syscall(274, "get_robust_list", th.sys_get_robust_list),
        Syscall(309, "getcpu", p.sys_getcpu),
        Syscall(99, "sysinfo", info.sys_sysinfo),
        # time and identity of the system
        Syscall(35, "nanosleep", t.sys_nanosleep, threei.FAST_NANOSLEEP),
        Syscall(36, "getitimer", tm.sys_getitimer),
        Syscall(37, "alarm", tm.sys_alarm),
        Syscall(38, "setitimer", tm.sys_setitimer),
        Syscall(63, "uname", t.sys_uname),
        Syscall(96, "gettimeofday", t.sys_gettimeofday),
        Syscall(164, "settimeofday", t.sys_settimeofday),
        Syscall(227, "clock_settime", t.sys_clock_settime),
        Syscall(201, "time", t.sys_time),
        Syscall(228, "clock_gettime", t.sys_clock_gettime, threei.FAST_CLOCK_GETTIME),
        Syscall(229, "clock_getres", t.sys_clock_getres),
        Syscall(230, "clock_nanosleep", t.sys_clock_nanosleep, threei.FAST_CLOCK_NANOSLEEP),
        Syscall(222, "timer_create", tm.sys_timer_create),
        Syscall(223, "timer_settime", tm.sys_timer_settime),
        Syscall(224, "timer_gettime", tm.sys_timer_gettime),
        Syscall(225, "timer_getoverrun", tm.sys_timer_getoverrun),
        Syscall(226, "timer_delete", tm.sys_timer_delete),
        Syscall(318, "getrandom", t.sys_getrandom, threei.FAST_GETRANDOM),
        # Lind-private: setjmp/longjmp by unwinding and rewinding the wasm stack
        Syscall(p.SETJMP, "setjmp", p.sys_setjmp, threei.FAST_SETJMP),
        Syscall(p.LONGJMP, "longjmp", p.sys_longjmp, threei.FAST_LONGJMP),
        # Lind-private: posix_spawn's child, started afresh (no fork)
        Syscall(abi.SPAWN, "spawn", p.sys_spawn),
        Syscall(abi.SPAWN_PLAN, "spawn_plan", p.sys_spawn_plan),
        # Lind-private: a function's real type, for start routines cast to another
        Syscall(abi.FUNCTION_TYPE, "function_type", th.sys_function_type),
        # Lind-private: the guest libc running signal handlers (sys_signals)
        Syscall(s.SIGNAL_WORD, "signal_word", s.sys_signal_word),
        Syscall(s.NEXT_SIGNAL, "next_signal", s.sys_next_signal),
        # 3i operations, routed through the table like any call
        Syscall(ops.REGISTER_HANDLER, "register_handler", ops.sys_register_handler),
        Syscall(ops.COPY_DATA_BETWEEN_CAGES, "copy_data_between_cages", ops.sys_copy_data_between_cages),
        Syscall(ops.COPY_HANDLER_TABLE_TO_CAGE, "copy_handler_table_to_cage",
                ops.sys_copy_handler_table_to_cage),
        Syscall(ops.MAKE_THREEI_CALL, "make_threei_call", ops.sys_make_threei_call,
                threei.FAST_THREEI_CALL),
        Syscall(ops.PIN_FDS, "pin_fds", ops.sys_pin_fds),
        Syscall(ops.UNPIN_FDS, "unpin_fds", ops.sys_unpin_fds),
    ]
}

NAMES: dict[int, str] = {nr: sc.name for nr, sc in SYSCALLS.items()}


@functools.cache
def _filled() -> threei.Slot:
    """A table with every entry pointing at the microvisor, made once: a new cage copies
    it in one call (setting its entries one by one cost ~35 us a cage)."""
    slot = threei.Slot(None)
    for sc in SYSCALLS.values():
        slot.set(sc.nr, sc.impl, sc.fast)
    return slot


def install(slot) -> None:
    """Point every entry of a fresh cage's table at the microvisor."""
    slot.copy_table(_filled())
