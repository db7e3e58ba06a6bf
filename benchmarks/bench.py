"""Lind beside native Linux, measured in one run on one machine; reported as ratios.

Each benchmark is a C program built twice (zig's clang -O2 natively, `lind cc -O2` for a cage)
that times its own inner loop and prints nanoseconds per operation, so process and
cage start-up stay out of the per-call figures. Run through `lind bench`.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs"
BUILD = HERE / ".build"
RESULTS = HERE / "results"


@dataclass(frozen=True)
class Bench:
    name: str
    program: str
    args: tuple[str, ...]
    target: float | None  # ratio to native the project aims for (or ns, for "startup")
    quick_n: int
    full_n: int
    kind: str = "loop"    # loop: the program times itself; startup: timed from outside
    grates: tuple[str, ...] = ()  # "c:answer", "c:forward", "py:answer", "py:forward", top first


BENCHES = [
    Bench("geteuid", "syscall_loop", ("geteuid",), 1.5, 200_000, 2_000_000),
    Bench("getpid", "syscall_loop", ("getpid",), 1.5, 200_000, 2_000_000),
    Bench("close(-1)", "syscall_loop", ("close",), 1.0, 200_000, 2_000_000),
    Bench("open+close", "fileio_loop", ("open", "0"), None, 5_000, 50_000),
    Bench("read 1 B", "fileio_loop", ("read", "1"), None, 50_000, 500_000),
    Bench("read 4 KiB", "fileio_loop", ("read", "4096"), 1.5, 50_000, 500_000),
    Bench("read 64 KiB", "fileio_loop", ("read", "65536"), None, 10_000, 100_000),
    Bench("read 1 MiB", "fileio_loop", ("read", "1048576"), None, 500, 5_000),
    Bench("write 1 B", "fileio_loop", ("write", "1"), None, 50_000, 500_000),
    Bench("write 4 KiB", "fileio_loop", ("write", "4096"), None, 50_000, 500_000),
    Bench("write 64 KiB", "fileio_loop", ("write", "65536"), None, 10_000, 100_000),
    Bench("write 1 MiB", "fileio_loop", ("write", "1048576"), None, 500, 5_000),
    Bench("fork+exit+wait", "proc_loop", ("fork",), 1.0, 100, 1_000),
    Bench("fork+exec+wait", "proc_loop", ("forkexec",), None, 50, 500),
    Bench("pipe round trip 1 B", "proc_loop", ("pingpong", "1"), 0.5, 2_000, 20_000),
    Bench("pipe round trip 4 KiB", "proc_loop", ("pingpong", "4096"), 0.5, 2_000, 20_000),
    Bench("pipe round trip 64 KiB", "proc_loop", ("pingpong", "65536"), 0.5, 500, 5_000),
    Bench("pipe stream 64 KiB", "proc_loop", ("stream", "65536"), None, 1_000, 10_000),
    Bench("futex round trip", "futex_loop", ("pingpong",), None, 2_000, 20_000),
    Bench("fib(27)", "compute", ("fib",), 1.2, 20, 200),
    Bench("memcpy 1 MiB", "compute", ("memcpy",), None, 500, 5_000),
    Bench("malloc/free", "compute", ("malloc",), None, 200_000, 2_000_000),
    Bench("geteuid, 1 C grate answers", "syscall_loop", ("geteuid",), 2.0, 200_000, 2_000_000,
          grates=("c:answer",)),
    Bench("geteuid, 1 Python grate answers", "syscall_loop", ("geteuid",), None, 50_000, 500_000,
          grates=("py:answer",)),
    *[Bench(f"geteuid, {n} C grate{'s' * (n > 1)} forward", "syscall_loop", ("geteuid",), None,
            50_000, 500_000, grates=("c:forward",) * n) for n in (1, 2, 4)],
    *[Bench(f"geteuid, {n} Python grate{'s' * (n > 1)} forward", "syscall_loop", ("geteuid",),
            None, 50_000, 500_000, grates=("py:forward",) * n) for n in (1, 2, 4)],
    Bench("hello, warm, lind.run", "hello", ("warm", "api"), 2e6, 20, 100, "startup"),
    Bench("hello, cold, lind.run", "hello", ("cold", "api"), None, 1, 3, "startup"),
    Bench("hello, warm, lind run", "hello", ("warm", "cli"), None, 5, 20, "startup"),
    Bench("hello, cold, lind run", "hello", ("cold", "cli"), None, 1, 3, "startup"),
]


def build(program: str) -> tuple[Path, Path]:
    src = PROGRAMS / f"{program}.c"
    native = BUILD / f"{program}.native"
    wasm = build_wasm(program)
    if not native.exists() or native.stat().st_mtime < src.stat().st_mtime:
        # The same compiler as lind cc (zig's clang), so the ratio isolates the sandbox.
        subprocess.run([sys.executable, "-m", "ziglang", "cc", "-O2", "-o", str(native), str(src),
                        "-lm"], check=True)
    return native, wasm


def build_wasm(program: str) -> Path:
    BUILD.mkdir(exist_ok=True)
    src = PROGRAMS / f"{program}.c"
    wasm = BUILD / f"{program}.wasm"
    if not wasm.exists() or wasm.stat().st_mtime < src.stat().st_mtime:
        subprocess.run([sys.executable, "-m", "lind", "cc", "-O2", str(src), "-o", str(wasm)],
                       check=True)
    return wasm


def _ns_per_op(output: bytes, what: str) -> float:
    try:
        return float(output.decode().split()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"lind bench: {what} printed no figure: {output!r}") from None


def _startup(bench: Bench, native: Path, wasm: Path, n: int) -> dict[str, list[float]]:
    """Time to run hello to completion: native exec vs a cage, warm or cold cache."""
    import tempfile

    import lind
    from lind.cage import loader

    temperature, via = bench.args
    samples: dict[str, list[float]] = {"native": [], "lind": []}
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([str(native)], capture_output=True, check=True)
        samples["native"].append((time.perf_counter() - t) * 1e9)
    for _ in range(n):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ)
            if temperature == "cold":
                env["LIND_CACHE"] = cache
                os.environ["LIND_CACHE"] = cache
                loader.forget_compiled()
            try:
                t = time.perf_counter()
                if via == "api":
                    lind.run([wasm], capture_output=True, root=str(BUILD), check=True)
                else:
                    subprocess.run([sys.executable, "-m", "lind", "run", "--root", str(BUILD),
                                    str(wasm)], capture_output=True, check=True, env=env)
                samples["lind"].append((time.perf_counter() - t) * 1e9)
            finally:
                if temperature == "cold":
                    os.environ.pop("LIND_CACHE", None)
    return samples


def _grate_stack(bench: Bench, command: list) -> tuple[list, list]:
    """The command line and Python grates that put `bench.grates` around `command`."""
    from lind.grates import Call, Grate, handles

    class Euid(Grate):
        def __init__(self, forward: bool) -> None:
            self.forwarding = forward

        @handles("geteuid")
        def geteuid(self, call: Call) -> int:
            return call.forward() if self.forwarding else 0

    prefix, python = [], []
    for spec in bench.grates:
        lang, mode = spec.split(":")
        if lang == "c":
            prefix = [str(build_wasm("grate_euid")), mode, *prefix]
        else:
            python.append(Euid(mode == "forward"))
    return prefix + command, python


def measure(bench: Bench, reps: int, quick: bool) -> dict[str, list[float]]:
    import lind

    native, wasm = build(bench.program)
    if bench.kind == "startup":
        if bench.args[0] == "warm":  # one run to fill the caches
            lind.run([wasm], capture_output=True, root=str(BUILD))
        return _startup(bench, native, wasm, bench.quick_n if quick else bench.full_n)
    n = str(bench.quick_n if quick else bench.full_n)
    samples: dict[str, list[float]] = {"native": [], "lind": []}
    for _ in range(reps):
        out = subprocess.run([str(native), *bench.args, n], capture_output=True, check=True,
                             cwd=BUILD)
        samples["native"].append(_ns_per_op(out.stdout, f"{bench.name} native"))
        command, python_grates = _grate_stack(bench, [str(wasm), *bench.args, n])
        res = lind.run(command, capture_output=True, root=str(BUILD), grates=python_grates)
        if res.returncode:
            raise SystemExit(f"lind bench: {bench.name} failed in a cage: {res.stderr.decode()}")
        samples["lind"].append(_ns_per_op(res.stdout, f"{bench.name} in a cage"))
    return samples


def _fmt(values: list[float]) -> str:
    med = statistics.median(values)
    spread = (max(values) - min(values)) / med * 100 if med else 0.0
    return f"{med:,.1f} ns ±{spread:.0f}%"


def _target(bench: Bench, s: dict[str, list[float]]) -> tuple[str, str]:
    """The target as text, and whether this run meets it."""
    if bench.target is None:
        return "", ""
    lind_ns = statistics.median(s["lind"])
    if bench.kind == "startup":
        return f"≤ {bench.target / 1e6:g} ms", "yes" if lind_ns <= bench.target else "no"
    ratio = lind_ns / statistics.median(s["native"])
    return f"≤ {bench.target}×", "yes" if ratio <= bench.target else "no"


def report(rows: list[tuple[Bench, dict[str, list[float]]]], trampoline: str,
           memory: dict[str, float] | None) -> str:
    lines = [
        f"# Lind benchmarks — {datetime.date.today().isoformat()}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}; 3i trampoline: {trampoline}.",
        "Median per operation over the repetitions (± is max−min over the median); "
        "ratio = Lind / native, same run.",
        "",
        "| benchmark | native | Lind | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for bench, s in rows:
        ratio = statistics.median(s["lind"]) / statistics.median(s["native"])
        target, met = _target(bench, s)
        lines.append(f"| {bench.name} | {_fmt(s['native'])} | {_fmt(s['lind'])} | "
                     f"{ratio:.2f}× | {target} | {met} |")
    if memory:
        lines += [
            "",
            "| memory | figure |",
            "|---|---|",
            f"| host memory per idle cage (RSS growth, {memory['sample']:.0f} cages) | "
            f"{memory['per_cage_kib']:,.0f} KiB |",
            f"| cages held at once by one process | {memory['held']:.0f}"
            f"{' (stopped at the cap)' if memory['capped'] else ' (then: ' + memory['error'] + ')'} |",
        ]
    return "\n".join(lines) + "\n"


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def measure_memory(quick: bool) -> dict[str, float]:
    """RSS per idle cage, and how many idle cages one process holds (up to a cap)."""
    import lind

    _, wasm = build("idle")
    cap = 300 if quick else 3000
    rt = lind.Runtime(max_cages=cap + 1)
    gates: list[int] = []
    cages = []
    error = ""
    sample = 50
    before = _rss_kib()
    per_cage = 0.0
    sink = os.open(os.devnull, os.O_WRONLY)
    try:
        while len(cages) < cap:
            r, w = os.pipe()
            try:
                cages.append(rt.spawn(wasm, root=str(BUILD), stdin=r, stdout=sink))
            except Exception as exc:  # noqa: BLE001 - the limit we are looking for
                error = str(exc) or type(exc).__name__
                os.close(r)
                os.close(w)
                break
            os.close(r)
            gates.append(w)
            if len(cages) == sample:
                time.sleep(0.2)
                per_cage = (_rss_kib() - before) / sample
    finally:
        held = len(cages)
        os.close(sink)
        for w in gates:
            os.close(w)
        for c in cages:
            c.wait(30)
    return {"per_cage_kib": per_cage, "sample": sample, "held": held,
            "capped": float(held >= cap), "error": error}


def chart(rows: list[tuple[Bench, dict[str, list[float]]]], out: Path) -> None:
    """Ratios to native as horizontal bars (log scale), targets as marks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [b.name for b, _ in rows]
    ratios = [statistics.median(s["lind"]) / statistics.median(s["native"]) for _, s in rows]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.2))
    colors = ["#3b7dd8" if r <= 1 else "#d8843b" for r in ratios]
    ax.barh(names, ratios, color=colors)
    for i, (b, _) in enumerate(rows):
        if b.target is not None and b.kind != "startup":
            ax.plot([b.target, b.target], [i - 0.4, i + 0.4], color="black", linewidth=2)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("time in a Lind cage / time native (log scale; black marks: targets)")
    ax.set_title("Lind vs native Linux, same machine, same run")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lind bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (< 2 minutes)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per benchmark")
    parser.add_argument("--fallback", action="store_true",
                        help="use the ctypes trampoline instead of the C one")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file to write")
    opts = parser.parse_args(argv)
    if opts.fallback:
        os.environ["LIND_TRAMPOLINE"] = "ctypes"
    chosen = [b for b in BENCHES if not opts.names or b.name in opts.names]
    unknown = set(opts.names) - {b.name for b in BENCHES} - {"memory"}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; "
                     f"known: {', '.join(b.name for b in BENCHES)}, memory")
    from lind import threei

    reps = opts.reps or (3 if opts.quick else 7)
    rows = []
    for bench in chosen:
        print(f"lind bench: {bench.name} ...", file=sys.stderr)
        rows.append((bench, measure(bench, reps, opts.quick)))
    memory = None
    if not opts.names or "memory" in opts.names:
        print("lind bench: memory ...", file=sys.stderr)
        memory = measure_memory(opts.quick)
    text = report(rows, "C" if threei.ACCELERATED else "ctypes fallback", memory)
    print(text)
    out = opts.out or RESULTS / "latest.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    png = out.with_suffix(".png")
    if rows:
        chart(rows, png)
    print(f"lind bench: wrote {out}" + (f" and {png}" if rows else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
