"""Instances of ended cages, kept for the next fork of their process tree.

A fork makes the child a new instance of its parent's program: a Store, a Linker with
the cage's imports, a shared memory and Wasmtime's instantiation, which cost more than
the rest of a fork together. A cage of the same tree that ended running that program
leaves all of them behind, so the next fork takes them instead: everything in the
memory that the parent's copy does not overwrite is zeroed (Cage._scrub_reused, in
place: unmapping it all cost more), the child gets every mutable global and the used
memory from its parent as a new instance would, and the instance's imports are
pointed at the child (its SlotRef, start-up number and epoch callback).

Only what no other host thread can still touch is kept: the instance of a cage that
exited on its own, never had a second thread nor served as a grate, and whose memory
no host operation held when it ended (Memory.recycle; one with more than 4 MiB
resident is zeroed then, giving its RAM back). Entries never leave their tree (a
program may change its own tables, which the next user of the instance would see),
and a tree's entries go when its first cage ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wasmtime

#: instances kept per tree and program; more would mostly hold address space
PER_PROGRAM = 2


@dataclass
class PooledInstance:
    """One ended cage's instance of `module`, with what its imports are bound to."""

    module: wasmtime.Module
    store: wasmtime.Store
    instance: wasmtime.Instance
    exports: Any                  # loader.Exports
    shared_memory: Any            # wasmtime_engine.SharedMemory, cleared by the fork
    startup_number: int           # its start-up imports' cage key
    max_pages: int                # the shared memory's maximum

    def pages(self) -> int:
        return self.shared_memory.size()


class InstancePool:
    """The kept instances of a Runtime's cages, by tree (its first cage's id) and program."""

    def __init__(self, tree_running: Callable[[int], bool]) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[int, int], list[PooledInstance]] = {}
        self._tree_running = tree_running   # false once close_tree may have run for it

    def put(self, tree: int, item: PooledInstance) -> None:
        with self._lock:
            if not self._tree_running(tree):
                return
            kept = self._kept.setdefault((tree, id(item.module)), [])
            if len(kept) < PER_PROGRAM:
                kept.append(item)

    def take(self, tree: int, module: wasmtime.Module, max_pages: int,
             pages: int) -> PooledInstance | None:
        """An instance of `module` whose memory may grow to `max_pages` pages and has at
        most `pages` now (memory does not shrink: a larger one would show the child more
        than its parent had)."""
        with self._lock:
            kept = self._kept.get((tree, id(module)), [])
            for i, item in enumerate(kept):
                if item.max_pages == max_pages and item.pages() <= pages:
                    return kept.pop(i)
        return None

    def close_tree(self, tree: int) -> None:
        """The tree's first cage ended (tree_running says so from now on): its
        instances go."""
        with self._lock:
            for key in [key for key in self._kept if key[0] == tree]:
                del self._kept[key]
