"""MAP_SHARED memory between forked cages, futexes on it, and libc's process-shared
semaphores and mutexes built on both: each program's output and status match its
native build's."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import time

import pytest

import lind


def _stage(builds, tmp_path, name):
    """The program in a cage root and natively in a directory, both as NAME.wasm, so
    that exec(argv[0]) and relative file names work the same in both."""
    root, native_dir = tmp_path / "root", tmp_path / "native"
    root.mkdir()
    native_dir.mkdir()
    shutil.copy(builds.wasm(name), root / f"{name}.wasm")
    shutil.copy(builds.native(name), native_dir / f"{name}.wasm")
    return root, native_dir


def _compare(builds, tmp_path, name, *args):
    root, native_dir = _stage(builds, tmp_path, name)
    native = subprocess.run([f"./{name}.wasm", *args], cwd=native_dir, capture_output=True,
                            timeout=120)
    caged = lind.run([root / f"{name}.wasm", *args], root=root, capture_output=True,
                     timeout=120)
    assert caged.stderr == native.stderr == b""
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode == 0
    return root, native_dir, caged.stdout.decode()


def _shared_mappings() -> int:
    """Host mappings of Lind's shared-page memfds in this process."""
    with open("/proc/self/maps") as maps:
        return sum("memfd:lind-shared" in line for line in maps)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_shared_anonymous_memory_across_fork_matches_native(builds, tmp_path):
    _, _, out = _compare(builds, tmp_path, "shm_fork")
    assert "grandchild sees: from parent / from child\n" in out
    assert "parent sees: from child / from grandchild / parent private\n" in out
    assert "parent after child munmap: from parent / from grandchild / after child munmap\n" in out
    assert "parent after exec: written before exec / later child\n" in out


def test_shared_file_mapping_reaches_the_file_and_matches_native(builds, tmp_path):
    root, native_dir, out = _compare(builds, tmp_path, "shm_file")
    assert 'after child\'s exit: read() at 200 gives "child, at exit"\n' in out
    assert 'private write kept out of the file: read() at 0 gives "original"\n' in out
    in_cage = (root / "shm_file.data").read_bytes()
    assert in_cage == (native_dir / "shm_file.data").read_bytes()
    assert in_cage[1000:1025] == b"written just before exit\0"
    assert in_cage[4096 + 50:4096 + 65] == b"through mremap\0"


def test_process_shared_semaphores_match_native(builds, tmp_path):
    _, _, out = _compare(builds, tmp_path, "shm_semaphore")
    assert "sem_trywait on 0: -1 EAGAIN\n" in out
    assert "sem_timedwait on 0: -1 ETIMEDOUT\n" in out
    assert "counter=80000 (expected 80000), lock value 1\n" in out


def test_process_shared_mutex_matches_native(builds, tmp_path):
    _, _, out = _compare(builds, tmp_path, "shm_mutex")
    assert "counter=100000 spun=100000 (expected 100000)\n" in out
    assert "children ok: 4\n" in out


def test_futex_between_cages_matches_native(builds, tmp_path):
    _, _, out = _compare(builds, tmp_path, "shm_futex")
    assert "wait on a changed word: EAGAIN\n" in out
    assert "ping-pong: 2000 rounds, child status 0\n" in out
    assert "private wake woke 0, other bits woke 0, matching wake woke 1, child status 0\n" in out


def test_fork_cycles_over_shared_regions_free_every_fd_and_mapping(builds, tmp_path):
    rt = lind.Runtime(max_cages=8)
    program = builds.wasm("shm_cycles")
    lind.run([program, "5"], root=tmp_path, capture_output=True, timeout=120, runtime=rt)
    gc.collect()
    fds_before, mappings_before = _open_fds(), _shared_mappings()
    for _ in range(3):
        result = lind.run([program, "100"], root=tmp_path, capture_output=True, timeout=120,
                          runtime=rt)
        assert result.stdout == b"counter=100 file=100\n"
        assert result.returncode == 0
    assert not rt.cages
    gc.collect()
    assert _open_fds() == fds_before
    assert _shared_mappings() == mappings_before == 0


def test_killing_cages_blocked_on_a_shared_semaphore_ends_their_waits(builds, tmp_path):
    rt = lind.Runtime()
    out_r, out_w = os.pipe()
    parent = rt.spawn(builds.wasm("shm_cycles"), ["block"], root=str(tmp_path), stdout=out_w)
    os.close(out_w)
    with os.fdopen(out_r, "rb") as out:
        assert out.readline() == b"waiting\n"
    for _ in range(6000):   # until parent and child both sleep in futex(FUTEX_WAIT)
        tree = rt.tree(parent)
        if len(tree) == 2 and all(c.slot.futex_waiters for c in tree):
            break
        time.sleep(0.01)
    else:
        pytest.fail("the cages never blocked on the semaphore")
    for cage in tree:
        cage.terminate()
    for cage in tree:
        assert cage.wait(60) == signal.SIGKILL
    assert not any(cage.slot.futex_waiters for cage in tree)
    assert _shared_mappings() == 0


def test_a_wasm_grate_shares_mappings_with_its_child(builds, tmp_path):
    result = lind.run([builds.wasm("shm_grate")], root=tmp_path, capture_output=True, timeout=60)
    assert result.stdout == (b"MAP_SHARED in a grate: written by the child\n"
                             b"MAP_PRIVATE in a grate: mapped\n")
    assert result.returncode == 0
