"""Fuzz every system-call number with hostile arguments, on both trampolines.

Each example is a batch of calls made by a tiny wasm cage (see syscall_fuzz.py) in a
child Python process: the host must not crash or hang, no handler may raise instead of
returning an errno, and nothing beside the cage's root (a canary file, a canary
directory, a second tree, the cage's inherited stdio files) may change. Calls that can
wait forever are not excluded: each batch runs under a timeout, and reaching it is fine.

LIND_FUZZ_EXAMPLES=N runs N examples per trampoline (default 80, about 40 s each);
LIND_FUZZ_SHRINK=1 lets hypothesis shrink a failure to its smallest batch (slow). Under
CI (CI set) the examples are the same every run, so a red build names a known batch;
elsewhere each run draws new ones and explores further.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import syscall_fuzz as fz
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lind.microvisor.table import SYSCALLS

CAGE_TIMEOUT = 1.0  # seconds a batch may run; a blocked call (pause, futex...) ends it here
NASTY_TIMEOUT = 20.0  # none of those calls blocks; some move a gigabyte
EXAMPLES = int(os.environ.get("LIND_FUZZ_EXAMPLES", "80"))
TRAMPOLINES = ["c", "ctypes"]


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """Outside pytest's private tmp (0700): the child may run as nobody (see syscall_fuzz)."""
    base = Path(tempfile.mkdtemp(prefix="lind-fuzz-"))
    os.chmod(base, 0o755)
    (base / "cache").mkdir()
    fz.build_module(base / "batch.wasm")
    if os.geteuid() == 0:
        # (not the cache: the child compiles as root, into a cache only root may change,
        # as Lind requires of the user it runs as, before it becomes nobody)
        os.chown(base / "batch.wasm", fz.NOBODY, fz.NOBODY)
    yield base
    shutil.rmtree(base, ignore_errors=True)


_boxes = iter(range(1 << 30))


def run(workdir: Path, trampoline: str, calls: list[fz.Call], slots: list[bytes],
        timeout: float = CAGE_TIMEOUT) -> fz.Outcome:
    box = fz.Box(workdir / f"box{next(_boxes)}", workdir / "batch.wasm")
    try:
        return fz.run_batch(box, workdir / "batch.wasm", fz.encode(calls, slots),
                            trampoline=trampoline, timeout=timeout, cache=workdir / "cache")
    finally:
        shutil.rmtree(box.base, ignore_errors=True)


def check(outcome: fz.Outcome, trampoline: str, calls: list[fz.Call], *,
          all_return: bool = False) -> None:
    """The host survived, said which trampoline ran, and nothing outside the root moved;
    with `all_return`, every call came back (none of them may end the cage)."""
    problems = outcome.problems()
    if all_return and sorted(outcome.results) != list(range(len(calls))):
        problems.append("not every call returned")
    if outcome.report.get("accelerated") is not (trampoline == "c"):
        problems.append(f"expected the {trampoline} trampoline, the child reported "
                        f"accelerated={outcome.report.get('accelerated')}")
    if problems:
        lines = []
        for i, call in enumerate(calls):
            if i in outcome.results:
                state = f"= {fz.show(outcome.results[i])}"
            elif i in outcome.started:
                state = "<- started, never returned"
            else:
                state = "(not reached)"
            lines.append(f"  {i:2}: {call} {state}")
        pytest.fail("\n".join([*problems, f"cage: {outcome.report}", "calls:", *lines,
                               "host stderr (tail):", outcome.host_stderr[-3000:]]),
                    pytrace=False)


# -- hostile values ----------------------------------------------------------------
END = fz.MEMORY_SIZE
I64 = st.integers(-(1 << 63), (1 << 64) - 1)
EDGES = [0, 1, 2, 3, -1, -2, -4096, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32,
         (1 << 63) - 1, 1 << 63, -(1 << 63) + 1, (1 << 64) - 4096]
STRING_ADDRESSES = ([fz.path_address(p) for p in fz.PATHS]
                    + [fz.OVERLONG_PATH, fz.OVERLONG_DOTDOT, fz.UNTERMINATED])
SLOT_ADDRESSES = [fz.SLOTS + i * fz.SLOT_SIZE for i in range(fz.N_SLOTS)]

integers = st.one_of(st.sampled_from(EDGES), I64, st.integers(-4096, 70000))
pointers = st.one_of(
    st.sampled_from([0, 1, END - 1, END - 4, END - 8, END - 16, END, END + 1, END + 4096,
                     1 << 31, (1 << 32) - 1, (1 << 32) - 8, 1 << 32, 1 << 63, -1]),
    st.integers(END - 64, END + 64),
    st.sampled_from(STRING_ADDRESSES),
    st.sampled_from(SLOT_ADDRESSES),
    st.integers(fz.BUFFERS, END - 1),
    st.integers(0, (1 << 32) - 1),
)
lengths = st.one_of(
    st.sampled_from([0, 1, 8, 16, 4096, 65536, END, (1 << 31) - 1, 1 << 31, (1 << 32) - 1,
                     1 << 32, (1 << 63) - 1, 1 << 63, -1, -4096]),
    st.integers(0, 70000),
)
fds = st.sampled_from([-1, 0, 1, 2, 3, 4, 5, fz.RECORD_FD, 1023, 1024, (1 << 31) - 1, 1 << 31,
                       (1 << 32) + 1, 1 << 63, -100])  # -100: AT_FDCWD
flags = st.one_of(
    st.sampled_from([0, 1, 2, 3, 0o1101, 0o102, 0o200000, 0o10000000, 0o400000, 0o20200000,
                     0x22, 0x32, 0x21, 0x31, 0x7, 0xFFFFFFFF, 0x80000000]),
    st.integers(0, (1 << 32) - 1),
    I64,
)
cage_ids = st.sampled_from([0, 1, 2, 3, 500, 1023, 1024, -1, (1 << 63) | 1, (1 << 32) + 1])
# Linux numbers with what each argument is, for the calls where hitting the right kind
# matters (a path where a path goes); everything else gets any hostile value.
KINDS = {
    0: "fpl", 1: "fpl", 2: "pxx", 4: "pp", 5: "fp", 6: "pp", 7: "pli", 8: "fix", 9: "plxxfi",
    10: "plx", 11: "pl", 12: "p", 13: "ippl", 14: "ippl", 16: "fxp", 17: "fpli", 18: "fpli",
    19: "fpl", 20: "fpl", 21: "px", 22: "p", 23: "ipppp", 25: "pllxp", 26: "plx", 32: "f",
    33: "ff", 35: "pp", 56: "xpppp", 59: "ppp", 61: "ipxp", 62: "ii", 72: "fxi", 76: "pl",
    77: "fl", 79: "pl", 80: "p", 81: "f", 82: "pp", 83: "px", 84: "p", 85: "px", 86: "pp",
    87: "p", 88: "pp", 89: "ppl", 90: "px", 91: "fx", 202: "pxippi", 217: "fpl", 230: "ixpp",
    257: "fpxx", 258: "fpx", 262: "fppx", 263: "fpx", 264: "fpfp", 265: "fpfpx", 266: "pfp",
    267: "fppl", 268: "fpx", 269: "fpx", 270: "ipppp", 271: "plpp", 292: "ffx", 293: "px",
    302: "iipp", 316: "fpfpx", 318: "plx", 439: "fpxx",
    1001: "cixi", 1002: "pcpclx", 1003: "cc", 1004: "p", 1020: "p", 1021: "pi",
}
BY_KIND = {"p": pointers, "l": lengths, "f": fds, "x": flags, "i": integers, "c": cage_ids}
any_value = st.one_of(pointers, lengths, fds, flags, integers)
numbers = st.one_of(st.sampled_from(sorted(SYSCALLS)), st.integers(0, 1023),
                    st.sampled_from([-1, 1024, 1 << 31, 4096 + 39]))


# Calls that succeed and leave state for the hostile ones to abuse: open files and
# directories, pipes, mappings (shared too), duplicated stdio, a child cage.
_P = fz.path_address
SETUP = [fz.Call(nr, (*args, *[0] * (6 - len(args)))) for nr, *args in [
    (2, _P(b"/file"), 0o2), (2, _P(b"/dir"), 0o200000), (257, -100, _P(b"new"), 0o102, 0o644),
    (257, -100, _P(b"/"), 0o10000000), (22, fz.BUFFERS), (293, fz.BUFFERS + 8, 0o4000),
    (9, 0, 65536, 3, 0x22, -1, 0), (9, 0, 8192, 3, 0x21, -1, 0), (9, 0, 4096, 3, 0x01, 3, 0),
    (12, 2 * fz.MEMORY_SIZE), (33, 1, 5), (32, 0), (57,), (1020, fz.BUFFERS + 64),
    (80, _P(b"/dir")), (13, 2, fz.SLOTS, 0, 8), (37, 1),
]]


@st.composite
def hostile_calls(draw) -> fz.Call:
    nr = draw(numbers)
    kinds = KINDS.get(nr, "") if draw(st.booleans()) else ""
    args = [draw(BY_KIND[k]) for k in kinds]
    args += [draw(any_value) for _ in range(6 - len(args))]
    return fz.Call(nr, tuple(args))


calls = st.one_of(hostile_calls(), hostile_calls(), hostile_calls(), st.sampled_from(SETUP))
paths = st.one_of(
    st.sampled_from(fz.PATHS).map(lambda p: p + b"\0"),
    st.sampled_from(fz.PATHS),  # no NUL: runs into whatever follows
    st.lists(st.sampled_from([b"..", b".", b"link_out", b"dirlink", b"abs_dirlink", b"proc_link",
                              b"dir", b"file", b"", b"proc", b"self", b"root", b"fd"]),
             max_size=40).map(lambda parts: b"/".join(parts) + b"\0"),
    st.binary(max_size=fz.SLOT_SIZE),
)
iovecs = st.lists(st.tuples(pointers, lengths), max_size=fz.SLOT_SIZE // 8).map(
    lambda pairs: b"".join((p & 0xFFFFFFFF).to_bytes(4, "little")
                           + (n & 0xFFFFFFFF).to_bytes(4, "little") for p, n in pairs))
u64s = st.lists(st.one_of(any_value, cage_ids), max_size=fz.SLOT_SIZE // 8).map(
    lambda values: b"".join((v & (1 << 64) - 1).to_bytes(8, "little") for v in values))
# make_threei_call's block: callnumber, self, target, then (arg, arg's cage) six times.
threei_blocks = st.tuples(numbers, cage_ids, cage_ids,
                          st.lists(st.tuples(any_value, cage_ids), min_size=6, max_size=6)).map(
    lambda t: b"".join((v & (1 << 64) - 1).to_bytes(8, "little")
                       for v in (t[0], t[1], t[2], *(x for pair in t[3] for x in pair))))
slots = st.lists(st.one_of(paths, iovecs, u64s, threei_blocks), max_size=fz.N_SLOTS)


def _settings(examples: int) -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("LIND_FUZZ_SHRINK"):
        phases.append(Phase.shrink)
    return settings(max_examples=examples, deadline=None, phases=phases,
                    derandomize=bool(os.environ.get("CI")),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("trampoline", TRAMPOLINES)
@_settings(EXAMPLES)
@given(batch=st.lists(calls, min_size=25, max_size=50), crafted=slots)
def test_hostile_syscall_batches(workdir: Path, trampoline: str, batch: list[fz.Call],
                                 crafted: list[bytes]) -> None:
    check(run(workdir, trampoline, batch, crafted), trampoline, batch)


# -- known-nasty calls, one cage each ------------------------------------------------
def _block(nr: int, target: int, *pairs: int) -> bytes:
    """make_threei_call's 15 u64; argument pairs not given are (0, target)."""
    values = [nr, 1, target, *pairs, *[0, target] * (6 - len(pairs) // 2)]
    return b"".join((v & (1 << 64) - 1).to_bytes(8, "little") for v in values)


def _iovecs(count: int, base: int, length: int) -> bytes:
    return ((base & 0xFFFFFFFF).to_bytes(4, "little") + length.to_bytes(4, "little")) * count


S0, S1 = SLOT_ADDRESSES[:2]
BIG = 1 << 32
NASTY: dict[str, tuple[list[tuple[int, ...]], list[bytes]]] = {
    "mremap_negative_old_len": ([(9, 0, 65536, 3, 0x22, -1, 0), (25, END, -4096, 8192, 1, 0, 0),
                                 (25, END, -4096, 8192, 0, 0, 0)], []),
    "mmap_after_huge_brk": ([(12, 1 << 30, 0, 0, 0, 0, 0), (9, 0, 65536, 3, 0x22, -1, 0),
                             (12, (1 << 32) - 4096, 0, 0, 0, 0, 0), (12, 1 << 63, 0, 0, 0, 0, 0),
                             (12, -1, 0, 0, 0, 0, 0), (9, 0, 65536, 3, 0x22, -1, 0),
                             (9, 0, (1 << 32) - 4096, 3, 0x22, -1, 0),
                             (9, END, 65536, 3, 0x32, -1, 0)], []),
    "writev_1024_iovecs": ([(20, 1, S0, 1024, 0, 0, 0), (20, 2, S0, 1024, 0, 0, 0)],
                           [_iovecs(128, fz.BUFFERS, 0x10000)]),
    # 1024 iovecs naming one 2 MiB mapping: 2 GiB of data the cage does not own.
    "writev_1024_iovecs_one_buffer": ([(9, 0, 2 << 20, 3, 0x22, -1, 0),
                                       (293, fz.BUFFERS, 0o4000, 0, 0, 0, 0),
                                       (20, 4, S0, 1024, 0, 0, 0)],
                                      [_iovecs(128, fz.MEMORY_SIZE, 2 << 20)] * 8),
    "readv_past_the_end": ([(19, 0, S0, 4, 0, 0, 0), (19, 0, S0, 1024, 0, 0, 0)],
                           [_iovecs(4, END - 8, 4096) + _iovecs(4, (1 << 32) - 16, 0xFFFFFFFF)]),
    "getdents64_count_4G": ([(257, -100, fz.path_address(b"/"), 0o200000, 0, 0, 0),
                             (217, 3, fz.BUFFERS, (1 << 32) - 1, 0, 0, 0),
                             (217, 3, END - 16, (1 << 32) - 1, 0, 0, 0),
                             (217, 3, fz.BUFFERS, -1, 0, 0, 0)], []),
    "read_write_len_2_63": ([(0, 0, fz.BUFFERS, 1 << 63, 0, 0, 0), (1, 1, fz.BUFFERS, 1 << 63, 0, 0, 0),
                             (17, 0, fz.BUFFERS, 1 << 63, 0, 0, 0),
                             (18, 1, fz.BUFFERS, 1 << 63, 1 << 63, 0, 0),
                             (0, 0, END - 1, -1, 0, 0, 0), (1, 1, END - 1, -1, 0, 0, 0)], []),
    "make_threei_call_block_past_end": ([(1004, END - 8, 0, 0, 0, 0, 0), (1004, END, 0, 0, 0, 0, 0),
                                         (1004, (1 << 32) - 8, 0, 0, 0, 0, 0),
                                         (1004, 1 << 63, 0, 0, 0, 0, 0), (1004, S0, 0, 0, 0, 0, 0),
                                         (1004, S1, 0, 0, 0, 0, 0)],
                                        [_block(0, 1, 0, 1, END - 4, 1, 1 << 40, 1),
                                         _block(1, 1, 1, 1, fz.BUFFERS, (1 << 63) | 1, -1, 1)]),
    "make_threei_call_of_itself": ([(1004, S0, 0, 0, 0, 0, 0)], [_block(1004, 1, S0, 1)]),
    "register_handler_bad_numbers": ([(1001, 1, -1, 1, 0, 0, 0), (1001, 1, 1024, 1, 0, 0, 0),
                                      (1001, 1, 1 << 63, 1, 0, 0, 0), (1001, 1, 39, 1 << 63, 7, 0, 0),
                                      (1001, 1, 39, -1, -1, 0, 0), (1001, 1, 39, 1, -1, 0, 0),
                                      (39, 0, 0, 0, 0, 0, 0), (1001, 1, 0, 1, 1 << 40, 0, 0),
                                      (0, 0, 0, 0, 0, 0, 0)], []),
    "copy_data_between_cages_past_end": ([(1002, fz.BUFFERS, 1, END - 8, 1, BIG, 0),
                                          (1002, END - 8, 1, fz.BUFFERS, 1, 1 << 63, 0),
                                          (1002, fz.BUFFERS, 1, fz.BUFFERS + 8, 1, -1, 0),
                                          (1002, fz.BUFFERS, 1, fz.BUFFERS, 1, -1, 1),
                                          (1002, END - 1, 1, fz.BUFFERS, 1, BIG, 1),
                                          (1002, -1, 1, -1, 1, 16, 0)], []),
    "longjmp_env_never_set": ([(1021, fz.BUFFERS, 1, 0, 0, 0, 0), (1021, 0, 0, 0, 0, 0, 0),
                               (1021, -1, -1, 0, 0, 0, 0), (1020, END - 4, 0, 0, 0, 0, 0),
                               (1021, END - 3, 5, 0, 0, 0, 0), (1020, 1 << 63, 0, 0, 0, 0, 0)], []),
}


@pytest.mark.parametrize("trampoline", TRAMPOLINES)
@pytest.mark.parametrize("name", sorted(NASTY))
def test_known_nasty_calls(workdir: Path, trampoline: str, name: str) -> None:
    entries, crafted = NASTY[name]
    batch = [fz.Call(nr, tuple(args)) for nr, *args in entries]
    # Nothing here ends the cage (longjmp fails, setjmp returns): every call comes back.
    outcome = run(workdir, trampoline, batch, crafted, timeout=NASTY_TIMEOUT)
    check(outcome, trampoline, batch, all_return=True)


def test_the_checks_see_what_they_guard(workdir: Path) -> None:
    """A fuzzer that cannot see a change proves nothing: change each guarded thing by hand."""
    box = fz.Box(workdir / "control", workdir / "batch.wasm")
    try:
        box.prepare(b"")
        assert box.changes() == []
        (box.box / "canary.txt").write_bytes(b"changed")
        os.chmod(box.box / "canary_dir", 0o700)
        os.utime(box.box / "other" / "a" / "b" / "c.txt", ns=(0, 0))
        (box.box / "other" / "new").write_bytes(b"")
        os.chmod(box.stdin, 0o6777)
        (box.root / "inside").write_bytes(b"the cage's own business")
        changed = {line.split(":")[0] for line in box.changes()}
        assert changed == {"box/canary.txt", "box/canary_dir", "box/other/a/b/c.txt", "box/other",
                           "box/other/new", "stdin"}
    finally:
        shutil.rmtree(box.base, ignore_errors=True)
