"""Reading a program file, for the loader and for the policy it may carry.

Only a regular file is a program (as execve: anything else is EACCES), and it is
opened without waiting: a FIFO named as a program must not hold the host in open(2).
Light on purpose: the command line reads a program's policy before wasmtime loads.
Plain os calls, no file object: every exec reads its program, and each call lets
another cage's thread take Python's lock (a file object makes twice as many).
"""

from __future__ import annotations

import errno
import os
import stat


def read_program(path: str | os.PathLike[str], limit: int = -1) -> bytes:
    """The bytes of the program file at `path` (its first `limit` with a limit); OSError
    as open(2) or execve(2) says."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        data = bytearray()
        while limit < 0 or len(data) < limit:
            want = limit - len(data) if limit >= 0 else max(info.st_size + 1 - len(data), 1 << 16)
            part = os.read(fd, want)
            data += part
            if not part or (limit < 0 and len(data) <= info.st_size):
                break   # its end (a regular file reads short only there)
        return bytes(data)
    finally:
        os.close(fd)
