"""Shared fixtures: build C and C++ programs once per session, with `lind cc` (`lind c++`)
and with gcc (g++)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent / "programs"

# `lind run` runs in the process a test starts, not through a start-up server (which
# would outlive the test and be shared between tests), unless the test asks for one
# with the `servers` fixture; test_cli.py runs each of its tests both ways.
os.environ["LIND_NO_SERVER"] = "1"


def left_in(tmpdir: Path) -> list[str]:
    """What runs made with TMPDIR=`tmpdir` left there once they ended: nothing, but the
    home of the private directories they make (lind-private-UID), which stays, empty."""
    home = tmpdir / f"lind-private-{os.geteuid()}"
    inside = [f"{home.name}/{name}" for name in os.listdir(home)] if home.is_dir() else []
    return sorted([name for name in os.listdir(tmpdir) if name != home.name] + inside)


def is_compile_server(pid: int) -> bool:
    """Whether `pid` is a compile server (lind.engine.compiler), which a Lind process or
    a start-up server keeps beside its runs."""
    try:
        return b"compiler import serve" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def source(name: str) -> Path:
    """programs/NAME.c, or programs/NAME.cpp for a C++ program."""
    c = PROGRAMS / f"{name}.c"
    return c if c.exists() else PROGRAMS / f"{name}.cpp"


class Builds:
    """Compiled test programs, cached per session: one .wasm and one native binary each."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _key(self, name: str, *flags: str) -> str:
        """The program's name, flags and a hash of its source and the headers beside it
        that it includes: a cache shared between sessions (LIND_TEST_BUILDS) never
        serves a build of an older source."""
        src = source(name)
        text = src.read_bytes()
        headers = re.findall(rb'^#include "([^"]+)"', text, re.MULTILINE)
        digest = hashlib.sha256(b"".join(
            [text, *((src.parent / h.decode()).read_bytes() for h in headers)])).hexdigest()[:12]
        return f"{name.replace('/', '-')}{'-'.join(flags)}-{digest}"

    def wasm(self, name: str, *flags: str) -> Path:
        out = self.root / f"{self._key(name, *flags)}.wasm"
        if not out.exists():
            part = out.with_suffix(f".{os.getpid()}.part")
            src = source(name)
            driver = "c++" if src.suffix == ".cpp" else "cc"
            proc = subprocess.run(
                [sys.executable, "-m", "lind", driver, "-O2", *flags, str(src),
                 "-o", str(part)], capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
            os.replace(part, out)
        return out

    def wasi(self, name: str) -> Path:
        """programs/wasi/NAME.c built for plain wasm32-wasi (no Lind libc), as other
        WASI toolchains would build it."""
        out = self.root / f"{self._key(f'wasi/{name}')}.wasi.wasm"
        if not out.exists():
            part = out.with_suffix(f".{os.getpid()}.part")
            proc = subprocess.run(
                [sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2", "-s",
                 "-Wall", str(PROGRAMS / "wasi" / f"{name}.c"), "-o", str(part)],
                capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, proc.stderr
            os.replace(part, out)
        return out

    def native(self, name: str, *flags: str) -> Path:
        out = self.root / f"{self._key(name, *flags)}.native"
        if not out.exists():
            src = source(name)
            cxx = src.suffix == ".cpp"
            cc = shutil.which("g++" if cxx else "gcc") or shutil.which("c++" if cxx else "cc")
            if cc is None:
                pytest.fail("no host compiler for the native reference build")
            part = out.with_suffix(f".{os.getpid()}.part")
            std = ["-std=c++17"] if cxx else []
            subprocess.run([cc, "-O2", *std, *flags, "-pthread", "-o", str(part), str(src),
                            "-lm"], check=True)
            os.replace(part, out)
        return out


CANARY = b"canary: nothing a cage does may change this\n"
CANARY_MODE = 0o640


@pytest.fixture
def as_root() -> None:
    """A test of what Lind run as root must keep from a cage that is not (the kernel
    would let Lind's user past the mode bits) and that makes files of other users: the
    suite runs as root (.ci/run), so this fails rather than skips elsewhere."""
    assert os.geteuid() == 0, "this test needs Lind run as root: run the suite as root"


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A file outside every cage's root (roots live in subdirectories of tmp_path), which
    an attack test checks is unchanged afterwards (test_attacks.untouched)."""
    path = tmp_path / "canary.txt"
    path.write_bytes(CANARY)
    path.chmod(CANARY_MODE)
    return path


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    """Per session, or in $LIND_TEST_BUILDS when set (the mutation run sets it, so its
    thousands of short pytest runs compile each program once)."""
    shared = os.environ.get("LIND_TEST_BUILDS")
    if shared:
        Path(shared).mkdir(parents=True, exist_ok=True)
        return Builds(Path(shared))
    return Builds(tmp_path_factory.mktemp("builds"))


@pytest.fixture
def servers(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """`lind run` in this test goes through a start-up server (the one for the test's
    environment, started now, in an XDG_RUNTIME_DIR of the test's own); yields the
    servers' directory. Every server started there is stopped at the end, and waited for."""
    folder = tmp_path_factory.mktemp("xdg-run")
    folder.chmod(0o700)
    monkeypatch.delenv("LIND_NO_SERVER", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    lind = [sys.executable, "-m", "lind", "server"]
    subprocess.run([*lind, "start"], timeout=120, check=True)
    yield folder / f"lind-servers-{os.geteuid()}"
    subprocess.run([*lind, "stop"], timeout=60, check=True)
    deadline = time.monotonic() + 30
    status = ""
    while time.monotonic() < deadline:
        status = subprocess.run([*lind, "status"], capture_output=True, text=True,
                                timeout=60).stdout
        if status == "no server running\n":
            return
        time.sleep(0.1)
    raise AssertionError(f"start-up servers did not stop: {status}")


def _cage_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("cage-")}


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


@pytest.fixture
def no_cage_left() -> Callable[[], None]:
    """Call after a run (ended, killed or timed out): fails if a thread of one of its cages
    is still alive 2 s later, or if the process still burns CPU (a cage or grate handler left
    spinning uses a whole core)."""
    before = _cage_threads()

    def check() -> None:
        # A thread that has told its cage it ended may still be on its last steps (its
        # Store released, its host thread parked and renamed) just after the run returned:
        # milliseconds; a thread held up for seconds is a slow stop, which this still fails.
        deadline = time.monotonic() + 2
        while (left := _cage_threads() - before) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert left == set()
        start = _cpu_seconds()
        time.sleep(0.5)
        assert _cpu_seconds() - start < 0.2

    return check
