"""What a process tree may keep of its ended cages' instances (cage/instance_pool.py):
the bounds that keep a tree running many programs from holding host memory outside
its budget. The attacks on what a kept instance may hold are in test_attacks.py
(fork_leftovers, fresh_leftovers)."""

from __future__ import annotations

import lind
from lind.cage import instance_pool
from lind.cage.cage import Cage
from lind.cage.instance_pool import InstancePool, PooledInstance


def _kept(module: object, pages: int = 17) -> PooledInstance:
    return PooledInstance(module, None, None, None, None, 100, pages, 0, 0)


def test_a_tree_keeps_four_instances_of_a_program_and_eight_in_all():
    assert (instance_pool.PER_PROGRAM, instance_pool.PER_TREE) == (4, 8)
    pool = InstancePool(lambda tree: tree == 1)
    programs = [object() for _ in range(10)]
    for program in programs:
        for _ in range(5):                      # the fifth of a program is not kept
            pool.put(1, _kept(program))
    pool.put(2, _kept(programs[0]))             # a tree that has ended keeps nothing
    found = [sum(pool.take(1, p, 100, range(100)) is not None for _ in range(5))
             for p in programs]
    # eight in all, the oldest gone first: the first eight programs' went for the last two's
    assert found == [0, 0, 0, 0, 0, 0, 0, 0, 4, 4], found
    assert pool.take(2, programs[0], 100, range(100)) is None


def test_a_kept_instance_is_taken_only_by_its_program_and_size():
    pool = InstancePool(lambda tree: True)
    program, other = object(), object()
    pool.put(1, _kept(program, pages=20))
    assert pool.take(1, other, 100, range(100)) is None
    assert pool.take(1, program, 99, range(100)) is None          # another maximum
    assert pool.take(1, program, 100, range(17, 20)) is None      # too large for this
    assert pool.take(2, program, 100, range(100)) is None         # another tree
    assert pool.take(1, program, 100, range(17, 21)) is not None
    assert pool.take(1, program, 100, range(100)) is None         # taken once


def test_fresh_states_past_their_budget_are_not_kept(builds, tmp_path, monkeypatch):
    """A program whose fresh state would pass what all of them may hold is instantiated
    anew at every exec and spawn (none takes a kept instance), and runs as it should."""
    monkeypatch.setattr(instance_pool, "FRESH_STATES_BYTES", 0)
    monkeypatch.setattr(instance_pool, "_fresh_states", type(instance_pool._fresh_states)())
    monkeypatch.setattr(instance_pool, "_fresh_refused", type(instance_pool._fresh_refused)())
    taken = []
    look = Cage._kept_for_fresh_start

    def counted(self, *args):
        found = look(self, *args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(Cage, "_kept_for_fresh_start", counted)
    result = lind.run([builds.wasm("attacks/fresh_leftovers"), "4242"], root=tmp_path,
                      capture_output=True, timeout=60)
    assert result.stdout == b"reader marks 0 data 42 tls 5 bss 0 stack 1\n" * 2, result.stderr
    assert taken == [False] * 7, taken
