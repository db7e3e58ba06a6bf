"""Reading a program file, for the loader and for the policy it may carry.

Only a regular file is a program (as execve: anything else is EACCES), and it is
opened without waiting: a FIFO named as a program must not hold the host in open(2).
Nor is a file past PROGRAM_BYTES_MAX (EFBIG): a cage may write the program file it was
started from, and exec it again. Light on purpose: the command line reads a program's
policy before wasmtime loads. Plain os calls, no file object: every exec reads its
program, and each call lets another cage's thread take Python's lock (a file object
makes twice as many).
"""

from __future__ import annotations

import errno
import os
import stat

#: the largest program Lind reads into its memory (exec reads no more either)
PROGRAM_BYTES_MAX = 256 << 20


def read_program(path: str | os.PathLike[str], limit: int = -1) -> bytes:
    """The bytes of the program file at `path` (its first `limit` with a limit); OSError
    as open(2) or execve(2) says, EFBIG past PROGRAM_BYTES_MAX."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        whole = limit < 0
        most = PROGRAM_BYTES_MAX + 1 if whole else limit   # a byte more: too large
        if whole and info.st_size >= most:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), os.fspath(path))
        parts: list[bytes] = []
        have = 0
        while have < most:
            part = os.read(fd, min(most - have, max(info.st_size + 1 - have, 1 << 16)))
            parts.append(part)
            have += len(part)
            if not part or (whole and have <= info.st_size):
                break   # its end (a regular file reads short only there)
        if whole and have >= most:        # it grew past the limit while read
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), os.fspath(path))
        return parts[0] if len(parts) == 1 else b"".join(parts)
    finally:
        os.close(fd)
