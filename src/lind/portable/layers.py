"""Grates of the cooperative runtime: objects whose `handle(call)` sees every call of
every cage of a run before the table does, and passes it on with `call.forward()`.

The threaded runtime's grates (lind.grates) sit on its 3i and its C trampoline; these
two give the browser what its examples show: a trace of the calls (strace) and a
report of what a program changed in its files (aquarium -- the tree of a run is
already a copy, so the report is the part to add).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from lind.microvisor import abi
from lind.portable.syscalls import Call

# calls whose first (or, for the *at calls, second) argument is a path
_PATH_FIRST = {"open", "creat", "stat", "lstat", "access", "mkdir", "rmdir", "unlink",
               "chdir", "readlink", "chmod", "truncate", "execve", "rename"}
_PATH_SECOND = {"openat", "newfstatat", "mkdirat", "unlinkat", "renameat", "readlinkat",
                "faccessat", "faccessat2", "fchmodat", "fchmodat2", "statx"}


def _path_arg(call: Call) -> int | None:
    if call.name == "symlink":        # (target, linkpath): the name it makes
        return 1
    if call.name == "symlinkat":      # (target, dirfd, linkpath)
        return 2
    if call.name in _PATH_FIRST:
        return 0
    if call.name in _PATH_SECOND:
        return 1
    return None


class Strace:
    """One line per call on `write` (the run's stderr by default): pid, name,
    arguments (a path as a string) and the result, an errno by its name."""

    def __init__(self, write: Callable[[bytes], None] | None = None) -> None:
        self.write = write

    def handle(self, call: Call) -> int:
        shown = [hex(a) if a > 0xFFFF else str(a) for a in call.args[:_arity(call)]]
        where = _path_arg(call)
        if where is not None:
            with contextlib.suppress(OSError):
                shown[where] = repr(os.fsdecode(call.string(where)))
        line = f"[{call.proc.pid}] {call.name}({', '.join(shown)})"
        if call.name in ("exit", "exit_group", "execve"):
            self._emit(call, line + "\n")           # may not return
        result = call.forward()
        if call.name not in ("exit", "exit_group", "execve") or result < 0:
            shown_result = f"-1 {_errno_name(-result)}" if result < 0 else str(result)
            self._emit(call, f"{line} = {shown_result}\n")
        return result

    def _emit(self, call: Call, text: str) -> None:
        (self.write or call.proc.runtime.stderr)(text.encode())


def _errno_name(code: int) -> str:
    return abi.LINUX_ERRNO_NAME.get(code, str(code))


_ARITY = {"read": 3, "write": 3, "open": 3, "close": 1, "stat": 2, "fstat": 2, "lstat": 2,
          "lseek": 3, "mmap": 6, "munmap": 2, "brk": 1, "ioctl": 3, "pipe": 1, "pipe2": 2,
          "dup": 1, "dup2": 2, "fork": 0, "execve": 3, "exit": 1, "exit_group": 1, "wait4": 4,
          "getpid": 0, "openat": 4, "newfstatat": 4, "unlinkat": 3, "mkdirat": 3,
          "writev": 3, "readv": 3, "getdents64": 3, "rename": 2, "renameat": 4,
          "clock_gettime": 2, "fcntl": 3, "set_tid_address": 1}


def _arity(call: Call) -> int:
    return _ARITY.get(call.name, 6)


class ChangeReport:
    """What a run's programs changed in their files, one line per change in order:
    created, modified, deleted, renamed (the tree itself is the copy they changed)."""

    def __init__(self) -> None:
        self.changes: list[str] = []
        self._written: set[int] = set()     # inodes already reported as modified by a write

    def report(self) -> str:
        return "".join(line + "\n" for line in self.changes)

    def _record(self, line: str) -> None:
        if line not in self.changes:
            self.changes.append(line)

    def handle(self, call: Call) -> int:
        name = call.name
        where = _path_arg(call)
        path = None
        if where is not None:
            try:
                path = self._absolute(call, os.fsdecode(call.string(where)))
            except OSError:
                return call.forward()
        existed = path is not None and self._exists(call, path)
        target = None
        if name in ("rename", "renameat"):
            try:
                target = self._absolute(call, os.fsdecode(call.string(1 if name == "rename" else 3)))
            except OSError:
                return call.forward()
        result = call.forward()
        if result < 0 or path is None:
            if name in ("write", "writev", "pwrite64", "ftruncate") and result >= 0:
                self._modified_fd(call)
            return result
        if name in ("open", "openat", "creat"):
            flags = abi.u32(call.args[1 if name == "open" else 2]) if name != "creat" else 0o1101
            if not existed:
                self._record(f"created {path}")
            elif flags & abi.O_TRUNC and flags & abi.O_ACCMODE:
                self._record(f"modified {path}")
        elif name in ("mkdir", "mkdirat", "symlink", "symlinkat"):
            self._record(f"created {path}")
        elif name in ("unlink", "rmdir", "unlinkat"):
            self._record(f"deleted {path}")
        elif name in ("rename", "renameat"):
            self._record(f"renamed {path} -> {target}")
        elif name in ("chmod", "fchmodat", "fchmodat2", "truncate"):
            self._record(f"modified {path}")
        return result

    def _modified_fd(self, call: Call) -> None:
        from lind.portable.descriptions import TreeFile

        entry = call.proc.fds.get(abi.s32(call.args[0]))
        if entry is not None and isinstance(entry[0], TreeFile) \
                and entry[0].node.ino not in self._written:
            self._written.add(entry[0].node.ino)
            tree = call.proc.runtime.tree
            for path, node in tree.walk():
                if node is entry[0].node:
                    self._record(f"modified {path}")
                    return

    @staticmethod
    def _absolute(call: Call, path: str) -> str:
        base = call.proc.cwd if not path.startswith("/") else "/"
        return os.path.normpath(os.path.join(base, path))

    @staticmethod
    def _exists(call: Call, path: str) -> bool:
        tree = call.proc.runtime.tree
        try:
            return tree.find(path, follow=False).node is not None
        except OSError:
            return False
