"""How a run on the portable back end is wired into the threaded runtime: the tree
filled from `root` and the mounts, served at `/` by a MemoryFiles grate beneath every
other grate, and the working directory checked in it."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence

from lind.grates import Grate
from lind.microvisor.fs import normalize
from lind.portable.files import MemoryFiles
from lind.portable.memfs import Dir, Tree

BACKENDS = ("host", "portable", "cooperative")


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"unknown back end {name!r} (one of: {', '.join(BACKENDS)})")
    return name


ROOM = 1 << 30      # what cages may add to a tree the run filled, unless it has a capacity


def file_system(tree: Tree, root: str | os.PathLike[str] | None = None,
                mounts: Sequence = (), empty_dirs: Sequence[str] = ()) -> list[Grate]:
    """Fill `tree` for a run: the host directory or .zip `root`, each mount's host
    directory copied in at its guest path (a read-only mount's files refuse changes),
    a /tmp, the policy's private directories (`empty_dirs`). A tree without a capacity
    gets ROOM more than it holds then. Returns the grates that serve it, the lowest
    last."""
    if root is not None:
        tree.load(root)
    for mount in mounts:
        tree.load(mount.host, mount.guest, readonly=mount.readonly)
    for path in ("/tmp", *empty_dirs):
        with tree.lock:
            if tree.find(path).node is None:
                tree.make_dirs(path).mode = stat.S_IFDIR | 0o1777
    if tree.capacity is None:
        tree.capacity = tree.used + ROOM
    return [MemoryFiles("/", tree=tree, host_fifos=True)]


def enter(tree: Tree, cwd: str, host_root: str) -> None:
    """Check that a run's working directory is a directory of the tree, as a host run's
    must be one of its root (OSError, as subprocess), and make the same path in the
    microvisor's empty root, which checks it again."""
    path = normalize(cwd)
    if any(path == top or path.startswith(top + "/") for top in ("/dev", "/proc")):
        return                  # the microvisor's own
    try:
        with tree.lock:
            node = tree.lookup(path)
        if not isinstance(node, Dir):
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
    except OSError as exc:
        raise OSError(exc.errno, f"working directory {cwd}: {exc.strerror}") from None
    os.makedirs(os.path.join(host_root, path.lstrip("/")), exist_ok=True)


def tree_for(backend: str, root) -> Tree | None:
    """The tree a run on `backend` keeps its files in: `root` when it is one, a new one
    for the portable back end and the cooperative runtime, None for the host's."""
    in_memory = check_backend(backend) != "host"
    if isinstance(root, Tree):
        if not in_memory:
            raise ValueError("root is a portable Tree: it needs backend='portable'")
        return root
    return Tree() if in_memory else None
