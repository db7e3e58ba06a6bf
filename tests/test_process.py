"""The process model inside one Lind process: fork, exec, wait, pipes between cages."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import lind
from lind.cage import loader


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
    rt = lind.Runtime(max_cages=40)
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


def test_setjmp_longjmp_match_native(builds, tmp_path):
    native = subprocess.run([str(builds.native("jumps"))], cwd=tmp_path, capture_output=True,
                            timeout=60)
    caged = lind.run([builds.wasm("jumps")], root=tmp_path, capture_output=True, timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode == 0


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
