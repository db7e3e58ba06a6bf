"""clamp: apply another grate only to the calls on files under a directory."""

from __future__ import annotations

import functools
from collections.abc import Callable

from lind.grates import Call, Grate, syscall_names
from lind.grates.paths import FD_CALLS, PATH_CALLS, guest_dir, touched, under
from lind.grates.registry import resolve


class Clamp(Grate):
    """Apply another grate only to calls on files under a directory: `clamp:/data=GRATE`.

    `--grate clamp:/secret=seccomp:policy.txt`, `--grate clamp:/mem=imfs`: everything
    after the first `=` is the inner grate's own NAME[:ARGS] (a Python grate; a wasm
    grate is a whole program and cannot be clamped). Of the calls the inner grate
    handles, the clamp routes to it:
      - calls that take file names (open, stat, unlink, rename, mkdir, chdir, execve,
        ... and their *at forms, relative names resolved against the working directory
        or the dirfd) when any name lies under the directory;
      - calls on an open file (read, write, fstat, getdents64, fchmod, ftruncate, mmap,
        close, ...) when the fd was opened by a path under the directory.
    Everything else goes straight to the layer below, including calls that name no
    file at all (fork, getpid, socket, getcwd): those the inner grate never sees. The
    inner grate's forward() reaches the layer below the clamp, as it would unclamped.
    """

    name = "clamp"

    def __init__(self, directory: str, inner: Grate) -> None:
        self.directory = guest_dir(directory)
        self.inner = inner

    @classmethod
    def from_args(cls, text: str) -> Clamp:
        directory, sep, spec = text.partition("=")
        if not sep or not spec:
            raise ValueError("clamp wants /DIR=GRATE[:ARGS], e.g. clamp:/data=readonly")
        inner = resolve(spec)
        if not isinstance(inner, Grate):
            raise ValueError(f"clamp: {spec!r} is a wasm grate; only Python grates can be clamped")
        return cls(directory, inner)

    def handlers(self) -> dict[int, Callable[[Call], int]]:
        names = syscall_names()
        return {nr: functools.partial(self._route, method)
                for nr, method in self.inner.handlers().items()
                if names.get(nr) in PATH_CALLS or names.get(nr) in FD_CALLS}

    def _route(self, inner: Callable[[Call], int], call: Call) -> int:
        if any(under(path, self.directory) for path in touched(call)):
            return inner(call)
        return call.forward()
