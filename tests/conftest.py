"""Shared fixtures: build C programs once per session, with `lind cc` and with gcc."""

from __future__ import annotations

import shutil
import subprocess
import sys
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
