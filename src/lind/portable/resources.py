"""Process resources and identity on the cooperative runtime: limits, CPU time and
usage, the system's figures, user and group ids, nice values, affinity, prctl,
capabilities, personality, and the waits for children (wait4, waitid).

Every cage starts as root of its own tree and may set its ids as root may; get*
answer what it set (per process, inherited by fork, kept by exec), and once no id is
0 it has root's powers no more, as on Linux (Linux's rules for the unprivileged then
apply to the id calls, setpriority and prctl). The ids are bookkeeping: files stay
root's and permission checks stay root's. Limits are kept per process as Linux keeps
them; RLIMIT_NOFILE is enforced (up to the run's MAX_FDS, Linux's nr_open here), the
others are reported, not enforced. The run is one thread, so one CPU (nproc prints
1); a cage's CPU time is what the host spent while it ran, its code and its calls
together (user time; Runtime.charge_cpu, where cages switch), other cages' turns left out.
"""

from __future__ import annotations

import errno
import math
import struct
import time
from dataclasses import dataclass, replace

from lind.microvisor import abi
from lind.microvisor.abi import s32, u32
from lind.portable import signals, syscalls

RLIM_INFINITY = (1 << 64) - 1
RLIMIT_STACK, RLIMIT_CORE, RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_MEMLOCK = 3, 4, 6, 7, 8
RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO = 11, 12, 13, 14
# Realtime signals queued in a run, all its processes together (as Linux counts them
# for the user, the run being one): RLIMIT_SIGPENDING's default, and its bound.
QUEUED_SIGNALS = 1024
RLIM_NLIMITS = 16
_RLIMIT = struct.Struct("<QQ")
_NO_ID = 0xFFFFFFFF                    # "leave this id as it is"
NGROUPS_MAX = 65536
_CLK_TCK = 100
_RUSAGE = struct.Struct("<18q")        # x86_64's struct rusage: the guest libc takes it whole
_TMS = struct.Struct("<4I")            # the guest's struct tms: four 32-bit clock_t
_SYSINFO = struct.Struct("<q3Q6QHHI2QI4x")   # x86_64's struct sysinfo (the guest converts it)
_LOAD_SCALE = 1 << 16
_CAPABILITY_COUNT = 41                 # CAP_CHOWN .. CAP_CHECKPOINT_RESTORE
_CAP_V1, _CAP_V2, _CAP_V3 = 0x19980330, 0x20071026, 0x20080522
_PERSONALITY_QUERY = 0xFFFFFFFF
_TASK_COMM_LEN = 16


def _default_limits(max_processes: int) -> dict[int, tuple[int, int]]:
    """Linux's defaults, with what the run bounds: its processes, its fds, the realtime
    signals queued for each."""
    limits = dict.fromkeys(range(RLIM_NLIMITS), (RLIM_INFINITY, RLIM_INFINITY))
    limits.update({RLIMIT_STACK: (8 << 20, RLIM_INFINITY), RLIMIT_CORE: (0, RLIM_INFINITY),
                   RLIMIT_NPROC: (max_processes, max_processes),
                   RLIMIT_NOFILE: (syscalls.MAX_FDS, syscalls.MAX_FDS),
                   RLIMIT_MEMLOCK: (8 << 20, 8 << 20),
                   RLIMIT_SIGPENDING: (QUEUED_SIGNALS, QUEUED_SIGNALS),
                   RLIMIT_MSGQUEUE: (819200, 819200), RLIMIT_NICE: (0, 0),
                   RLIMIT_RTPRIO: (0, 0)})
    return limits


@dataclass
class Resources:
    """What this module keeps of a process. fork copies it, less the CPU time and the
    parent-death signal (Linux clears both in the child)."""
    limits: dict[int, tuple[int, int]]
    uids: tuple[int, int, int] = (0, 0, 0)      # real, effective, saved
    gids: tuple[int, int, int] = (0, 0, 0)
    groups: tuple[int, ...] = (0,)
    nice: int = 0
    name: bytes = b""                            # the comm: PR_SET_NAME's, or exec's file name
    parent_death_signal: int = 0
    dumpable: int = 1
    no_new_privs: bool = False
    personality: int = 0
    cpu_ns: int = 0                              # CPU time while it ran (user time)
    children_cpu_ns: int = 0                     # of its reaped children (and theirs)
    children_peak_kib: int = 0
    peak_kib: int = 0                            # its memory at its largest

    @classmethod
    def first(cls, max_processes: int) -> Resources:
        return cls(limits=_default_limits(max_processes))

    def forked(self) -> Resources:
        return replace(self, limits=dict(self.limits), parent_death_signal=0, cpu_ns=0,
                       children_cpu_ns=0, children_peak_kib=0)

    def exec_done(self, name: bytes) -> None:
        """exec: the comm becomes the file's name, the process dumpable again."""
        self.name = name[:_TASK_COMM_LEN - 1]
        self.dumpable = 1

    def reaped(self, child: Resources) -> None:
        """A child's CPU time, and its reaped children's, become this one's children's."""
        self.children_cpu_ns += child.cpu_ns + child.children_cpu_ns
        self.children_peak_kib = max(self.children_peak_kib, child.peak_kib,
                                     child.children_peak_kib)

    @property
    def privileged(self) -> bool:
        """Root's powers (CAP_SETUID, CAP_SYS_NICE...): its effective uid is 0."""
        return self.uids[1] == 0

    @property
    def open_files(self) -> int:
        """The fds it may have: RLIMIT_NOFILE's soft limit."""
        return self.limits[RLIMIT_NOFILE][0]

    @property
    def queued_signals(self) -> int:
        """The realtime signals the run may have queued when one is sent to this
        process: RLIMIT_SIGPENDING's soft limit, which a root cage may raise, and at
        most QUEUED_SIGNALS (each is a siginfo kept in the host's memory)."""
        return min(self.limits[RLIMIT_SIGPENDING][0], QUEUED_SIGNALS)


def _needed(addr: int) -> int:
    """A pointer the call must have: NULL is EFAULT (address 0 of a linear memory is
    memory, so an access alone would not say so)."""
    if not u32(addr):
        raise OSError(errno.EFAULT, "Bad address")
    return addr


def _write_u32s(proc, addrs: tuple[int, ...], values: tuple[int, ...]) -> int:
    """Each value to its address in turn, as Linux's put_user (EFAULT leaves the
    earlier ones written)."""
    for addr, value in zip(addrs, values, strict=True):
        proc.write(_needed(addr), struct.pack("<I", value))
    return 0


def _process(proc, pid: int):
    """The process `pid` names (0: the caller), zombies included; ESRCH if none."""
    pid = s32(pid)
    found = proc if pid == 0 else proc.runtime.processes.get(pid)
    if found is None or found.reaped or pid < 0:
        raise OSError(errno.ESRCH, "No such process")
    return found


# -- limits ----------------------------------------------------------------------------------
def _resource(resource: int) -> int:
    resource = u32(resource)
    if resource >= RLIM_NLIMITS:
        raise OSError(errno.EINVAL, "Invalid argument")
    return resource


def _set_limit(proc, target, resource: int, soft: int, hard: int) -> None:
    """Linux's do_prlimit: soft at most hard; a hard limit raised needs privilege; no
    process may have more fds than the run's table holds (nr_open)."""
    if soft > hard:
        raise OSError(errno.EINVAL, "Invalid argument")
    if resource == RLIMIT_NOFILE and hard > syscalls.MAX_FDS:
        raise OSError(errno.EPERM, "Operation not permitted")
    if hard > target.resources.limits[resource][1] and not proc.resources.privileged:
        raise OSError(errno.EPERM, "Operation not permitted")
    target.resources.limits[resource] = (soft, hard)


def sys_prlimit64(proc, pid, resource, new, old, *_):
    resource = _resource(resource)
    wanted = _RLIMIT.unpack(proc.read(new, _RLIMIT.size)) if u32(new) else None
    target = _process(proc, pid)
    current = target.resources.limits[resource]
    if wanted is not None:
        _set_limit(proc, target, resource, *wanted)
    if u32(old):
        proc.write(old, _RLIMIT.pack(*current))
    return 0


def sys_getrlimit(proc, resource, rlim, *_):
    return sys_prlimit64(proc, 0, _resource(resource), 0, _needed(rlim))


def sys_setrlimit(proc, resource, rlim, *_):
    return sys_prlimit64(proc, 0, _resource(resource), _needed(rlim), 0)


# -- usage and time --------------------------------------------------------------------------
def _memory_kib(proc) -> int:
    """Its memory at its largest so far (a linear memory never shrinks)."""
    if proc.memory is not None:
        proc.resources.peak_kib = max(proc.resources.peak_kib, proc.memory.size() // 1024)
    return proc.resources.peak_kib


def _pack_rusage(cpu_ns: int, peak_kib: int) -> bytes:
    """As user time: the runtime does not tell a cage's code from its calls."""
    user_us = cpu_ns // 1000
    return _RUSAGE.pack(user_us // 10**6, user_us % 10**6, 0, 0, peak_kib, *([0] * 13))


def rusage_of(proc) -> bytes:
    """struct rusage of `proc` itself (RUSAGE_SELF; a reaped child's in wait4)."""
    return _pack_rusage(proc.runtime.cpu_time(proc), _memory_kib(proc))


def sys_getrusage(proc, who, usage, *_):
    """RUSAGE_SELF and RUSAGE_THREAD (one thread a process), RUSAGE_CHILDREN."""
    who = s32(who)
    if who in (0, 1):
        data = rusage_of(proc)
    elif who == -1:
        data = _pack_rusage(proc.resources.children_cpu_ns, proc.resources.children_peak_kib)
    else:
        raise OSError(errno.EINVAL, "Invalid argument")
    proc.write(_needed(usage), data)
    return 0


def _run_ticks(proc) -> int:
    return (time.monotonic_ns() - proc.runtime.started_ns) * _CLK_TCK // 10**9


def sys_times(proc, buf, *_):
    """struct tms in ticks of 1/100 s; the answer counts ticks from the run's start
    (Linux's from about boot: a point in the past)."""
    if u32(buf):
        own = proc.resources
        times = (proc.runtime.cpu_time(proc), 0, own.children_cpu_ns, 0)
        proc.write(buf, _TMS.pack(*(t * _CLK_TCK // 10**9 & 0xFFFFFFFF for t in times)))
    return _run_ticks(proc)


def sys_time(proc, tloc, *_):
    now = time.time_ns() // 10**9
    if u32(tloc):
        proc.write(tloc, struct.pack("<q", now))
    return now


def sys_sysinfo(proc, info, *_):
    """The run as the system: its uptime (rounded up, as Linux's), the cages ready to
    run as load, its memory budget as RAM, its cages as processes; no swap."""
    runtime = proc.runtime
    uptime = math.ceil((time.monotonic_ns() - runtime.started_ns) / 10**9)
    load = (len(runtime.runnable) + 1) * _LOAD_SCALE
    total = runtime.memory_limit
    free = max(0, total - runtime.memory_held())
    procs = min(sum(1 for p in runtime.processes.values() if not p.reaped), 0xFFFF)
    proc.write(_needed(info), _SYSINFO.pack(uptime, load, load, load, total, free, 0, 0, 0, 0, procs,
                                   0, 0, 0, 0, 1))
    return 0


# -- user and group ids ----------------------------------------------------------------------
def _change_ids(proc, wanted: tuple[int, int, int], group: bool,
                allowed: tuple[tuple[int, ...], ...]) -> None:
    """Set (real, effective, saved) ids, _NO_ID keeping one. Without privilege each new
    id must be one of its `allowed`. A new effective id makes the process not dumpable,
    as Linux's commit_creds does."""
    own = proc.resources
    old = own.gids if group else own.uids
    for value, may in zip(wanted, allowed, strict=True):
        if value != _NO_ID and not own.privileged and value not in may:
            raise OSError(errno.EPERM, "Operation not permitted")
    new = tuple(o if v == _NO_ID else v for o, v in zip(old, wanted, strict=True))
    if new[1] != old[1]:
        own.dumpable = 0
    if group:
        own.gids = new
    else:
        own.uids = new


def _setres(proc, r: int, e: int, s: int, group: bool) -> int:
    old = proc.resources.gids if group else proc.resources.uids
    _change_ids(proc, (u32(r), u32(e), u32(s)), group, (old, old, old))
    return 0


def _setre(proc, r: int, e: int, group: bool) -> int:
    """The real id may become the effective one; the effective any of real, effective,
    saved; the saved id follows the new effective one when the real id is set, or the
    effective one is set to other than the old real id."""
    real, effective, saved = proc.resources.gids if group else proc.resources.uids
    r, e = u32(r), u32(e)
    new_saved = _NO_ID
    if r != _NO_ID or (e != _NO_ID and e != real):
        new_saved = effective if e == _NO_ID else e
    _change_ids(proc, (r, e, new_saved), group,
                ((real, effective), (real, effective, saved), (real, effective, saved, new_saved)))
    return 0


def _set_one(proc, value: int, group: bool) -> int:
    """setuid, setgid: with privilege all three ids; else the effective one, to the
    real or saved id."""
    value = u32(value)
    if value == _NO_ID:
        raise OSError(errno.EINVAL, "Invalid argument")
    real, _, saved = proc.resources.gids if group else proc.resources.uids
    if proc.resources.privileged:
        _change_ids(proc, (value, value, value), group, ((), (), ()))
    else:
        _change_ids(proc, (_NO_ID, value, _NO_ID), group, ((), (real, saved), ()))
    return 0


def sys_getuid(proc, *_):
    return proc.resources.uids[0]


def sys_geteuid(proc, *_):
    return proc.resources.uids[1]


def sys_getgid(proc, *_):
    return proc.resources.gids[0]


def sys_getegid(proc, *_):
    return proc.resources.gids[1]


def sys_getresuid(proc, r, e, s, *_):
    return _write_u32s(proc, (r, e, s), proc.resources.uids)


def sys_getresgid(proc, r, e, s, *_):
    return _write_u32s(proc, (r, e, s), proc.resources.gids)


def sys_setuid(proc, uid, *_):
    return _set_one(proc, uid, False)


def sys_setgid(proc, gid, *_):
    return _set_one(proc, gid, True)


def sys_setreuid(proc, r, e, *_):
    return _setre(proc, r, e, False)


def sys_setregid(proc, r, e, *_):
    return _setre(proc, r, e, True)


def sys_setresuid(proc, r, e, s, *_):
    return _setres(proc, r, e, s, False)


def sys_setresgid(proc, r, e, s, *_):
    return _setres(proc, r, e, s, True)


def sys_getgroups(proc, size, addr, *_):
    size, groups = s32(size), proc.resources.groups
    if size < 0 or 0 < size < len(groups):
        raise OSError(errno.EINVAL, "Invalid argument")
    if size:
        proc.write(_needed(addr), struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


def sys_setgroups(proc, size, addr, *_):
    size = s32(size)
    if not proc.resources.privileged:
        raise OSError(errno.EPERM, "Operation not permitted")
    if not 0 <= size <= NGROUPS_MAX:
        raise OSError(errno.EINVAL, "Invalid argument")
    groups = struct.unpack(f"<{size}I", proc.read(_needed(addr), 4 * size)) if size else ()
    proc.resources.groups = tuple(sorted(groups))
    return 0


def sys_capget(proc, header, data, *_):
    """Root's capabilities while an id is 0 (permitted; effective with the effective
    uid 0), none once none is, as Linux's setuid rules leave them. A wrong version is
    answered with the one it knows (and EINVAL, unless `data` is NULL: a probe)."""
    version, pid = struct.unpack("<Ii", proc.read(_needed(header), 8))
    if version not in (_CAP_V1, _CAP_V2, _CAP_V3):
        proc.write(header, struct.pack("<I", _CAP_V3))
        if u32(data):
            raise OSError(errno.EINVAL, "Invalid argument")
        return 0
    if not u32(data):
        return 0
    if pid < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    ids = _process(proc, pid).resources
    full = (1 << _CAPABILITY_COUNT) - 1
    permitted = full if 0 in ids.uids else 0
    effective = permitted if ids.uids[1] == 0 else 0
    words = 1 if version == _CAP_V1 else 2
    proc.write(data, b"".join(struct.pack("<III", effective >> 32 * i & 0xFFFFFFFF,
                                          permitted >> 32 * i & 0xFFFFFFFF, 0)
                              for i in range(words)))
    return 0


# -- scheduling ------------------------------------------------------------------------------
_PRIO_PROCESS, _PRIO_PGRP, _PRIO_USER = 0, 1, 2


def _priority_targets(proc, which: int, who: int) -> list:
    which, who = s32(which), s32(who)
    if which not in (_PRIO_PROCESS, _PRIO_PGRP, _PRIO_USER):
        raise OSError(errno.EINVAL, "Invalid argument")
    alive = [p for p in proc.runtime.processes.values() if not p.reaped]
    if which == _PRIO_PROCESS:
        found = [p for p in alive if p.pid == (who or proc.pid)]
    elif which == _PRIO_PGRP:
        found = [p for p in alive if p.pgid == (who or proc.pgid)]
    else:
        found = [p for p in alive if p.resources.uids[0] == (u32(who) or proc.resources.uids[0])]
    if not found:
        raise OSError(errno.ESRCH, "No such process")
    return found


def sys_getpriority(proc, which, who, *_):
    """As the kernel answers: 20 - nice, of the highest priority found (libc turns it
    back into the nice value)."""
    return max(20 - p.resources.nice for p in _priority_targets(proc, which, who))


def sys_setpriority(proc, which, who, prio, *_):
    """Each process's own nice value: another user's needs privilege (EPERM), a lower
    one privilege or RLIMIT_NICE (EACCES), as Linux's set_one_prio."""
    nice = min(max(s32(prio), -20), 19)
    mine = proc.resources
    for target in _priority_targets(proc, which, who):
        theirs = target.resources
        if not mine.privileged and mine.uids[1] not in theirs.uids[:2]:
            raise OSError(errno.EPERM, "Operation not permitted")
        if nice < theirs.nice and not mine.privileged and \
                20 - nice > theirs.limits[RLIMIT_NICE][0]:
            raise OSError(errno.EACCES, "Permission denied")
        theirs.nice = nice
    return 0


_MASK_BYTES = 8          # one unsigned long holds the run's one CPU


def sys_sched_getaffinity(proc, pid, size, mask, *_):
    """CPU 0 alone: the run is one thread. Linux's checks of the size (a whole number of
    longs, room for every CPU: in bits, counted in 32 bits as Linux does); the answer
    is the bytes written."""
    size = u32(size)
    if size * 8 & 0xFFFFFFFF == 0 or size % _MASK_BYTES:
        raise OSError(errno.EINVAL, "Invalid argument")
    _process(proc, pid)
    proc.write(_needed(mask), (1).to_bytes(_MASK_BYTES, "little"))
    return _MASK_BYTES


def sys_sched_setaffinity(proc, pid, size, mask, *_):
    """Only a mask with CPU 0 in it can be had (EINVAL otherwise)."""
    size = min(u32(size), _MASK_BYTES)
    wanted = int.from_bytes(proc.read(_needed(mask), size), "little") if size else 0
    target = _process(proc, pid)
    if not proc.resources.privileged and proc.resources.uids[1] not in target.resources.uids[:2]:
        raise OSError(errno.EPERM, "Operation not permitted")
    if not wanted & 1:
        raise OSError(errno.EINVAL, "Invalid argument")
    return 0


def sys_getcpu(proc, cpu, node, *_):
    for addr in (cpu, node):
        if u32(addr):
            proc.write(addr, struct.pack("<I", 0))
    return 0


# -- prctl, personality ----------------------------------------------------------------------
PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_SET_NAME, PR_GET_NAME, PR_CAPBSET_READ = 15, 16, 23


def _name_arg(proc, addr: int) -> bytes:
    """PR_SET_NAME's string: up to 15 bytes, what follows them ignored."""
    out = b""
    while len(out) < _TASK_COMM_LEN - 1:
        byte = proc.read(addr + len(out), 1)
        if byte == b"\0":
            break
        out += byte
    return out


def sys_prctl(proc, option, arg2, arg3, arg4, arg5, *_):
    """The options a program asks of itself; any other is EINVAL, as Linux's for an
    option it does not know."""
    option, own = s32(option), proc.resources
    if option == PR_SET_PDEATHSIG:
        if not 0 <= arg2 <= 64:
            raise OSError(errno.EINVAL, "Invalid argument")
        own.parent_death_signal = arg2
        return 0
    if option == PR_GET_PDEATHSIG:
        proc.write(_needed(arg2), struct.pack("<i", own.parent_death_signal))
        return 0
    if option == PR_GET_DUMPABLE:
        return own.dumpable
    if option == PR_SET_DUMPABLE:
        if arg2 not in (0, 1):
            raise OSError(errno.EINVAL, "Invalid argument")
        own.dumpable = arg2
        return 0
    if option == PR_SET_NAME:
        own.name = _name_arg(proc, _needed(arg2))
        return 0
    if option == PR_GET_NAME:
        proc.write(_needed(arg2), own.name.ljust(_TASK_COMM_LEN, b"\0"))
        return 0
    if option == PR_CAPBSET_READ:
        if not 0 <= arg2 < _CAPABILITY_COUNT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return 1
    if option in (abi.PR_SET_NO_NEW_PRIVS, abi.PR_GET_NO_NEW_PRIVS):
        own.no_new_privs, result = abi.no_new_privs(option, (arg2, arg3, arg4, arg5),
                                                    own.no_new_privs)
        return result
    raise OSError(errno.EINVAL, "Invalid argument")


def sys_personality(proc, persona, *_):
    """The old personality; any other than the query becomes the new one (kept, as
    Linux keeps it: nothing here depends on it)."""
    old = proc.resources.personality
    if u32(persona) != _PERSONALITY_QUERY:
        proc.resources.personality = u32(persona)
    return old


# -- waiting for children --------------------------------------------------------------------
WNOHANG, WUNTRACED, WSTOPPED, WEXITED, WCONTINUED, WNOWAIT = 1, 2, 2, 4, 8, 0x01000000
_WAIT_KINDS = 0x20000000 | 0x40000000 | 0x80000000    # __WNOTHREAD, __WALL, __WCLONE
P_ALL, P_PID, P_PGID = 0, 1, 2
_INT_MIN = -(1 << 31)


def sys_wait4(proc, pid, status_addr, options, rusage, *_):
    pid, options = s32(pid), u32(options)
    if options & ~(WNOHANG | WUNTRACED | WCONTINUED | _WAIT_KINDS):
        raise OSError(errno.EINVAL, "Invalid argument")
    if pid == _INT_MIN:
        raise OSError(errno.ESRCH, "No such process")
    child = proc.runtime.reap(proc, pid, bool(options & WNOHANG))
    if child is None:
        return 0
    if u32(status_addr):
        proc.write(status_addr, struct.pack("<i", child.status))
    if u32(rusage):
        proc.write(rusage, rusage_of(child))
    return child.pid


def sys_waitid(proc, idtype, ident, infop, options, rusage, *_):
    """Children only end here (nothing stops them): WEXITED reports them, WSTOPPED or
    WCONTINUED alone wait for what never comes, WNOWAIT leaves the child to be waited
    for again. The siginfo's head is written as Linux's: zeros with WNOHANG and none."""
    idtype, ident, options = u32(idtype), s32(ident), u32(options)
    if options & ~(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | _WAIT_KINDS) or \
            not options & (WEXITED | WSTOPPED | WCONTINUED):
        raise OSError(errno.EINVAL, "Invalid argument")
    if idtype == P_ALL:
        pid = -1
    elif idtype == P_PID and ident > 0:
        pid = ident
    elif idtype == P_PGID and ident >= 0:
        pid = -ident if ident else 0
    else:
        raise OSError(errno.EINVAL, "Invalid argument")
    child = proc.runtime.reap(proc, pid, bool(options & WNOHANG), keep=bool(options & WNOWAIT),
                              exited=bool(options & WEXITED))
    head = bytes(signals.SIGINFO.size)
    if child is not None:
        killed = child.status & 0x7F
        head = signals.SIGINFO.pack(signals.SIGCHLD, 0,
                                    signals.CLD_KILLED if killed else signals.CLD_EXITED,
                                    child.pid, child.resources.uids[0],
                                    killed or child.status >> 8 & 0xFF)
    if u32(infop):
        proc.write(infop, head)
    if u32(rusage):
        proc.write(rusage, rusage_of(child) if child is not None else bytes(_RUSAGE.size))
    return 0


syscalls.register({
    "getrlimit": (97, sys_getrlimit), "setrlimit": (160, sys_setrlimit),
    "prlimit64": (302, sys_prlimit64), "getrusage": (98, sys_getrusage),
    "times": (100, sys_times), "time": (201, sys_time), "sysinfo": (99, sys_sysinfo),
    "getuid": (102, sys_getuid), "geteuid": (107, sys_geteuid), "getgid": (104, sys_getgid),
    "getegid": (108, sys_getegid), "getresuid": (118, sys_getresuid),
    "getresgid": (120, sys_getresgid), "getgroups": (115, sys_getgroups),
    "setgroups": (116, sys_setgroups), "setuid": (105, sys_setuid), "setgid": (106, sys_setgid),
    "setreuid": (113, sys_setreuid), "setregid": (114, sys_setregid),
    "setresuid": (117, sys_setresuid), "setresgid": (119, sys_setresgid),
    "capget": (125, sys_capget), "getpriority": (140, sys_getpriority),
    "setpriority": (141, sys_setpriority), "sched_getaffinity": (204, sys_sched_getaffinity),
    "sched_setaffinity": (203, sys_sched_setaffinity), "getcpu": (309, sys_getcpu),
    "prctl": (157, sys_prctl), "personality": (135, sys_personality),
    "wait4": (61, sys_wait4), "waitid": (247, sys_waitid), "vfork": (58, syscalls.sys_fork),
})
