"""Before/after of a change to the host's checks of cage memory, interleaved.

Every system call's host access to a cage's memory goes through Memory's bounds check
(Python handlers) or the C trampoline's (fast entries). Two source trees of Lind, each
with its C trampoline built in place (`setup.py build_ext --inplace`), are run in turn,
ROUNDS times, A B A B...: each run is a fresh process importing that tree's lind, so
both see the same machine load over the same minutes. Rows: calls served in C
(clock_gettime writes a struct, read of a host file, readv/writev: memory_in_bounds),
Python ones through Memory (getcwd, uname), and Memory.read/view from Python: those
two in one process that loads both trees' C trampolines, alternating, since a
difference of a few ns drowns in the spread between processes.

    python benchmarks/ab_memory_check.py BEFORE_TREE AFTER_TREE [ROUNDS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <fcntl.h>
#include <unistd.h>
#include "loop.h"

int main(int argc, char **argv) {
    long n = atol(argv[2]);
    char buf[256];
    struct timespec t;
    struct utsname u;
    int fd = open("bench.dat", O_CREAT | O_RDWR | O_TRUNC, 0644);
    pwrite(fd, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64, 0);
    struct iovec v[2] = {{buf, 16}, {buf + 64, 16}};
    long long start = now_ns();
    for (long i = 0; i < n; i++) {
        if (!strcmp(argv[1], "clock")) clock_gettime(CLOCK_MONOTONIC, &t);
        else if (!strcmp(argv[1], "pread")) pread(fd, buf, 64, 0);
        else if (!strcmp(argv[1], "preadv")) preadv(fd, v, 2, 0);
        else if (!strcmp(argv[1], "getcwd")) getcwd(buf, sizeof buf);
        else if (!strcmp(argv[1], "uname")) uname(&u);
    }
    printf("%.1f ns\n", (double)(now_ns() - start) / n);
    return 0;
}
"""

CAGE = r"""
import sys, lind
r = lind.run(sys.argv[1:], root=".", capture_output=True, timeout=120)
sys.stdout.write(r.stdout.decode())
"""

# Both trees' _accel in this one process: argv = op, n, rounds, before .so, after .so.
# Prints one line per round: the before and after ns per call.
PYTHON = r"""
import importlib.machinery, importlib.util, sys, time
op, n, rounds, *paths = sys.argv[1:]
n, rounds = int(n), int(rounds)

def load(path):
    loader = importlib.machinery.ExtensionFileLoader("_accel", path)
    module = importlib.util.module_from_spec(
        importlib.util.spec_from_file_location("_accel", path, loader=loader))
    loader.exec_module(module)
    return module.Memory.snapshot(bytes(1 << 16), 4096)

memories = [load(p) for p in paths]
for _ in range(rounds):
    line = []
    for m in memories:
        call = m.read if op == "read" else m.view
        start = time.perf_counter_ns()
        for _ in range(n):
            call(8192, 64)
        line.append(f"{(time.perf_counter_ns() - start) / n:.1f}")
    print(*line)
"""

ROWS = [("clock_gettime (C: a struct written)", "cage", "clock", 200_000),
        ("pread 64 B host file (C)", "cage", "pread", 200_000),
        ("preadv 2x16 B host file (C: iovecs)", "cage", "preadv", 200_000),
        ("getcwd (Python handler, Memory)", "cage", "getcwd", 50_000),
        ("uname (Python handler, Memory)", "cage", "uname", 50_000),
        ("Memory.read(64) from Python", "python", "read", 200_000),
        ("Memory.view(64) from Python", "python", "view", 200_000)]


def main() -> None:
    before, after = (Path(p).resolve() for p in sys.argv[1:3])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    work = Path(tempfile.mkdtemp(prefix="ab-memory-"))
    (work / "prog.c").write_text(PROGRAM)
    wasm = work / "prog.wasm"
    subprocess.run([sys.executable, "-m", "lind", "cc", "-O2", f"-I{HERE / 'programs'}",
                    str(work / "prog.c"), "-o", str(wasm)], check=True)
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for row, kind, op, n in ROWS:
            if kind != "cage":
                continue
            for name, tree in (("before", before), ("after", after)):
                env = {**os.environ, "PYTHONPATH": str(tree / "src")}
                out = subprocess.run([sys.executable, "-c", CAGE, str(wasm), op, str(n)],
                                     env=env, cwd=work, capture_output=True, text=True,
                                     timeout=300, check=True).stdout
                times.setdefault((row, name), []).append(float(out.split()[0]))
    accel = [str(next((tree / "src/lind/threei").glob("_accel*.so"))) for tree in (before, after)]
    for row, kind, op, n in ROWS:
        if kind == "cage":
            continue
        out = subprocess.run([sys.executable, "-c", PYTHON, op, str(n), str(3 * rounds), *accel],
                             capture_output=True, text=True, timeout=600, check=True).stdout
        for line in out.splitlines():
            a, b = line.split()
            times.setdefault((row, "before"), []).append(float(a))
            times.setdefault((row, "after"), []).append(float(b))
    print(f"{'row':42} {'before ns':>10} {'after ns':>10} {'change':>8} {'of the best':>12}"
          "   (median of the interleaved runs; then the best run's)")
    for row, *_ in ROWS:
        a, b = (statistics.median(times[(row, k)]) for k in ("before", "after"))
        low_a, low_b = (min(times[(row, k)]) for k in ("before", "after"))
        print(f"{row:42} {a:10.1f} {b:10.1f} {100 * (b - a) / a:+7.1f}% "
              f"{100 * (low_b - low_a) / low_a:+11.1f}%")


if __name__ == "__main__":
    main()
