"""Shared fixtures: build C programs once per session, with `lind cc` and with gcc."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent / "programs"


class Builds:
    """Compiled test programs, cached per session: one .wasm and one native binary each."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def wasm(self, name: str, *flags: str) -> Path:
        out = self.root / f"{name.replace('/', '-')}{'-'.join(flags)}.wasm"
        if not out.exists():
            proc = subprocess.run(
                [sys.executable, "-m", "lind", "cc", "-O2", *flags, str(PROGRAMS / f"{name}.c"),
                 "-o", str(out)], capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
        return out

    def native(self, name: str) -> Path:
        out = self.root / f"{name.replace('/', '-')}.native"
        if not out.exists():
            cc = shutil.which("gcc") or shutil.which("cc")
            if cc is None:
                pytest.fail("no host C compiler for the native reference build")
            subprocess.run([cc, "-O2", "-o", str(out), str(PROGRAMS / f"{name}.c"), "-lm"],
                           check=True)
        return out


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    return Builds(tmp_path_factory.mktemp("builds"))


def _cage_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("cage-")}


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


@pytest.fixture
def no_cage_left() -> Callable[[], None]:
    """Call after a run (ended, killed or timed out): fails if a thread of one of its cages
    is still alive, or if the process still burns CPU (a cage or grate handler left
    spinning uses a whole core)."""
    before = _cage_threads()

    def check() -> None:
        assert _cage_threads() - before == set()
        start = _cpu_seconds()
        time.sleep(0.5)
        assert _cpu_seconds() - start < 0.2

    return check
