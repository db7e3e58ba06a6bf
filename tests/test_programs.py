"""Real C programs, built with `lind cc` and with gcc: output and status must match."""

from __future__ import annotations

import os
import subprocess

import pytest

import lind

COMPARED = [
    ("args_env", ["7", "two words", "three"]),
    ("files", []),
    ("opens", []),
    ("dirs", []),
    ("heap", []),
    ("clock", []),
    ("numbers", []),
    ("decimal_numbers", []),   # strtod's own fast path beside musl's scanner
    ("number_formats", []),    # printf's doubles formatted in double, long doubles in long double
    ("integer_formats", []),   # printf's integers, strings and characters in one pass
    ("scan_formats", []),      # sscanf's common case read straight from the string
    ("strings", []),   # the guest's word-at-a-time scans, to the end of memory
]


def run_native(binary, args, cwd, env=None, input=None):
    return subprocess.run([str(binary), *args], cwd=cwd, env=env or {}, input=input,
                          capture_output=True, timeout=60)


@pytest.mark.parametrize(("name", "args"), COMPARED, ids=[c[0] for c in COMPARED])
def test_matches_native(builds, tmp_path, name, args):
    env = {"GREETING": "hi there"}
    (tmp_path / "native").mkdir()
    (tmp_path / "cage").mkdir()
    native = run_native(builds.native(name), args, tmp_path / "native", env)
    caged = lind.run([builds.wasm(name), *args], root=tmp_path / "cage", env=env,
                     capture_output=True, timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode
    assert b"FAIL" not in caged.stdout


def test_stdin_and_stderr(builds, tmp_path):
    data = b"alpha\nbeta\ngamma\n"
    native = run_native(builds.native("stdin_echo"), [], tmp_path, input=data)
    caged = lind.run([builds.wasm("stdin_echo")], input=data, capture_output=True, timeout=60)
    assert caged.stdout == native.stdout == b"1: alpha\n2: beta\n3: gamma\n"
    assert caged.stderr == native.stderr == b"lines=3 tty=0\n"


@pytest.mark.parametrize("how", ["segv", "stack", "abort", "trap", "div", "kill", "ignored"])
def test_traps_and_signals_end_only_the_cage(builds, tmp_path, how):
    native = run_native(builds.native("traps"), [how], tmp_path)
    caged = lind.run([builds.wasm("traps"), how], capture_output=True, timeout=60)
    assert caged.returncode == native.returncode
    assert caged.stdout == native.stdout


def test_spinning_cage_is_killed_by_timeout(builds, no_cage_left):
    with pytest.raises(subprocess.TimeoutExpired):
        lind.run([builds.wasm("traps"), "spin"], timeout=0.5)
    no_cage_left()   # really stopped: no thread of it left, no CPU burnt


def test_escape_attempts_fail(builds, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    os.symlink(secret, root / "abs_link")
    os.symlink("../secret.txt", root / "rel_link")
    os.symlink(str(tmp_path), root / "dir_link")
    result = lind.run([builds.wasm("escape"), str(secret)], root=root, capture_output=True,
                      timeout=60)
    out = result.stdout.decode()
    assert result.returncode == 0, out
    assert "ESCAPED" not in out
    assert "tried=11 escaped=0" in out
    for line in ("read into bad pointer: -1 Bad address",
                 "write from bad pointer: -1 Bad address",
                 "write huge length: -1 Bad address",
                 "open bad path pointer: -1 Bad address",
                 "stat into bad pointer: -1 Bad address",
                 "open overlong path: -1 Filename too long",
                 "close bogus fd: -1 Bad file descriptor"):
        assert line in out
    # What the cage planted stayed inside its root.
    assert os.readlink(root / "made_link") == "../secret.txt"
    assert secret.read_text() == "SECRET\n"


def test_many_cages_at_once(builds, tmp_path):
    rt = lind.Runtime()
    sink = os.open(os.devnull, os.O_WRONLY)
    try:
        cages = [rt.spawn(builds.wasm("args_env"), [str(i)], root=str(tmp_path), stdout=sink)
                 for i in range(8)]
        assert [c.wait(60) for c in cages] == [i << 8 for i in range(8)]
    finally:
        os.close(sink)
    assert len({c.id for c in cages}) == 8
