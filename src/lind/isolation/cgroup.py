"""cgroup v2 limits for what Lind isolates: a child cgroup of this process's own, made
only where the cgroup v2 hierarchy lets this process write there and offers the
controllers the limits need.

The kernel counts what no rlimit can: the memory of a whole process tree
(`memory.max`) and its processes and threads (`pids.max`). Lind makes the cgroup
before it forks the isolated process, which joins it itself (writing "0" to its
`cgroup.procs`); the waiting parent stays outside and removes it at the end.

A cgroup's controllers come from its parent's `cgroup.subtree_control`. If they are not
enabled there, Lind enables them, which the kernel allows only in the root cgroup or one
holding no processes; a process in a cgroup of its own (a systemd unit without
`Delegate=yes`, a container without a delegated subtree) gets a one-line reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from pathlib import Path


class Unavailable(OSError):
    """No cgroup with the needed controllers can be made here (the reason is the text)."""


def own_cgroup(proc: Path = Path("/proc/self")) -> Path:
    """This process's cgroup v2 directory, from /proc/self/cgroup and mountinfo."""
    relative = None
    with contextlib.suppress(OSError):
        for line in (proc / "cgroup").read_text().splitlines():
            if line.startswith("0::"):
                relative = line[3:]
    if relative is None:
        raise Unavailable(errno.ENOENT, "cgroup: this process is in no cgroup v2 hierarchy")
    for line in (proc / "mountinfo").read_text().splitlines():
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        if fstype == "cgroup2":
            mount_root, mount_point = fields[3], fields[4]
            inside = os.path.relpath(relative, mount_root) if relative != mount_root else "."
            if not inside.startswith(".."):
                return Path(mount_point, inside).resolve()
    raise Unavailable(errno.ENOENT, "cgroup: no cgroup v2 file system is mounted")


# Written where the kernel has them: memory.swap.max only with swap accounting.
_OPTIONAL = {"memory.swap.max"}


def limit_files(memory: int | None, processes: int | None) -> dict[str, str]:
    """The cgroup files that say the limits (memory.max in bytes, pids.max in tasks:
    processes and threads alike)."""
    files = {}
    if memory is not None:
        files["memory.max"] = str(memory)
        files["memory.swap.max"] = "0"       # the limit is memory, not memory plus swap
    if processes is not None:
        files["pids.max"] = str(processes)
    return files


def create(files: dict[str, str], base: Path | None = None) -> Path:
    """A new cgroup under `base` (this process's own) with `files` written into it."""
    base = own_cgroup() if base is None else base
    needed = sorted({name.split(".")[0] for name in files})
    try:
        offered = (base / "cgroup.controllers").read_text().split()
        enabled = (base / "cgroup.subtree_control").read_text().split()
    except OSError as exc:
        raise Unavailable(exc.errno or errno.EIO, f"cgroup: {base}: {exc.strerror}") from None
    missing = [c for c in needed if c not in offered]
    if missing:
        raise Unavailable(errno.EOPNOTSUPP, f"cgroup: the cgroup v2 subtree {base} offers no "
                          f"{' or '.join(missing)} controller")
    try:
        for controller in (c for c in needed if c not in enabled):
            (base / "cgroup.subtree_control").write_text(f"+{controller}")
    except OSError as exc:
        reason = ("it holds processes, so it cannot hand controllers to a child (give Lind a "
                  "delegated cgroup)" if exc.errno == errno.EBUSY else exc.strerror)
        raise Unavailable(exc.errno or errno.EIO, f"cgroup: {base}: {reason}") from None
    made = base / f"lind-{os.getpid()}"
    try:
        made.mkdir()
    except OSError as exc:
        raise Unavailable(exc.errno or errno.EIO, f"cgroup: {base}: {exc.strerror}") from None
    try:
        for name, value in files.items():
            if name in _OPTIONAL and not (made / name).exists():
                continue
            (made / name).write_text(value)
    except OSError as exc:
        remove(made)
        raise Unavailable(exc.errno or errno.EIO, f"cgroup: {made / name}: {exc.strerror}") from None
    return made


def join(cgroup: Path) -> None:
    """Move the calling process into `cgroup` (its children are born there)."""
    (cgroup / "cgroup.procs").write_text("0")


def remove(cgroup: Path, patience: float = 1.0) -> None:
    """Remove a cgroup once its processes are gone (the kernel lets them go a moment
    after they were reaped)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                return
            time.sleep(0.01)
