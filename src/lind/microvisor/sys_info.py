"""What a cage learns about the system it runs on: sysinfo(2), and the figures
/proc/meminfo, /proc/cpuinfo, /proc/uptime and /proc/loadavg show (virtual.py).

The figures are the cage's own view: memory is its process tree's budget (what it may
hold and what is left of it), processes are the cages of its tree, CPUs the ones it may
run on; uptime and load are the host's.
"""

from __future__ import annotations

import os
import struct
import time

# The x86_64 kernel's struct sysinfo (112 bytes); the guest libc converts it
# (toolchain/guest/src/linux/sysinfo.c).
_SYSINFO = struct.Struct("<q3Q6QHHI2QI4x")
_LOAD_SCALE = 1 << 16          # SI_LOAD_SHIFT


def host_cpus() -> frozenset[int]:
    return frozenset(os.sched_getaffinity(0))


def cpu_count(cage) -> int:
    """How many CPUs the cage may run on (sched_setaffinity's choice, else the host's)."""
    return len(cage.affinity or host_cpus())


def memory(cage) -> tuple[int, int]:
    """(total, free) bytes: its tree's budget, and what is left of it."""
    budget = cage.memory_budget
    return budget.ceiling(), max(budget.available(), 0)


def processes(cage) -> int:
    return len(cage.runtime.tree(cage))


def uptime() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def sys_sysinfo(cage, info, *_):
    total, free = memory(cage)
    loads = [int(x * _LOAD_SCALE) for x in os.getloadavg()]
    procs = min(processes(cage), 0xFFFF)
    cage.mem.write(info, _SYSINFO.pack(int(uptime()), *loads, total, free, 0, 0, 0, 0, procs,
                                       0, 0, 0, 0, 1))
    return 0
