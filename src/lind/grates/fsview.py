"""fsview and chroot: show directories of the file system at other paths."""

from __future__ import annotations

import errno
from collections.abc import Mapping

from lind.grates import Call, Grate, handles
from lind.grates.paths import PATH_CALLS, encode_path, guest_dir, resolve, under
from lind.microvisor import abi
from lind.microvisor.fs import join

_SYMLINKS = ("symlink", "symlinkat")     # both take the link's target first
_READLINK_BUFFER = {"readlink": (1, 2), "readlinkat": (2, 3)}


class FSView(Grate):
    """Show directories at other paths: `fsview:/app=/srv/app,/tmp=/scratch`.

    Each `VIEW=REAL` pair (comma-separated, both absolute) makes the program's path
    VIEW, and everything below it, name REAL below it; the longest VIEW that matches
    wins, other paths pass unchanged. Every call that takes a file name is rewritten
    (open, stat, access, readlink, unlink, mkdir, rmdir, rename, link, symlink, chmod,
    chown, truncate, utimes, chdir, execve, xattrs, and their *at forms), relative
    names after joining them to the working directory as the view shows it.
    getcwd answers in the view (a directory reachable by two view paths is named
    by the mapped one); an absolute symlink target the program writes is stored
    mapped and read back unmapped.

    This is a view, not a boundary: symbolic links already present are followed by
    the layer below in its own names, so for confinement use --root and --mount.
    """

    name = "fsview"

    def __init__(self, mapping: Mapping[str, str]) -> None:
        if not mapping:
            raise ValueError(f"{self.name} needs at least one VIEW=REAL pair")
        pairs = [(guest_dir(view), guest_dir(real)) for view, real in mapping.items()]
        self.to_real_order = sorted(pairs, key=lambda p: len(p[0]), reverse=True)
        self.to_view_order = sorted(pairs, key=lambda p: len(p[1]), reverse=True)

    @classmethod
    def from_args(cls, text: str) -> FSView:
        mapping = {}
        for item in filter(None, text.split(",")):
            view, sep, real = item.partition("=")
            if not sep:
                raise ValueError(f"fsview: {item!r} is not VIEW=REAL")
            mapping[view] = real
        return cls(mapping)

    def to_real(self, path: str) -> str:
        for view, real in self.to_real_order:
            if under(path, view):
                return join(real, path[len(view):].lstrip("/"))
        return path

    def to_view(self, path: str) -> str:
        for view, real in self.to_view_order:
            if under(path, real):
                return join(view, path[len(real):].lstrip("/"))
        return path

    @handles(*PATH_CALLS)
    def remap(self, call: Call) -> int:
        args = list(call.args)
        for arg in PATH_CALLS[call.name]:
            path = resolve(call, arg, self.to_view)
            if path is not None:
                args[arg.path] = call.put(encode_path(self.to_real(path)))
        if call.name in _SYMLINKS:
            target = call.string(0).decode("utf-8", "surrogateescape")
            if target.startswith("/"):
                args[0] = call.put(encode_path(self.to_real(join("/", target))))
        result = call.forward(*args)
        if call.name in _READLINK_BUFFER and result > 0:
            return self._unmap_link(call, result)
        return result

    def _unmap_link(self, call: Call, length: int) -> int:
        """readlink's answer in the view's names, if it is an absolute path."""
        buf, size = _READLINK_BUFFER[call.name]
        target = call.read(buf, length).decode("utf-8", "surrogateescape")
        if not target.startswith("/"):
            return length
        shown = self.to_view(join("/", target)).encode("utf-8", "surrogateescape")
        shown = shown[:abi.s32(call.args[size])]
        call.write(buf, shown)
        return len(shown)

    @handles("getcwd")
    def getcwd(self, call: Call) -> int:
        data = encode_path(self.to_view(call.cage.cwd))
        if abi.u32(call.args[1]) < len(data):
            return -errno.ERANGE
        call.write(0, data)
        return len(data)


class Chroot(FSView):
    """Show one directory as the whole tree: `chroot:DIR` is `fsview:/=DIR`.

    Every absolute path, and every relative one after joining it to the working
    directory, is taken below DIR (a guest path); `..` stops at DIR as at `/`.
    Like fsview it rewrites names and is not a security boundary: an absolute
    symbolic link already inside DIR is followed outside it by the layer below.
    """

    name = "chroot"

    @classmethod
    def from_args(cls, text: str) -> Chroot:
        if not text:
            raise ValueError("chroot needs a directory: --grate chroot:DIR")
        return cls({"/": text})
