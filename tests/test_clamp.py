"""Clamps: only the calls that match a condition go through the clamped grates.

Each stack runs `clamp/clamp_calls.c` (calls on /tmp and on /data, and one naming no
file) under tag grates, wasm (`clamp/tag_grate.c`) and Python (`Tag`), which record
every call that reaches them; the recorded paths are compared with the table the
clamping rules give: a grate inside a clamp sees exactly the matching calls, in
nested clamps only those matching every enclosing condition, and every grate outside
sees them all.
"""

from __future__ import annotations

import gc
import re
import subprocess
import sys

import pytest

import lind
from lind.grates import Call, Grate, handles
from lind.grates.clamp import Calls, Clamp, Route, Under
from lind.grates.registry import resolve, stack_grates
from lind.grates.tee import Tee, TeeBranch, TeeEnd, TeeStart
from lind.portable.files import MemoryFiles

# What clamp_calls.c does, as a tag grate notes it. Below a clamp on a directory, its
# relative path (d/c, from /tmp) comes as the clamp resolved it (Call.resolved): BELOW.
PROGRAM = ["openat:/tmp/a", "write:3", "close:3", "openat:/data/b", "write:3", "close:3",
           "getppid:0", "mkdir:/tmp/d", "openat:d/c", "close:3"]
BELOW = [c.replace("openat:d/c", "openat:/tmp/d/c") for c in PROGRAM]
UNDER_TMP = ["openat:/tmp/a", "write:3", "close:3", "mkdir:/tmp/d", "openat:/tmp/d/c", "close:3"]
# The C clamp (ns.c) hands a matching call to its grates as the program gave it.
UNDER_TMP_AS_GIVEN = [c.replace("openat:/tmp/d/c", "openat:d/c") for c in UNDER_TMP]
UNDER_DATA = ["openat:/data/b", "write:3", "close:3"]


class Tag(Grate):
    """The Python twin of tag_grate.c."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[str] = []

    @handles("openat", "mkdir", "write", "close", "getppid")
    def note(self, call: Call) -> int:
        if call.name in ("openat", "mkdir"):
            path = call.string(1 if call.name == "openat" else 0).decode()
            self.seen.append(f"{call.name}:{path}")
        else:
            self.seen.append(f"{call.name}:{call.args[0] if call.name != 'getppid' else 0}")
        return call.forward()


def in_a(calls: list[str]) -> list[str]:
    """The calls as a tee's stack A sees them: B's file took fd 3, A's (the program's) 4."""
    return [c.replace(":3", ":4") for c in calls]


def _seen(builds, tmp_path, grates: list, command: tuple = ()) -> dict[str, list[str]]:
    """Run clamp_calls under `grates`, after `command` (wasm grates run as programs):
    what each tag grate saw, by name."""
    root = tmp_path / "root"
    for sub in ("tmp", "data"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    with lind.Runtime() as runtime:      # its own: the program is cage 1
        done = lind.run([*command, builds.wasm("clamp/clamp_calls")], root=root, grates=grates,
                        capture_output=True, timeout=120, runtime=runtime)
    assert done.returncode == 0, done.stderr
    seen = {m[1]: m[2].split() for m in re.finditer(r"^(\S+) saw:(.*)$", done.stderr.decode(), re.M)}
    for grate in _python_tags(grates):
        seen[grate.name] = grate.seen
    return seen


def _python_tags(grates: list) -> list[Tag]:
    found = []
    for g in grates:
        if isinstance(g, Tag):
            found.append(g)
        elif isinstance(g, Clamp):
            found += _python_tags(g.grates)
        elif isinstance(g, list):
            found += _python_tags(g)
    return found


@pytest.fixture
def wasm_tag(builds):
    return lambda name: f"{builds.wasm('clamp/tag_grate')}:{name}"


def test_one_clamp_routes_only_matching_calls_through_its_stack(builds, tmp_path, wasm_tag):
    """Lind's first example: a clamp holding a stack of two grates (here a wasm and a
    Python one, and two wasm ones), with grates outside it above and below."""
    seen = _seen(builds, tmp_path, [wasm_tag("top"), "clamp:/tmp", "%{", wasm_tag("in1"),
                                    Tag("in2"), "%}", wasm_tag("bottom")])
    assert seen == {"top": PROGRAM, "in1": UNDER_TMP, "in2": UNDER_TMP, "bottom": BELOW}
    seen = _seen(builds, tmp_path, [Tag("top"), "clamp:/tmp", [Tag("in1"), wasm_tag("in2"),
                                                               wasm_tag("in3")]])
    assert seen == {"top": PROGRAM, "in1": UNDER_TMP, "in2": UNDER_TMP, "in3": UNDER_TMP}


def test_separate_clamps_each_route_their_own_calls(builds, tmp_path, wasm_tag):
    seen = _seen(builds, tmp_path, ["clamp:/tmp", "%{", wasm_tag("tmp"), "%}",
                                    "clamp:/data", "%{", wasm_tag("data"), Tag("pydata"), "%}",
                                    wasm_tag("all")])
    assert seen == {"tmp": UNDER_TMP, "data": UNDER_DATA, "pydata": UNDER_DATA, "all": BELOW}


def test_nested_clamps_need_every_enclosing_condition(builds, tmp_path, wasm_tag):
    inner = ["mkdir:/tmp/d", "openat:/tmp/d/c", "close:3"]      # under /tmp/d
    seen = _seen(builds, tmp_path, ["clamp:/tmp", "%{", wasm_tag("outer"), "clamp:/tmp/d", "%{",
                                    wasm_tag("inner"), Tag("pyinner"), "%}", "%}"])
    assert seen == {"outer": UNDER_TMP, "inner": inner, "pyinner": inner}
    # an inner condition wider than the outer one adds nothing: both must match
    seen = _seen(builds, tmp_path, [Clamp(Under("/tmp"), [Tag("outer"), Clamp(
        Calls(frozenset({2, 3, 257})), [wasm_tag("inner"), Tag("pyinner")])])])
    only_open_close = [c for c in UNDER_TMP if c.startswith(("openat", "close"))]
    assert seen == {"outer": UNDER_TMP, "inner": only_open_close, "pyinner": only_open_close}


def test_clamp_conditions_by_call_fd_and_cage(builds, tmp_path, wasm_tag):
    seen = _seen(builds, tmp_path, ["clamp:calls=getppid,mkdir", [Tag("calls")],
                                    "clamp:fd=3", [Tag("fd3")], "clamp:cage=1", [Tag("cage1")],
                                    "clamp:cage=2", [Tag("cage2")]])
    assert seen == {"calls": ["getppid:0", "mkdir:/tmp/d"],
                    "fd3": ["write:3", "close:3", "write:3", "close:3", "close:3"],
                    "cage1": PROGRAM, "cage2": []}
    seen = _seen(builds, tmp_path, ["clamp:calls=getppid,mkdir", [wasm_tag("calls")]])
    assert seen == {"calls": ["getppid:0", "mkdir:/tmp/d"]}


def test_the_same_wasm_grate_inside_and_outside_a_clamp(builds, tmp_path, wasm_tag):
    """One program named twice in a stack: each copy gets the Python grates and clamp
    marks meant for it, in the order they are exec'd."""
    seen = _seen(builds, tmp_path, [wasm_tag("a"), Tag("pya"), "clamp:/data", "%{",
                                    wasm_tag("b"), Tag("pyb"), "%}", wasm_tag("c")])
    assert seen == {"a": PROGRAM, "pya": PROGRAM, "b": UNDER_DATA, "pyb": UNDER_DATA,
                    "c": BELOW}


def test_clamped_grates_that_fork_exec_or_register_late_stay_clamped(builds, tmp_path,
                                                                     wasm_tag):
    """Membership is inherited: a clamped grate's forks (the program run as its
    grandchild), a grate it execs (in-b, named only in exec-in's own arguments) and
    handlers it registers long after it started (late-in, from inside a handler) are
    all routed through the clamp."""
    exec_in = f"{builds.wasm('clamp/tag_grate')}:exec-in {builds.wasm('clamp/tag_grate')} in-b"
    seen = _seen(builds, tmp_path, ["clamp:/tmp", "%{", wasm_tag("late-in"), wasm_tag("fork-in"),
                                    exec_in, "%}", wasm_tag("bottom")])
    assert seen == {"late-in": UNDER_TMP, "fork-in": UNDER_TMP, "exec-in": UNDER_TMP,
                    "in-b": UNDER_TMP, "bottom": BELOW}


class _RouteCounter(Grate):
    """At each getppid: how many clamp routes exist, and how many objects Python has."""

    def __init__(self) -> None:
        self.samples: list[tuple[int, int]] = []

    @handles("getppid")
    def count(self, call: Call) -> int:
        gc.collect()
        objects = gc.get_objects()
        self.samples.append((sum(isinstance(o, Route) for o in objects), len(objects)))
        return call.forward()


@pytest.mark.parametrize("clamp", ["python", "c"])
def test_cages_that_end_leave_no_routing_state(builds, tmp_path, clamp):
    """10,000 cages inside a clamp, each with a route of its own, come and go: the
    routes end with their tables, and nothing else grows (ns.c keeps one alias for
    them all: one grate, one handler, one call)."""
    counter = _RouteCounter()
    churn = builds.wasm("clamp/churn_grate")
    if clamp == "python":
        seen = _seen(builds, tmp_path, ["clamp:/tmp", [f"{churn}:10000"], counter])
    else:
        seen = _seen(builds, tmp_path, [counter], (resolve("ns").path, "--prefix", "/tmp", "%{",
                                                   churn, "10000", "%}"))
    assert seen == {}
    assert len(counter.samples) == 21, counter.samples      # then the program's
    children, grate = counter.samples[0:20:2], counter.samples[1:20:2]
    own = 1 if clamp == "python" else 0
    assert [routes for routes, _ in children] == [own] * 10     # the child's own route
    assert [routes for routes, _ in grate] == [0] * 10          # gone with it
    assert grate[-1][1] - grate[0][1] < 200, grate


def test_clamp_marks_on_the_command_line(builds, tmp_path):
    """`--grate clamp:COND %{ --grate ... %}`, read top first like every --grate list;
    `%{` among the program's own arguments is the program's."""
    root = tmp_path / "root"
    for sub in ("tmp", "data"):
        (root / sub).mkdir(parents=True)
    tag = builds.wasm("clamp/tag_grate")
    lind_run = [sys.executable, "-m", "lind", "run", "--root", root]
    proc = subprocess.run([*lind_run, "--grate", f"{tag}:top", "--grate", "clamp:/data", "%{",
                           "--grate", f"{tag}:in", "%}", "--grate", f"{tag}:bottom",
                           builds.wasm("clamp/clamp_calls")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [f"top saw: {' '.join(PROGRAM)}",
                                        f"in saw: {' '.join(UNDER_DATA)}",
                                        f"bottom saw: {' '.join(BELOW)}"]
    proc = subprocess.run([*lind_run, "--grate", "clamp:/data", "%{", "--grate", f"{tag}:in",
                           "%}", builds.wasm("args_env"), "%{", "%}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "argv[1]=%{\nargv[2]=%}\n" in proc.stdout, proc.stdout


@pytest.mark.parametrize(("grates", "message"), [
    (["clamp:/tmp"], "wants its grates"),
    (["clamp:/tmp", "%{", "imfs"], "without a %}"),
    (["%}"], "without a %{"),
    (["imfs", "%{", "readonly:/x", "%}"], "must follow a clamp"),
    (["clamp:/tmp=imfs", ["readonly:/x"]], "must follow a clamp (one group) or a tee (two)"),
    (["tee:agree", ["imfs"]], "tee:agree wants two stacks"),
    (["tee:agree", [], [], []], "must follow a clamp"),
    (["tee:sometimes", [], []], "is not one of first, agree, any-success"),
    (["clamp:tmp", ["imfs"]], "clamp wants /DIR"),
    (["clamp:calls=nosuchcall", ["imfs"]], "unknown system call"),
    (["clamp:fd=x", ["imfs"]], "invalid literal"),
    (["clamp:calls=getppid,mkdir"], "clamp:calls=mkdir,getppid wants its grates"),
    (["clamp:fd=4,3"], "clamp:fd=3,4 wants its grates"),
    (["clamp:cage=2,1"], "clamp:cage=1,2 wants its grates"),
])
def test_clamp_mistakes_are_value_errors(grates, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        stack_grates(["prog.wasm"], grates)


# ------------------------------------------------------- the clamping grate in C

def test_the_c_clamping_grate_routes_as_the_python_clamp(builds, tmp_path):
    """ns.c, Lind's clamping grate written against lind_syscall.h and run as a program:
    the same tables as the Python clamp's, for one clamp with a stack inside, clamps in
    series and nested, and conditions by path and by call number."""
    ns, tag = resolve("ns").path, builds.wasm("clamp/tag_grate")
    command = [ns, "--prefix", "/tmp", "%{", tag, "in1", tag, "in2", "%}", tag, "top"]
    assert _seen(builds, tmp_path, [], command) == {"in1": UNDER_TMP_AS_GIVEN,
                                                    "in2": UNDER_TMP_AS_GIVEN, "top": PROGRAM}
    command = [tag, "bottom", ns, "--prefix", "/tmp", "%{", tag, "tmp", "%}",
               ns, "--prefix", "/data", "%{", tag, "data", tag, "data2", "%}"]
    assert _seen(builds, tmp_path, [Tag("py")], command) == {
        "bottom": BELOW, "tmp": UNDER_TMP, "data": UNDER_DATA, "data2": UNDER_DATA,
        "py": BELOW}     # (the /data clamp made d/c absolute for all below it)
    inner = ["mkdir:/tmp/d", "openat:d/c", "close:3"]
    command = [ns, "--prefix", "/tmp", "%{", tag, "outer", ns, "--prefix", "/tmp/d", "%{",
               tag, "inner", "%}", "%}"]
    assert _seen(builds, tmp_path, [], command) == {"outer": UNDER_TMP_AS_GIVEN, "inner": inner}
    command = [ns, "--calls", "getppid,83", "%{", tag, "calls", "%}"]   # by name; 83 is mkdir
    assert _seen(builds, tmp_path, [], command) == {"calls": ["getppid:0", "mkdir:/tmp/d"]}
    for calls in ("getppid,nosuchcall", "", "83,1024"):
        r = lind.run([ns, "--calls", calls, "%{", "%}", builds.wasm("clamp/clamp_calls")],
                     root=tmp_path, capture_output=True, timeout=60)
        assert r.returncode == 2 and r.stderr.startswith(b"usage: ns.wasm"), (calls, r)
    command = [ns, "--fd", "3", "%{", tag, "fd3", "%}"]
    assert _seen(builds, tmp_path, [], command) == {
        "fd3": ["write:3", "close:3", "write:3", "close:3", "close:3"]}
    # the program is cage 4: ns 1, its child 2 runs the clamped grate, whose child 3
    # runs the one above the clamp, whose child is the program
    command = [ns, "--cage", "4,99", "%{", tag, "cage4", "%}", tag, "top"]
    assert _seen(builds, tmp_path, [], command) == {"cage4": PROGRAM, "top": PROGRAM}


def test_the_c_clamping_grate_keeps_forks_execs_and_late_handlers_inside(builds, tmp_path):
    ns, tag = resolve("ns").path, builds.wasm("clamp/tag_grate")
    command = [ns, "--prefix", "/tmp", "%{", tag, "exec-in", tag, "in-b", tag, "fork-in",
               tag, "late-in", "%}"]
    assert _seen(builds, tmp_path, [], command) == {
        "exec-in": UNDER_TMP_AS_GIVEN, "in-b": UNDER_TMP_AS_GIVEN, "fork-in": UNDER_TMP_AS_GIVEN,
        "late-in": UNDER_TMP_AS_GIVEN}


# --------------------------------------------------------------------------- tee

class _OneByteMore(Grate):
    """A deliberately wrong grate: stat of a file says it is a byte larger."""

    @handles("newfstatat", "stat")
    def stat(self, call: Call) -> int:
        result = call.forward()
        if result == 0:
            at = 2 if call.name == "newfstatat" else 1
            size = int.from_bytes(call.read(at, 56)[48:56], "little")
            call.write(at, call.read(at, 48) + (size + 1).to_bytes(8, "little"))
        return result


def _tee_data(directory) -> None:
    directory.mkdir()
    (directory / "f").write_text("in the file\n")
    (directory / "big").write_bytes(bytes(range(256)) * 400)     # read past 64 KiB at once


def _tee_run(builds, tmp_path, name: str, stack_a: list, policy: str) -> tuple:
    """tee_files.c with /data a host directory, under a tee of `stack_a` (an imfs copy of
    /data) and an empty stack B (the directory itself)."""
    data = tmp_path / name
    _tee_data(data)
    root = tmp_path / f"{name}-root"
    root.mkdir()
    reports: list[str] = []
    grates = [Tee(stack_a, [], policy, reports.append)] if stack_a else []
    done = lind.run([builds.wasm("clamp/tee_files")], root=root, mounts=[f"{data}:/data"],
                    grates=grates, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout, reports, data


def test_tee_agrees_over_an_in_memory_copy_and_the_directory(builds, tmp_path):
    """Shadow testing: imfs holding a copy of /data (stack A) against /data itself (B),
    in `agree` mode: every answer matches, the program sees what it sees without the
    tee, and the new file is written in both (the directory has it too)."""
    plain, _, _ = _tee_run(builds, tmp_path, "plain", [], "agree")
    seed = tmp_path / "seed"
    _tee_data(seed)
    out, reports, data = _tee_run(builds, tmp_path, "teed",
                                  [MemoryFiles("/data", preload=str(seed))], "agree")
    assert "read: 12 \n  in the file" in plain and "entry new" in plain
    assert "read /data/big: 102400" in plain
    assert (out, reports) == (plain, [])
    assert (data / "new").read_text() == "abc\n"


def test_tee_in_agree_mode_catches_a_wrong_answer(builds, tmp_path):
    seed = tmp_path / "seed"
    _tee_data(seed)
    with open(seed / "big", "r+b") as big:      # the copy differs in one byte, far in
        big.seek(100_000)
        big.write(b"!")
    stack_a = [_OneByteMore(), MemoryFiles("/data", preload=str(seed))]
    out, reports, _ = _tee_run(builds, tmp_path, "agree", stack_a, "agree")
    assert "stat /data/f: -1 I/O error" in out
    assert "stat /data/none: -1 No such file or directory" in out     # both agree there
    assert "read /data/big: -1 I/O error" in out
    assert len(reports) == 2 and "newfstatat" in reports[0] and "read" in reports[1], reports
    assert "sha256:" in reports[1]
    # first: the program gets A's (wrong) answer, B only looks
    out, reports, _ = _tee_run(builds, tmp_path, "first", stack_a, "first")
    assert "stat /data/f: 0 \n  size 13" in out and reports == []


def test_a_tee_of_wasm_grates_sends_each_call_through_both_stacks(builds, tmp_path, wasm_tag):
    """Wasm grates in a tee's stacks, a Python one beside them: each stack sees every
    file call, B's first (its file takes the lower number, 3), then A's (4, the
    program's); other calls (getppid) go through A alone; a grate below the tee sees
    both copies of each file call."""
    def teed(calls: list[str]) -> list[str]:      # B's copy of each file call, then A's
        return [call for pair in zip(calls, in_a(calls), strict=True)
                for call in (pair[:1] if pair[0] == "getppid:0" else pair)]

    files_only = [call for call in PROGRAM if call != "getppid:0"]
    seen = _seen(builds, tmp_path, ["tee:first", "%{", wasm_tag("a1"), Tag("a2"), "%}",
                                    "%{", wasm_tag("b"), "%}", wasm_tag("below")])
    assert seen == {"a1": in_a(PROGRAM), "a2": in_a(PROGRAM), "b": files_only,
                    "below": teed(PROGRAM)}
    seen = _seen(builds, tmp_path, ["tee:first", [], [Tag("b1"), wasm_tag("b2")]])
    assert seen == {"b1": files_only, "b2": files_only}
    # inside a clamp: only the calls that match go through the tee
    seen = _seen(builds, tmp_path, ["clamp:/tmp", "%{", "tee:first", "%{", wasm_tag("a"), "%}",
                                    "%{", wasm_tag("b"), "%}", "%}", wasm_tag("below")])
    assert seen == {"a": in_a(UNDER_TMP), "b": UNDER_TMP,
                    "below": teed(UNDER_TMP[:3]) + UNDER_DATA + ["getppid:0"] + teed(UNDER_TMP[3:])}


def test_a_tee_in_agree_mode_catches_a_wasm_grate_answering_otherwise(builds, tmp_path):
    """Stack A, a wasm grate refusing every open with EROFS; stack B, none: under
    `agree` each open fails with EIO and is reported; under `first` the program gets
    A's answer and nothing is reported (a Tee object holding a wasm grate by path)."""
    root = tmp_path / "root"
    for sub in ("tmp", "data"):
        (root / sub).mkdir(parents=True)
    refuse = str(builds.wasm("clamp/refuse_grate"))
    for policy, answer in (("agree", "I/O error"), ("first", "Read-only file system")):
        reports: list[str] = []
        done = lind.run([builds.wasm("clamp/tee_files")], root=root, capture_output=True,
                        text=True, timeout=120, grates=[Tee([refuse], [], policy, reports.append)])
        assert done.returncode == 0, done.stderr
        assert f"open /data/f: -1 {answer}" in done.stdout, done.stdout
        if policy == "agree":
            assert reports and all("openat: A = -EROFS, B = " in r for r in reports), reports
        else:
            assert reports == []


def test_a_tee_makes_process_calls_once(builds, tmp_path):
    """strace (a C grate handling every call) in stack A: fork, exec, wait, exit and
    pipes happen once, so the program's output is what it is without the tee."""
    program = [builds.wasm("forks")]
    plain = lind.run(program, root=tmp_path, capture_output=True, timeout=120)
    teed = lind.run(program, root=tmp_path, capture_output=True, timeout=120,
                    grates=["tee:agree", ["strace"], []])
    assert (teed.returncode, teed.stdout) == (plain.returncode, plain.stdout) == (0, plain.stdout)
    assert teed.stderr.count(b"fork(") + teed.stderr.count(b"clone(") >= 1
    assert b"lind: tee:" not in teed.stderr


def test_tee_stacks_given_as_groups_or_lists(tmp_path):
    for grates in (["tee:agree", "%{", "imfs:/data", "readonly:/data", "%}", "%{", "%}"],
                   ["tee:agree", ["imfs:/data", "readonly:/data"], []]):
        end, branch, imfs, readonly, start = stack_grates(["p.wasm"], grates).root
        tee = end.tee       # attached bottom first: start, A's grates, branch, B's, end
        assert isinstance(end, TeeEnd) and isinstance(branch, TeeBranch)
        assert isinstance(start, TeeStart) and start.tee is tee is branch.tee
        assert tee.policy == "agree" and tee.b == [] and tee.a == [imfs, readonly]
        assert [g.name for g in tee.a] == ["imfs", "readonly"]


def test_lind_grates_path_gives_a_c_grate_to_run_as_a_program():
    lind_grates = [sys.executable, "-m", "lind", "grates"]
    proc = subprocess.run([*lind_grates, "--path", "ns"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == str(resolve("ns").path)
    for args, message in ((["--path", "nope"], "lind: no C grate named 'nope'"),
                          (["--path", "clamp"], "lind: no C grate named 'clamp'"),
                          (["--path"], "usage: lind grates")):
        proc = subprocess.run([*lind_grates, *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and proc.stderr.startswith(message), proc.stderr


def test_a_clamp_of_python_grates_attaches_to_a_cage_directly(builds, tmp_path):
    """Runtime.spawn(grates=[Clamp(...)]): no command line to place wasm grates in, so
    only Python grate objects may be inside (a tee of them too)."""
    root = tmp_path / "root"
    for sub in ("tmp", "data"):
        (root / sub).mkdir(parents=True)
    inside, outside, tee_a, tee_b = Tag("inside"), Tag("outside"), Tag("tee_a"), Tag("tee_b")
    out = tmp_path / "out"
    with lind.Runtime() as runtime, open(out, "wb") as stdout:
        cage = runtime.spawn(builds.wasm("clamp/clamp_calls"), root=str(root),
                             stdin=stdout.fileno(), stdout=stdout.fileno(),
                             stderr=stdout.fileno(),
                             grates=[outside, Clamp(Under("/tmp"), [
                                 inside, Tee([tee_a], [tee_b], "first")])])
        cage.wait(60)
        for inner in (["imfs"], [Tee([], ["imfs"])]):
            with pytest.raises(ValueError, match="grates by name and wasm grates are placed"):
                runtime.spawn(builds.wasm("clamp/clamp_calls"), root=str(root),
                              grates=[Clamp(Under("/tmp"), inner)])
    assert cage.returncode == 0, out.read_text()
    # the tee below `inside` gives the program A's fds (4 for files under /tmp)
    assert (inside.seen, tee_a.seen, tee_b.seen) == (in_a(UNDER_TMP), in_a(UNDER_TMP), UNDER_TMP)
    assert outside.seen == in_a(PROGRAM[:3]) + PROGRAM[3:7] + in_a(PROGRAM[7:])


def test_a_path_the_clamp_cannot_read_is_efault(builds, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    tag = Tag("inside")
    done = lind.run([builds.wasm("clamp/clamp_badptr")], root=root, capture_output=True,
                    text=True, timeout=60, grates=[Clamp(Under("/tmp"), [tag])])
    assert done.stdout == "open: -1 Bad address\n" and tag.seen == []


def test_odd_registrations_inside_a_clamp_answer_as_without_it(builds, tmp_path):
    """Out-of-range call numbers, a cage that does not exist and a deregistration get
    what they get without the clamp; a handler for read (call 0) is routed like any."""
    expected = ["call 1024: -22", "call -1: -22", "no such cage: -3", "register 600: 0",
                "deregister 600: 0"]
    root = tmp_path / "root"
    for sub in ("tmp", "data"):
        (root / sub).mkdir(parents=True)
    grate = builds.wasm("clamp/odd_registrations")
    plain = lind.run([grate], root=root, capture_output=True, text=True, timeout=60)
    # the same program as the (only) grate inside a clamp; the program it would run
    # after it never runs
    clamped = lind.run([builds.wasm("args_env")], root=root, capture_output=True, text=True,
                       timeout=60, grates=["clamp:/tmp", [str(grate)]])
    assert plain.stdout.splitlines() == [*expected, "child 0, reads through the grate: 2"]
    assert clamped.stdout.splitlines() == [*expected, "child 0, reads through the grate: 1"]


def test_the_call_tables_cover_every_linux_call_in_python_and_in_c():
    """A path or fd clamp routes every call that may name a file or take an fd; only
    the calls known to do neither are left out (a route could never match them). The
    tables once missed pwritev2, sendfile, copy_file_range ..., and a clamped grate's
    handlers for them were silently dropped. Every Linux x86_64 name is classified,
    and ns.c knows the same path and fd arguments as the Python clamp."""
    from pathlib import Path

    from lind.grates import syscall_names, syscall_numbers
    from lind.grates.paths import (
        FD_ARGS,
        FD_RANGE_CALLS,
        NO_FILE_CALLS,
        PATH_CALLS,
        SOCKET_ADDRESS_CALLS,
    )

    names = set(syscall_names().values())
    files = {*PATH_CALLS, *FD_ARGS, *FD_RANGE_CALLS, *SOCKET_ADDRESS_CALLS}
    assert names - files - NO_FILE_CALLS == set(), "calls no table classifies"
    assert files & NO_FILE_CALLS == set() and files | NO_FILE_CALLS <= names
    for name, nr in syscall_numbers().items():
        assert Under("/data").may_match(nr) == (name in files), name

    source = (Path(lind.__file__).parent / "grates" / "c" / "ns.c").read_text()

    def table(name: str) -> set[tuple[str, int, int]]:
        body = re.search(rf"{name}\[\] = \{{(.*?)\n\}};", source, re.S)[1]
        return {(m[1], int(m[2]), int(m[3]))
                for m in re.finditer(r"\{SYS_(\w+), (-?\d+), (-?\d+)\}", body)}

    assert table("path_args") == {(name, a.path, -1 if a.dirfd is None else a.dirfd)
                                  for name, args in PATH_CALLS.items() for a in args}
    assert table("fd_args") == {(name, fds[0], fds[1] if len(fds) > 1 else -1)
                                for name, fds in FD_ARGS.items()}
