"""The process model inside one Lind process: fork, exec, wait, pipes between cages."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import weakref

import pytest

import lind
from lind import threei
from lind.cage import loader
from lind.cage.cage import Cage
from lind.grates import Call, Grate, handles


def _stage(builds, tmp_path, name):
    """The program copied into a root (for exec by path) and natively into a dir."""
    root = tmp_path / "root"
    native_dir = tmp_path / "native"
    root.mkdir()
    native_dir.mkdir()
    shutil.copy(builds.wasm(name), root / f"{name}.wasm")
    shutil.copy(builds.native(name), native_dir / f"{name}.wasm")
    return root, native_dir


def test_fork_wait_pipe_exec_match_native(builds, tmp_path):
    root, native_dir = _stage(builds, tmp_path, "forks")
    native = subprocess.run(["./forks.wasm"], cwd=native_dir, capture_output=True, timeout=60)
    caged = lind.run([root / "forks.wasm"], root=root, capture_output=True, timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode == 0


def test_three_stage_pipeline(builds, tmp_path):
    root, native_dir = _stage(builds, tmp_path, "pipeline")
    native = subprocess.run(["./pipeline.wasm"], cwd=native_dir, capture_output=True, timeout=60)
    caged = lind.run([root / "pipeline.wasm"], root=root, capture_output=True, timeout=60)
    assert caged.stdout == native.stdout
    assert b"1: LINE 1 OF THE STREAM\n" in caged.stdout
    assert caged.stderr == b"stages ok: 3\n"


def test_fork_bomb_meets_the_cage_limit(builds, tmp_path):
    rt = lind.Runtime(max_cages=40, tree_cages=40)
    out_r, out_w = os.pipe()
    cage = rt.spawn(builds.wasm("forkbomb"), root=str(tmp_path), stdout=out_w)
    os.close(out_w)
    assert cage.wait(120) == 0
    out = os.read(out_r, 200).decode()
    os.close(out_r)
    assert out == "made=39 reaped=39 error=Resource temporarily unavailable\n"
    assert not rt.cages


def test_many_fork_exit_cycles_free_their_cages(builds, tmp_path):
    rt = lind.Runtime(max_cages=8)
    result = lind.run([builds.wasm("forkloop"), "300"], root=tmp_path, capture_output=True,
                      timeout=120, runtime=rt)
    assert result.stdout == b"ok=300\n"
    assert not rt.cages


def test_ended_cages_go_without_the_cycle_collector(builds, tmp_path, monkeypatch):
    """An ended cage holds nothing that points back at it (its slot, fd table and
    address space let go): it is freed when its parent, or lind.run, lets go, with the
    collector off. (Left to Python's cycle collector, ended cages cost a tenth of every
    fork.)"""
    made = []
    make = Cage.__init__

    def tracked(self, **kwargs):
        make(self, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(Cage, "__init__", tracked)
    gc.collect()
    gc.disable()
    try:
        result = lind.run([builds.wasm("forkloop"), "50"], root=tmp_path, capture_output=True,
                          timeout=60)
        alive = sum(ref() is not None for ref in made)    # before any collection
    finally:
        gc.enable()
    assert result.stdout == b"ok=50\n"
    assert len(made) == 51 and alive == 0


def test_setjmp_longjmp_match_native(builds, tmp_path):
    native = subprocess.run([str(builds.native("jumps"))], cwd=tmp_path, capture_output=True,
                            timeout=60)
    caged = lind.run([builds.wasm("jumps")], root=tmp_path, capture_output=True, timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode == 0


def test_the_trampoline_forks_without_the_handler_once_bound(builds, tmp_path, monkeypatch):
    """A fork through the handler is two handler calls, four of Asyncify's exports
    called from Python and the rewinds of both stacks: ~15 us. Once an instance is bound
    (its first unwind, through the handler), the trampoline unwinds and rewinds it for
    fork itself, and a child's rewind too: Python only makes the child. Of 200 forks the
    handler sees the first alone."""
    assert threei.ACCELERATED, "the C trampoline was not built"
    seen = {"unwind_then": 0, "rewound": 0}

    def counting(name):
        original = getattr(Cage, name)

        def count(self, *args, **kwargs):
            seen[name] += 1
            return original(self, *args, **kwargs)
        return count

    for name in seen:
        monkeypatch.setattr(Cage, name, counting(name))
    caged = lind.run([builds.wasm("forkloop"), "200"], root=tmp_path, capture_output=True,
                     timeout=120)
    assert caged.stdout == b"ok=200\n", caged.stderr
    assert seen == {"unwind_then": 1, "rewound": 1}, seen


def test_the_trampoline_makes_a_forking_programs_jumps_without_python(builds, tmp_path,
                                                                     monkeypatch):
    """Through the handlers each setjmp and longjmp of a program that forks cost 10-20 us
    of Python; the C trampoline makes them itself once an instance has made its first
    (which binds it): of the ~21,000 in jump_points.c, the handlers see one per instance
    (the program's and its four threads'; a fork's child is bound from the start)."""
    assert threei.ACCELERATED, "the C trampoline was not built"
    seen = {"save": 0, "restore": 0}

    def counting(name):
        original = getattr(Cage, name)

        def count(self, *args):
            seen[name.split("_")[0]] += 1
            return original(self, *args)
        return count

    monkeypatch.setattr(Cage, "save_jump_point", counting("save_jump_point"))
    monkeypatch.setattr(Cage, "restore_jump_point", counting("restore_jump_point"))
    caged = lind.run([builds.wasm("jump_points")], root=tmp_path, capture_output=True,
                     timeout=120)
    assert caged.returncode == 0, caged.stderr
    assert b"threads jumped for 15023992" in caged.stdout
    assert 1 <= seen["save"] <= 6 and seen["restore"] <= 2, seen


def test_a_grate_taking_setjmp_but_not_longjmp_leaves_the_jumps_right(builds, tmp_path):
    """A longjmp the trampoline makes rewinds into a setjmp call that then reaches the
    grate, and through it the handler, which must end that rewind with the longjmp's
    value (it took the handler's own, none: the program went wrong)."""
    class SetjmpCounter(Grate):
        calls = 0

        @handles(1020)     # setjmp (Lind's own call, with no Linux name)
        def count(self, call: Call) -> int:
            self.calls += 1
            return call.forward()

    counter = SetjmpCounter()
    native = subprocess.run([str(builds.native("jump_points"))], cwd=tmp_path,
                            capture_output=True, timeout=60)
    caged = lind.run([builds.wasm("jump_points")], root=tmp_path, capture_output=True,
                     timeout=120, grates=[counter])
    assert caged.stdout.decode() == native.stdout.decode(), caged.stderr
    assert caged.returncode == native.returncode == 0
    assert counter.calls > 10_000


def test_poll_and_select_on_pipes_match_native(builds, tmp_path):
    native = subprocess.run([str(builds.native("readiness"))], cwd=tmp_path, capture_output=True,
                            timeout=60)
    caged = lind.run([builds.wasm("readiness")], root=tmp_path, capture_output=True, timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode == 0


def test_preforking_server_over_pipes_matches_native(builds, tmp_path):
    native = subprocess.run([str(builds.native("prefork"))], cwd=tmp_path, capture_output=True,
                            timeout=60)
    caged = lind.run([builds.wasm("prefork")], root=tmp_path, capture_output=True, timeout=60)
    assert caged.stdout == native.stdout
    assert caged.stdout == (b"answers 60, each job once: yes, sum of squares 73810, "
                            b"workers exited cleanly 3\n")


def test_posix_spawn_system_and_popen_match_native(builds, tmp_path):
    """posix_spawn starts the child afresh (no fork, no Asyncify): file actions, the
    signal mask and default dispositions, the process group, errors, and system/popen
    through /bin/sh (in the cage, the same program acting as one) as natively."""
    native_dir, root = tmp_path / "native", tmp_path / "root"
    native_dir.mkdir()
    (root / "bin").mkdir(parents=True)
    native = subprocess.run([str(builds.native("spawn"))], cwd=native_dir, capture_output=True,
                            timeout=60)
    assert b"child: fd5 read 13 'from the file'" in native.stdout
    shutil.copy(builds.wasm("spawn"), root / "spawn")
    shutil.copy(builds.wasm("spawn"), root / "bin" / "sh")
    caged = lind.run([root / "spawn"], root=root, capture_output=True, timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode == 0
    assert ("lind", "syscall_unwind") not in {
        (i.module, i.name) for i in loader.load(builds.wasm("spawn")).imports}


@pytest.mark.parametrize("flags", [(), ("-DLINK_SPAWN",)], ids=["no-entry", "entry"])
def test_raw_spawn_calls_get_errnos(builds, tmp_path, flags):
    """A hostile program's own spawn calls: E2BIG, EFAULT, ENOENT for spawn_plan outside
    a spawned child, ENOSYS without a spawn entry; with one, a garbage plan only makes a
    child that exits 127 (the host never parses a plan)."""
    caged = lind.run([builds.wasm("spawn_raw", *flags)], root=tmp_path, capture_output=True,
                     timeout=60)
    assert caged.stdout.decode().startswith(
        "huge plan: -1 Argument list too long\nplan outside memory: -1 Bad address\n"
        "spawn_plan here: -1 No such file or directory\n")
    assert caged.stdout.decode().endswith(
        "garbage plan: reaped 1, exit 127\n" if flags else
        "garbage plan: Function not implemented\n")
    assert caged.returncode == 0
