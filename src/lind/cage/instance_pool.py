"""Instances of ended cages, kept for the next fork, exec or spawn of their process tree.

A fork makes the child a new instance of its parent's program: a Store, a Linker with
the cage's imports, a shared memory and Wasmtime's instantiation, which cost more than
the rest of a fork together. A cage of the same tree that ended running that program
leaves all of them behind, so the next fork takes them instead: everything in the
memory that the parent's copy does not overwrite is zeroed (Cage._scrub_reused, in
place: unmapping it all cost more), the child gets every mutable global and the used
memory from its parent as a new instance would, and the instance's imports are
pointed at the child (its SlotRef, start-up number and epoch callback). An exec, or a
posix_spawn's child, that starts a program afresh takes one of about the size a new
one starts with (up to FRESH_START_SLACK_PAGES more): all its memory is zeroed and
given the data and mutable globals a new instance of it had once its start function
ran (FreshState, noted at the program's first instantiation; only for programs whose
every mutable global is exported, as `lind cc` links them).

Only what no other host thread can still touch is kept: the instance of a cage that
exited on its own, never had a second thread nor served as a grate, and whose memory
no host operation held when it ended (Memory.recycle; one with more than 4 MiB
resident is zeroed then, giving its RAM back). Entries never leave their tree (a
program may change its own tables, which the next user of the instance would see),
and a tree's entries go when its first cage ends.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wasmtime

from lind import threei
from lind.cage import loader

#: instances kept per tree and program; more would mostly hold address space
PER_PROGRAM = 4
#: instances kept per tree (the oldest goes first): each holds up to 4 MiB resident
#: outside the tree's memory budget, so a tree that runs many programs is bounded too
PER_TREE = 8
#: how much more memory than a new instance one may have to serve a fresh start (a
#: spawned child grows its memory a little before it execs): the program starts with
#: that much more, charged to its tree as any memory it holds
FRESH_START_SLACK_PAGES = 64


@dataclass
class PooledInstance:
    """One ended cage's instance of `module`, with what its imports are bound to."""

    module: wasmtime.Module
    store: wasmtime.Store
    instance: wasmtime.Instance
    exports: Any                  # loader.Exports
    shared_memory: Any            # wasmtime_engine.SharedMemory, cleared by the fork
    max_pages: int                # the shared memory's maximum
    pages: int                    # its size now (nothing grows it while it is kept)
    store_address: int            # the store's wasmtime_store_t and wasmtime_context_t
    context: int                  # (ctypes casts each, were made again by each taker)


class InstancePool:
    """The kept instances of a Runtime's cages, by tree (its first cage's id), oldest
    first."""

    def __init__(self, tree_running: Callable[[int], bool]) -> None:
        self._lock = threading.Lock()
        self._kept: dict[int, list[PooledInstance]] = {}
        self._tree_running = tree_running   # false once close_tree may have run for it

    def put(self, tree: int, item: PooledInstance) -> None:
        with self._lock:
            if not self._tree_running(tree):
                return
            kept = self._kept.setdefault(tree, [])
            if sum(other.module is item.module for other in kept) >= PER_PROGRAM:
                return
            if len(kept) >= PER_TREE:
                del kept[0]
            kept.append(item)

    def take(self, tree: int, module: wasmtime.Module, max_pages: int,
             pages: range) -> PooledInstance | None:
        """An instance of `module` whose memory may grow to `max_pages` pages and has a
        number of pages in `pages` now (memory does not shrink: a fork's child may not
        see more than its parent had, a fresh start not much more than a new one)."""
        with self._lock:
            kept = self._kept.get(tree, [])
            for i, item in enumerate(kept):
                if (item.module is module and item.max_pages == max_pages
                        and item.pages in pages):
                    return kept.pop(i)
        return None

    def close_tree(self, tree: int) -> None:
        """The tree's first cage ended (tree_running says so from now on): its
        instances go."""
        with self._lock:
            self._kept.pop(tree, None)


@dataclass(frozen=True)
class FreshState:
    """What a new instance of a program holds once instantiated, before the program
    runs: its data and bss (between the top of its stack region and its heap: what its
    start function wrote, the flag that says memory is initialised among it), as the
    pages that are not all zeros, and its mutable globals."""

    pages: tuple[tuple[int, bytes], ...]
    globals: tuple[tuple[str, int], ...]


#: a program with more static data than this (bss included) is instantiated anew
FRESH_STATE_LIMIT = 16 << 20
#: what the FreshStates of all programs loaded may hold at once: host memory outside
#: every tree's budget (a program past it is instantiated anew)
FRESH_STATES_BYTES = 64 << 20
_PAGE = 4096
_ZEROS = bytes(_PAGE)

_fresh_states: weakref.WeakKeyDictionary[wasmtime.Module, FreshState] = (
    weakref.WeakKeyDictionary())
_fresh_refused: weakref.WeakSet[wasmtime.Module] = weakref.WeakSet()   # past the budget
_fresh_lock = threading.Lock()
_fresh_bytes = 0     # held by _fresh_states: its entries go with their modules


def _fresh_state_gone(size: int) -> None:
    global _fresh_bytes
    with _fresh_lock:
        _fresh_bytes -= size


def note_fresh_state(module: wasmtime.Module, mem: threei.Memory, store: wasmtime.Store,
                     exports: Any) -> None:
    """Called with a new instance of `module` (memory `mem`) before it runs: keep what a
    kept instance needs to start the program afresh, once per program, if it can."""
    names = loader.reset_globals(module)
    heap_base, stack_top = loader.layout(module)
    if (module in _fresh_states or module in _fresh_refused or names is None
            or heap_base is None or stack_top is None
            or not stack_top <= heap_base <= min(mem.size(), stack_top + FRESH_STATE_LIMIT)):
        return
    global _fresh_bytes
    region = mem.read(stack_top, heap_base - stack_top)
    pages = tuple((stack_top + at, region[at:at + _PAGE]) for at in range(0, len(region), _PAGE)
                  if region[at:at + _PAGE] != _ZEROS[:len(region) - at])
    context = loader.context_address(store)
    values = tuple((name, loader.get_i32(exports[name], context)) for name in names)
    size = sum(len(data) for _, data in pages)
    with _fresh_lock:
        if _fresh_bytes + size > FRESH_STATES_BYTES:
            _fresh_refused.add(module)      # not read again at each instantiation
            return
        if module in _fresh_states:
            return
        _fresh_states[module] = FreshState(pages, values)
        _fresh_bytes += size
    weakref.finalize(module, _fresh_state_gone, size)


def fresh_state(module: wasmtime.Module) -> FreshState | None:
    return _fresh_states.get(module)


def make_fresh(state: FreshState, mem: threei.Memory, store: wasmtime.Store,
               exports: Any) -> None:
    """Put a kept instance back as a new one starts: nothing of its last program left."""
    mem.scrub([])
    for at, data in state.pages:
        mem.write(at, data)
    context = loader.context_address(store)
    for name, value in state.globals:
        loader.set_i32(exports[name], context, value)
