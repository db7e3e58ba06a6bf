"""Tenants of one Python service: several untrusted programs run at once in ONE process
through the Python API (one `lind.Runtime`, `lind.run`), each with its own root,
memory budget and timeout. One is hostile; the others must keep making progress and
get right results. Each test runs the service in a process of its own (a crash shows
as a signal there), with a steady tenant (attacks/steady.c: a counter written to a file
every 10 ms, read back at its end) beside the hostile one, and a canary outside every
root."""

from __future__ import annotations

import errno
import json
import re
from pathlib import Path

from test_attacks import attack, python, untouched

# The service: argv[1] is JSON: dir (scratch files), hostile (argv), hostile_memory,
# steady (argv), late (argv of a program lind.run starts `late_after` seconds after the
# hostile one, with `late_timeout`; and once the hostile one printed something, with
# `late_when_hostile_said`). Prints what each got, as JSON.
SERVICE = r"""
import json, os, subprocess, sys, time
import lind

spec = json.loads(sys.argv[1])
work = spec["dir"]
rt = lind.Runtime()

def stdio(tag):
    base = os.path.join(work, tag)
    return [os.open(base + suffix, flags, 0o600) for suffix, flags in (
        (".in", os.O_RDONLY | os.O_CREAT),
        (".out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC))]

def root(tag):
    path = os.path.join(work, tag + "-root")
    os.makedirs(path, exist_ok=True)
    return path

i, o, e = stdio("steady")
steady = rt.spawn(spec["steady"][0], spec["steady"][1:], root=root("steady"),
                  stdin=i, stdout=o, stderr=e, memory=64 << 20)
i, o, e = stdio("hostile")
hostile = rt.spawn(spec["hostile"][0], spec["hostile"][1:], root=root("hostile"),
                   stdin=i, stdout=o, stderr=e, memory=spec["hostile_memory"])
got = {}
if spec.get("late"):
    time.sleep(spec["late_after"])
    ready = time.monotonic() + 60      # and once the hostile one printed, if asked to
    while (spec.get("late_when_hostile_said") and time.monotonic() < ready
           and not os.path.getsize(os.path.join(work, "hostile.out"))):
        time.sleep(0.05)
    i, o, e = stdio("late")
    started = time.monotonic()
    try:
        got["late"] = lind.run(spec["late"], root=root("late"), stdin=i, stdout=o, stderr=e,
                               timeout=spec["late_timeout"], runtime=rt).returncode
    except subprocess.TimeoutExpired:
        got["late"] = "timeout"
    except OSError as exc:
        got["late"] = repr(exc)
    got["late_took"] = time.monotonic() - started
from lind.microvisor import limits
got["tree_fds"] = getattr(limits.host_fds, "tree_limit", limits.host_fds.limit)
got["steady"] = steady.wait(120)
got["hostile"] = hostile.wait(120)
print(json.dumps(got), flush=True)
"""


def service(tmp_path: Path, spec: dict, timeout: float = 180) -> tuple[dict, Path]:
    work = tmp_path / "service"
    work.mkdir()
    rc, out, err = python(tmp_path, "service", SERVICE, json.dumps({"dir": str(work), **spec}),
                          timeout=timeout)
    assert rc == 0, err[-3000:]
    return json.loads(out.splitlines()[-1]), work


def steady_ok(work: Path, tag: str = "steady") -> int:
    """The steady tenant's count, checked against the file it left."""
    out = (work / f"{tag}.out").read_text()
    found = re.fullmatch(r"count (\d+) maxgap (\d+)\n", out)
    assert found, f"{tag}: {out!r} {(work / f'{tag}.err').read_text()[-2000:]!r}"
    assert (work / f"{tag}-root" / "count").read_text() == f"{found[1]}\n"
    return int(found[1])


def fresh(program: Path, into: Path, tag: bytes) -> Path:
    """`program` with a custom section of its own, so that no cache holds its code."""
    payload = b"\x05fresh" + tag
    into.write_bytes(program.read_bytes() + b"\x00" + bytes([len(payload)]) + payload)
    into.chmod(0o755)
    return into


def test_a_tree_cannot_hold_every_compile_slot(builds, tmp_path, canary):
    """Compiles run a few at a time (one a CPU) for the whole process. A tenant whose
    children exec'd fresh, costly programs one after the other held every slot: another
    tenant's lind.run of a program no cache held waited for them, past its own timeout
    (3 s: it returned after ~24). A tree's compiles hold at most half the slots, and a
    run's timeout covers its program's compile."""
    late = fresh(builds.wasm(attack("steady")), tmp_path / "late.wasm", b"late")
    got, work = service(tmp_path, {
        "hostile": [str(builds.wasm(attack("compile_hog"))), "2", "20"],
        "hostile_memory": 64 << 20,
        "steady": [str(builds.wasm(attack("steady"))), "4000"],
        "late": [str(late), "300"], "late_after": 2.0, "late_timeout": 4})
    assert got["late"] == 0 and got["late_took"] < 4.5, got
    assert steady_ok(work, "late") >= 5
    assert got["steady"] == 0 and steady_ok(work) >= 100, got
    assert got["hostile"] == 0, got
    assert re.search(r"child\d execs \d+ errno 12\n", (work / "hostile.out").read_text())
    untouched(canary)


def test_a_tree_cannot_take_every_cage_of_its_runtime(builds, tmp_path, canary):
    """A Runtime holds at most max_cages cages and threads (1024). A tenant starting
    threads of 16 KiB stacks (1022 of them in a 64 MiB budget) took every one, and the
    next tenant's lind.run raised BlockingIOError (EAGAIN) at once; its forks and
    pthread_creates failed as well. One tree may hold three quarters of them."""
    got, work = service(tmp_path, {
        "hostile": [str(builds.wasm(attack("thread_hoard"))), "6"],
        "hostile_memory": 64 << 20,
        "steady": [str(builds.wasm(attack("steady"))), "3000"],
        "late": [str(builds.wasm(attack("steady"))), "300"], "late_after": 0.5,
        "late_when_hostile_said": True, "late_timeout": 30})
    assert got["late"] == 0, (got, (work / "late.err").read_text()[-2000:])
    assert steady_ok(work, "late") >= 5
    assert got["steady"] == 0 and steady_ok(work) >= 100, got
    assert (work / "hostile.out").read_text() == f"threads 767 error {errno.EAGAIN}\n"
    assert got["hostile"] == 0, got
    untouched(canary)


def test_a_tree_cannot_take_every_host_fd_of_the_process(builds, tmp_path, canary):
    """Every file, pipe end, timer, wake eventfd and shared memfd of every cage is a
    host fd of the one Lind process, within its RLIMIT_NOFILE less a reserve (~17,500
    here). A tenant of six children, each raising its RLIMIT_NOFILE to 4096 and opening
    files and pipes, took all of them: the other tenants' opens failed with ENFILE (the
    steady one ended at its next write). One tree's cages hold a quarter of them at
    most (ENFILE past it); the others keep opening."""
    got, work = service(tmp_path, {
        "hostile": [str(builds.wasm(attack("fd_fanout"))), "6", "8"],
        "hostile_memory": 128 << 20,
        "steady": [str(builds.wasm(attack("steady"))), "5000"],
        "late": [str(builds.wasm(attack("steady"))), "300"], "late_after": 0.5,
        "late_when_hostile_said": True, "late_timeout": 30})
    said = (work / "hostile.out").read_text()
    found = re.fullmatch(r"holding (\d+) errors((?: \d+){6})\n", said)
    assert found, said
    assert int(found[1]) <= got["tree_fds"] and f" {errno.ENFILE}" in found[2], (said, got)
    assert got["late"] == 0, (got, (work / "late.err").read_text()[-2000:])
    assert steady_ok(work, "late") >= 5
    assert got["steady"] == 0 and steady_ok(work) >= 100, got
    assert got["hostile"] == 0, got
    untouched(canary)


def test_msync_holds_no_lock_other_tenants_fork_with(builds, tmp_path, canary):
    """A file's shared pages are loaded (mmap) and written back (msync, munmap, exit)
    by the microvisor, page by page. It did that holding the module's one lock, which
    every cage's fork, munmap and exit of a MAP_SHARED mapping also takes: a tenant
    msync'ing a 32 MiB mapping in a loop held it nearly all the time, and a tenant
    forking a child over a shared page every 10 ms made 17 rounds in 3 s (275 alone),
    waiting up to 0.4 s each. A set of pages has a lock of its own for that work."""
    got, work = service(tmp_path, {
        "hostile": [str(builds.wasm(attack("msync_hog"))), "32", "6"],
        "hostile_memory": 128 << 20,
        "steady": [str(builds.wasm(attack("steady"))), "3000", "shared"]})
    assert got["steady"] == 0 and steady_ok(work) >= 100, (got, steady_ok(work))
    assert re.fullmatch(r"rounds \d+ worst msync \d+ ms\n", (work / "hostile.out").read_text())
    assert got["hostile"] == 0, got
    untouched(canary)


def test_a_tenant_s_children_ending_wake_no_other_tenant_s_waiting_parent(builds, tmp_path,
                                                                          canary):
    """Every cage's end woke every parent waiting in waitpid, in every tree of the
    runtime (one condition for them all): a tenant making and reaping children woke each
    waiting parent of every other tenant once per child, each taking Python's lock to
    look and sleep again. A waitpid now waits on its own cage's condition. Counted here
    by host thread (each cage's first thread is named after it): four tenants' parents
    blocked in waitpid while a fifth makes 200 children."""
    script = r"""
import collections, os, sys, threading, time, types
from lind.cage import cage as cage_module, runtime as runtime_module
woken = collections.Counter()

class Counting(threading.Condition):
    def wait(self, timeout=None):
        try:
            return super().wait(timeout)
        finally:
            woken[threading.current_thread().name] += 1

counting = types.ModuleType("threading")
counting.__dict__.update(vars(threading))
counting.Condition = Counting
cage_module.threading = runtime_module.threading = counting
import lind
program, scratch = sys.argv[1:]
rt = lind.Runtime()

def spawn(tag, *args):
    os.makedirs(f"{scratch}/{tag}-root", exist_ok=True)
    fds = [os.open(f"{scratch}/{tag}.{s}", f | os.O_CREAT, 0o600)
           for s, f in (("in", os.O_RDONLY), ("out", os.O_WRONLY), ("err", os.O_WRONLY))]
    return rt.spawn(program, list(args), root=f"{scratch}/{tag}-root", stdin=fds[0],
                    stdout=fds[1], stderr=fds[2])

waiting = [spawn(f"wait{n}", "wait") for n in range(4)]
for n in range(4):
    while open(f"{scratch}/wait{n}.out").read() != "waiting\n":
        time.sleep(0.05)
time.sleep(0.2)                       # into waitpid
before = {c.id: woken[f"cage-{c.id}"] for c in waiting}
churn = spawn("churn", "churn", "200")
churn.wait(120)
print(open(f"{scratch}/churn.out").read().strip(),
      max(woken[f"cage-{c.id}"] - before[c.id] for c in waiting), flush=True)
rt.close()
os._exit(0)
"""
    rc, out, err = python(tmp_path, "churn", script, builds.wasm(attack("wait_churn")), tmp_path,
                          timeout=180)
    assert (rc, out) == (0, "churned 200 0\n"), (out, err[-2000:])
    untouched(canary)
