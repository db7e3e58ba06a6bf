"""What a cage learns about the system it runs on: sysinfo(2).

The figures are the cage's own view: memory is its process tree's budget (what it may
hold and what is left of it), processes are the cages of its tree; uptime and load are
the host's.
"""

from __future__ import annotations

import os
import struct
import time

# The x86_64 kernel's struct sysinfo (112 bytes); the guest libc converts it
# (toolchain/guest/src/linux/sysinfo.c).
_SYSINFO = struct.Struct("<q3Q6QHHI2QI4x")
_LOAD_SCALE = 1 << 16          # SI_LOAD_SHIFT


def sys_sysinfo(cage, info, *_):
    budget = cage.memory_budget
    total = budget.ceiling()
    free = max(budget.available(), 0)
    loads = [int(x * _LOAD_SCALE) for x in os.getloadavg()]
    procs = min(len(cage.runtime.tree(cage)), 0xFFFF)
    uptime = int(time.clock_gettime(time.CLOCK_BOOTTIME))
    cage.mem.write(info, _SYSINFO.pack(uptime, *loads, total, free, 0, 0, 0, 0, procs, 0, 0,
                                       0, 0, 1))
    return 0
