"""The portable back end: what a cage's calls reach kept by Lind itself, in Python
memory, instead of asked of the host kernel.

`lind run --backend portable` / `lind.run(..., backend="portable")` gives the whole
process tree a file system of its own (memfs), filled from `root` (a directory or a
.zip archive) and the mounts, served by a MemoryFiles grate at `/` beneath every other
grate, so grates work on it unchanged. Nothing the cages do changes a host file; the
tree can be written back afterwards (`save`). The microvisor below it gets an empty
private directory as its root, so a call the tree does not answer cannot reach the
host's files either. /dev and /proc stay the microvisor's own virtual files.

Still the host's on this back end (later parts of the port): pipes, sockets, shared
memory (/dev/shm), time, and the threads cages run on.
"""

from __future__ import annotations

from lind.portable.memfs import Tree

__all__ = ["Tree"]
