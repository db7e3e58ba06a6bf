"""Reading a program file, for the loader and for the policy it may carry.

Only a regular file is a program (as execve: anything else is EACCES), and it is
opened without waiting: a FIFO named as a program must not hold the host in open(2).
Light on purpose: the command line reads a program's policy before wasmtime loads.
"""

from __future__ import annotations

import errno
import os
import stat


def read_program(path: str | os.PathLike[str], limit: int = -1) -> bytes:
    """The bytes of the program file at `path` (its first `limit` with a limit); OSError
    as open(2) or execve(2) says."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return f.read(limit)
