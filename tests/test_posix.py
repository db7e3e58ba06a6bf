"""POSIX behaviour a cage once got wrong, each program run in a cage and natively.

Every program prints what it observed (errnos by number, since musl's and glibc's
strerror texts differ) and the two outputs must be equal line for line.
"""

from __future__ import annotations

import subprocess

import pytest

import lind

COMPARED = ["posix/process_edges", "posix/signal_edges", "posix/jmpbuf_copies",
            "posix/path_edges"]


@pytest.mark.parametrize("name", COMPARED)
def test_matches_native(builds, tmp_path, name):
    (tmp_path / "native").mkdir()
    (tmp_path / "cage").mkdir()
    native = subprocess.run([builds.native(name)], cwd=tmp_path / "native", capture_output=True,
                            timeout=60)
    caged = lind.run([builds.wasm(name)], root=tmp_path / "cage", capture_output=True, timeout=60)
    assert native.returncode == 0, native.stderr
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == 0, caged.stderr


def test_a_program_named_outside_its_root_can_exec_itself_by_argv0(builds, tmp_path):
    program = builds.wasm("posix/reexec")
    (tmp_path / "root").mkdir()
    caged = lind.run([program], root=tmp_path / "root", capture_output=True, timeout=60)
    assert caged.stdout == f"argv0={program.name} argc=1\nargv0={program.name} argc=2\n".encode()
    assert caged.returncode == 0
