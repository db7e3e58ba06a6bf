"""The conformance run: every C program in tests/programs/conformance/ is built with gcc
and with `lind cc -O2`, run natively and in a cage (each in an empty directory of its
own), and the two outputs and statuses must be equal.

Each program checks one area where a cage once differed from Linux and prints what it
observed (errnos by number: musl's and glibc's strerror texts differ). Add a program
to the directory and it is part of the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import lind
from lind.grates import Call, Grate, syscall_numbers

CONFORMANCE = sorted(p.stem for p in (Path(__file__).parent / "programs" / "conformance").glob("*.c"))


def _compare_with_native(builds, tmp_path, name: str, grates: list | None = None,
                         backend: str = "host") -> None:
    """Run conformance program `name` natively and in a cage, each in an empty directory
    of its own, and require the same output and success."""
    (tmp_path / "native").mkdir()
    (tmp_path / "cage").mkdir()
    native = subprocess.run([builds.native(f"conformance/{name}")], cwd=tmp_path / "native",
                            capture_output=True, timeout=60)
    caged = lind.run([builds.wasm(f"conformance/{name}")], root=tmp_path / "cage",
                     capture_output=True, timeout=60, grates=grates or [], backend=backend)
    assert native.returncode == 0, native.stderr
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == 0, caged.stderr


@pytest.mark.parametrize("name", CONFORMANCE)
def test_matches_native(builds, tmp_path, name):
    _compare_with_native(builds, tmp_path, name)


# What the portable back end (lind.portable) cannot give, and why; the rest must match.
_NOT_PORTABLE = {
    "fallocate_modes": "fallocate takes mode 0 alone there (EOPNOTSUPP): its files have "
                       "no holes to punch or blocks to keep past the end",
    "file_modes": "statfs names the tree a tmpfs, and files are not sparse (a write at "
                  "5 GiB is ENOSPC: the hole would take the memory)",
    "inotify": "watches see the host's files, not the tree's",
    "inotify_creates": "watches see the host's files, not the tree's",
    "madvise_calls": "madvise is a hint there: no advice changes the memory",
    "memory_calls": "MAP_SHARED of a file in the tree (ENODEV)",
    "memory_flags": "MAP_SHARED of a file in the tree (ENODEV)",
    "memory_ranges": "MAP_SHARED of a file in the tree (ENODEV)",
    "net_unix": "a file of the tree cannot pass through SCM_RIGHTS (no host fd)",
    "passed_o_path": "a file of the tree cannot pass through SCM_RIGHTS (no host fd)",
    "posix_timers": "POSIX timers are the host back end's (host timerfds)",
    "pseudo_terminals": "pseudo-terminals are the host back end's (host /dev/ptmx)",
    "sparse_and_flags": "its files have no holes (SEEK_DATA finds data at 0)",
    "process_edges": "MAP_SHARED of a file in the tree (ENODEV)",
    "shared_offsets": "MAP_SHARED of a file in the tree (ENODEV)",
    "splice_calls": "splice and tee are the host kernel's, between host fds",
    "time_zones": "its tree holds the time zone database only if the root or a mount "
                  "gives one (the host back end adds the host's)",
}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.skip(reason=f"portable back end: {_NOT_PORTABLE[n]}"))
    if n in _NOT_PORTABLE else n for n in CONFORMANCE])
def test_matches_native_on_the_portable_back_end(builds, tmp_path, name):
    _compare_with_native(builds, tmp_path, name, backend="portable")


def test_a_program_named_outside_its_root_can_exec_itself_by_argv0(builds, tmp_path):
    program = builds.wasm("posix/reexec")
    (tmp_path / "root").mkdir()
    caged = lind.run([program], root=tmp_path / "root", capture_output=True, timeout=60)
    assert caged.stdout == f"argv0={program.name} argc=1\nargv0={program.name} argc=2\n".encode()
    assert caged.returncode == 0


def test_opens_on_a_read_only_mount_answer_as_on_a_read_only_file_system(builds, tmp_path):
    """Linux looks the name up before it refuses the write: ENOENT (2) for a missing
    file opened for writing, EROFS (30) for a write or a creation; O_CREAT without a
    write opens an existing file. access() answers alike (EACCES, 13: a 0644 file does
    not run)."""
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "f").write_text("x\n")
    (tmp_path / "root").mkdir()
    caged = lind.run([builds.wasm("posix/ro_opens")], root=tmp_path / "root",
                     mounts=[f"{tmp_path / 'ro'}:/ro:ro"], capture_output=True, timeout=60)
    assert caged.stdout == (b"wronly missing: 2\ncreat missing: 30\nrdonly creat existing: 0\n"
                            b"wronly existing: 30\nwronly in missing dir: 2\n"
                            b"access W_OK: 30\naccess R_OK|W_OK: 30\naccess R_OK: 0\n"
                            b"access X_OK: 13\naccess W_OK missing: 2\n")


class _ThroughPython(Grate):
    """Forwards every file and I/O call unchanged to the layer below: the microvisor's
    Python handler, where the C trampoline would otherwise answer (reads and writes of
    host files, lseek, fstat...). Those Python paths must give Linux's answers too."""

    name = "through-python"
    _KEPT_FAST = {"fork", "vfork", "clone", "clone3", "execve", "execveat", "exit",
                  "exit_group", "rt_sigreturn"}

    def handlers(self) -> dict[int, Callable[[Call], int]]:
        return {nr: self.forward for name, nr in syscall_numbers().items()
                if nr < 1000 and name not in self._KEPT_FAST}

    def forward(self, call: Call) -> int:
        return call.forward()


_FILE_PROGRAMS = ["file_calls", "file_edges", "file_modes", "fifo_opens", "path_edges",
                  "path_limits", "events"]


@pytest.mark.parametrize("name", _FILE_PROGRAMS)
def test_python_handlers_match_native(builds, tmp_path, name):
    """The file programs again, every call through the microvisor's Python handlers."""
    _compare_with_native(builds, tmp_path, name, grates=[_ThroughPython()])


@pytest.mark.parametrize("trampoline", ["accel", "ctypes"])
def test_sleeps_match_native_on_both_trampolines(builds, tmp_path, trampoline):
    """Sleeps wait in the C trampoline until a signal wakes them, then the handler goes
    on to the same deadline; the ctypes trampoline sleeps in the handler throughout."""
    native = subprocess.run([builds.native("conformance/sleeps")], capture_output=True,
                            timeout=60)
    env = {**os.environ, "LIND_TRAMPOLINE": trampoline, "LIND_NO_SERVER": "1"}
    caged = subprocess.run([sys.executable, "-m", "lind", "run", "--root", str(tmp_path),
                            str(builds.wasm("conformance/sleeps"))], capture_output=True,
                           timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert native.returncode == 0 and caged.returncode == 0, caged.stderr
    assert caged.stdout.decode() == native.stdout.decode()
