"""Measure the system calls the Lind process makes, for `lind run --isolate`'s filter.

`python tests/isolation_calls.py` builds the programs below with `lind cc -O2`, runs each
with `lind run` under `strace -f` (every process and thread: Lind, its compiler threads,
the private network's helper), the first run with an empty module cache so compiling
is measured too, and writes src/lind/isolation/lind_calls.txt: every call seen, with
its number, plus the few in EXTRA (paths the programs rarely reach, each with why).
Run it again when Lind starts using a call it did not (a Lind isolated by a filter
that misses one is killed with SIGSYS, which the --isolate tests would show).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
OUT = TESTS.parent / "src" / "lind" / "isolation" / "lind_calls.txt"

# (program, lind run options, program arguments): files, memory, signals, processes,
# threads, sockets on each network, System V IPC, futexes, grates in C and Python.
RUNS = [
    ("conformance/file_calls", [], []), ("conformance/file_edges", [], []),
    ("conformance/file_modes", [], []), ("conformance/fifo_opens", [], []),
    ("conformance/path_edges", [], []), ("conformance/inotify", [], []),
    ("conformance/events", [], []), ("conformance/memory_calls", [], []),
    ("conformance/memory_flags", [], []), ("conformance/shared_offsets", [], []),
    ("conformance/futex_keys", [], []), ("conformance/sysv_ipc", [], []),
    ("conformance/signal_calls", [], []), ("conformance/signal_edges", [], []),
    ("conformance/signal_more", [], []), ("conformance/process_edges", [], []),
    ("conformance/handler_fork", [], []), ("conformance/jmpbuf_copies", [], []),
    ("conformance/net_tcp", [], []), ("conformance/net_unix", [], []),
    ("conformance/net_waits", [], []), ("conformance/net_tcp", ["--net", "host"], []),
    ("conformance/net_unix", ["--net", "none"], []),
    *((f"conformance/{name}", [], []) for name in (
        "event_edges", "memfd_seals", "memory_ranges", "mutex_kinds",
        "net_many", "path_limits", "posix_timers", "read_waits", "signal_held", "sleeps")),
    ("threads/basics", [], []), ("threads/thread_signals", [], []),
    ("threads/cancel", [], []), ("threads/fork_exec", [], []),
    ("pipeline", [], []), ("forks", [], []), ("locks", [], []),
    ("conformance/file_calls", ["--grate", "strace"], []),
    ("conformance/file_calls", ["--grate", "imfs:/tmp"], []),
    ("conformance/file_calls", ["--grate", "readonly"], []),
    ("isolation/probe", ["--memory", "16M"], []),
]

# Calls Lind makes on paths the programs above rarely or never take.
EXTRA = {
    "exit": "a host thread ending",
    "exit_group": "Lind ending",
    "rt_sigreturn": "returning from a host signal handler",
    "restart_syscall": "a host call restarted after a signal",
    "tgkill": "Python's faulthandler and a thread's signal",
    "kill": "signals to the private network's helper",
    "wait4": "reaping the private network's helper",
    "clock_nanosleep": "time.sleep",
    "clock_gettime": "a cage's CPU time asked from another thread (a thread's CPU clock is "
                     "no vDSO clock)",
    "getrandom": "os.urandom, random seeds",
    "preadv2": "a read of a pipe without waiting (RWF_NOWAIT), which the runs may not reach",
    "mincore": "which pages of an ended cage's memory are resident, when a fork reuses it",
    "splice": "a cage's splice, made by the host between the files it holds",
    "tee": "a cage's tee between two of its pipes",
    "syncfs": "a cage's sync or syncfs, of the file systems of its mounts",
    "clock_getres": "the resolution of a CPU-time clock (the vDSO answers the others)",
    "faccessat": "faccessat with AT_EACCESS (os.access with effective_ids)",
    "faccessat2": "faccessat with AT_EACCESS, as glibc makes it",
    "capget": "whether Lind holds the permission overrides a cage that is not root must "
              "not use (threei; an isolated Lind holds none, so it never calls capset)",
}


def _build(name: str, into: Path) -> Path:
    out = into / f"{name.replace('/', '-')}.wasm"
    subprocess.run([sys.executable, "-m", "lind", "cc", "-O2", str(TESTS / "programs" / f"{name}.c"),
                    "-o", str(out)], check=True)
    return out


def _traced(run: int, program: Path, options: list[str], args: list[str], work: Path,
            env: dict[str, str]) -> set[str]:
    log = work / f"strace-{run}.txt"
    root = work / f"root-{run}"
    root.mkdir()
    with open(work / f"stdout-{run}", "wb") as out:
        subprocess.run(["strace", "-f", "-qq", "-o", str(log), sys.executable, "-m", "lind", "run",
                        "--root", str(root), "--timeout", "120", *options, str(program), *args],
                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                       cwd=work)
    names = set()
    for line in log.read_text(errors="replace").splitlines():
        found = re.match(r"\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
        if found and not line.split(None, 1)[1].startswith(("---", "+++")):
            names.add(found[1])
    return names


def main() -> None:
    from lind.grates import syscall_numbers

    numbers = syscall_numbers()
    seen: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        builds = {name: _build(name, work) for name in {name for name, _, _ in RUNS}}
        # The first runs compile. A run starts a start-up server, which strace -f follows:
        # it must end soon after its run (its calls are measured too) for strace to end.
        env = dict(os.environ, LIND_CACHE=str(work / "cache"), LIND_SERVER_IDLE="1")
        for i, (name, options, args) in enumerate(RUNS):
            seen |= _traced(i, builds[name], options, args, work, env)
            print(f"{name} {' '.join(options)}: {len(seen)} calls so far", flush=True)
    unknown = sorted(n for n in seen if n not in numbers)
    calls = sorted((seen | set(EXTRA)) & set(numbers), key=numbers.__getitem__)
    lines = ["# System calls `lind run --isolate` lets the Lind process make (seccomp, x86_64).",
             f"# Measured by tests/isolation_calls.py: strace -f of {len(RUNS)} lind runs, plus",
             "# the calls EXTRA there names. NAME NUMBER, one a line.",
             *(f"{name} {numbers[name]}" for name in calls)]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{OUT}: {len(calls)} calls" + (f" (strace names not in the table: {unknown})" if unknown else ""))


if __name__ == "__main__":
    main()
