"""futex(2) at its edges, written for the mutants of microvisor/sys_futex.py the rest of
the suite let through (see tests/mutation/SUMMARY.md): one program of raw futex calls
(tests/programs/mutants/futex_edges.c) run natively and in Lind, the outputs compared.

The C trampoline answers a cage's FUTEX_WAIT, WAKE and REQUEUE itself; the Python
handler serves the priority-inheritance commands, the argument errors, and every futex
call a grate passes down, so the program runs a second time under a grate that forwards
every call: each path must give Linux's answers.
"""

from __future__ import annotations

import subprocess

import pytest
from test_conformance import _ThroughPython

import lind


@pytest.mark.parametrize("through", ["trampoline", "python"])
def test_futex_calls_at_their_edges_match_linux(builds, tmp_path, through):
    (tmp_path / "native").mkdir()
    (tmp_path / "cage").mkdir()
    native = subprocess.run([builds.native("mutants/futex_edges")], cwd=tmp_path / "native",
                            capture_output=True, input=b"", timeout=60)
    assert native.returncode == 0, native.stderr
    out = native.stdout.decode()
    # the checks really ran: EDEADLK, ESRCH, the hand-over, the timeouts, the counts
    assert "lock own: -35\n" in out and "lock stranger's: -3\n" in out
    assert "the waiter's after the hand-over: owner mine waiters 1 died 0\n" in out
    assert "lock2 other's until monotonic +60 ms: -110, waited 50 ms: 1\n" in out
    assert "wake 1 of 3: 1\nwoken so far: 1\nwake the rest: 2\n" in out
    grates = [_ThroughPython()] if through == "python" else []
    caged = lind.run([builds.wasm("mutants/futex_edges")], root=tmp_path / "cage",
                     capture_output=True, input=b"", timeout=60, grates=grates)
    assert caged.stdout.decode() == out, caged.stderr
    assert caged.returncode == 0, caged.stderr
