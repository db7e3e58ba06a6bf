"""Process identity, limits and exit. fork/exec/wait arrive with the process model."""

from __future__ import annotations

import errno
import os
import struct

from lind.microvisor.abi import s32, u32

RLIMIT_STACK, RLIMIT_NOFILE, RLIMIT_AS = 3, 7, 9
RLIM_INFINITY = (1 << 64) - 1
_RLIMIT = struct.Struct("<QQ")


def sys_exit_group(cage, status, *_):
    cage.exit(s32(status) & 0xFF)
    return 0


def sys_gettid(cage, *_):
    return cage.id


def sys_set_tid_address(cage, *_):
    return cage.id


def sys_sched_yield(cage, *_):
    os.sched_yield()
    return 0


def _limit(cage, resource: int) -> tuple[int, int]:
    if resource == RLIMIT_NOFILE:
        return cage.fds.limit, cage.fds.limit
    if resource == RLIMIT_AS:
        return cage.aspace.limit, cage.aspace.limit
    if resource == RLIMIT_STACK:
        return cage.stack_size, cage.stack_size
    if 0 <= resource < 16:
        return RLIM_INFINITY, RLIM_INFINITY
    raise OSError(errno.EINVAL, "Invalid argument")


def sys_getrlimit(cage, resource, buf, *_):
    cage.mem.write(buf, _RLIMIT.pack(*_limit(cage, u32(resource))))
    return 0


def sys_prlimit64(cage, pid, resource, new, old, *_):
    if s32(pid) not in (0, cage.id):
        raise OSError(errno.ESRCH, "No such process")
    current = _limit(cage, u32(resource))
    if new:
        soft, hard = _RLIMIT.unpack(cage.mem.read(new, _RLIMIT.size))
        if soft > hard or hard > current[1]:
            raise OSError(errno.EPERM if hard > current[1] else errno.EINVAL, "Operation not permitted")
        if (soft, hard) != current:
            raise OSError(errno.EPERM, "changing this limit inside a cage is not supported")
    if old:
        cage.mem.write(old, _RLIMIT.pack(*current))
    return 0
