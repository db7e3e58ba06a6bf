"""The life of a process tree: init semantics, the end of a run, shutdown, identity.

A tree behaves like a Linux PID namespace whose init is its first cage: orphans go to
it, and its end kills the rest. When `lind.run` returns (or times out) no cage of the
run is left: no thread, no CPU. The Lind process never crashes while it shuts down,
whatever grate runs and whatever its cages were doing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import lind

# -- the end of a run ends its tree ------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path):
    """Run a cage in a root of its own, stdin from a scratch pipe, with a canary beside
    the root that must come out untouched."""
    root = tmp_path / "root"
    root.mkdir()
    canary = tmp_path / "canary"
    canary.write_bytes(b"canary\n")

    def run(args, **kw):
        return lind.run([str(a) for a in args], root=root, input=b"", capture_output=True,
                        **kw)

    yield run
    assert canary.read_bytes() == b"canary\n"


def test_children_left_running_are_killed_when_the_run_returns(builds, sandbox, no_cage_left):
    r = sandbox([builds.wasm("lifecycle/orphans"), "4", "20"], timeout=60)
    assert r.returncode == 0 and r.stdout == b"parent exits with children running\n"
    no_cage_left()


def test_a_handler_spinning_in_a_grate_stops_when_the_grate_exits(builds, sandbox,
                                                                  no_cage_left):
    """The child's call spins in the grate's handler, on the child's thread; the grate
    (the first cage) exits: the run returns and the handler stops."""
    r = sandbox([builds.wasm("lifecycle/spin_grate"), "exit"], timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"grate: child is spinning\n"
    assert b"sched_yield returned" not in r.stdout and b"handler failed" not in r.stderr
    no_cage_left()


def test_timeout_stops_the_whole_tree_and_its_grate_workers(builds, sandbox, no_cage_left):
    with pytest.raises(subprocess.TimeoutExpired) as info:
        sandbox([builds.wasm("lifecycle/spin_grate"), "wait"], timeout=1)
    assert info.value.stdout == b"grate: child is spinning\n"
    no_cage_left()


def test_timeout_on_a_runtime_of_ones_own_leaves_no_cage_in_it(builds, sandbox, no_cage_left):
    rt = lind.Runtime()
    with pytest.raises(subprocess.TimeoutExpired):
        sandbox([builds.wasm("lifecycle/orphans"), "3", "5000"], runtime=rt, timeout=0.3)
    assert rt.cages == {}
    no_cage_left()


def test_a_lind_bug_while_a_cage_ends_still_ends_it(builds, sandbox, no_cage_left, monkeypatch,
                                                    capfd):
    """A step of a cage's end that raises (here SysV IPC's, a stand-in for any bug) is
    reported, and the steps after it still run: its fds close, so the run returns with
    the output and the program's status instead of hanging, and the runtime goes on."""
    from lind.microvisor import sys_ipc

    def broken(cage) -> None:
        raise RuntimeError("a bug in ending a cage")

    monkeypatch.setattr(sys_ipc, "cage_ended", broken)
    rt = lind.Runtime()
    r = sandbox([builds.wasm("lifecycle/orphans"), "2", "20"], runtime=rt, timeout=30)
    assert r.returncode == 0 and r.stdout == b"parent exits with children running\n"
    reported = capfd.readouterr().err       # Lind's own stderr, not the cage's
    assert "internal error in cage" in reported and "a bug in ending a cage" in reported
    assert rt.cages == {}
    monkeypatch.undo()
    assert sandbox([builds.wasm("lifecycle/orphans"), "1", "20"], runtime=rt, timeout=30
                   ).returncode == 0
    no_cage_left()


# -- init adopts orphans -----------------------------------------------------------------

def test_orphans_and_zombies_are_reparented_to_the_first_cage(builds, tmp_path):
    """Natively the program makes itself a child subreaper, which is what init is."""
    native = subprocess.run([str(builds.native("lifecycle/reparent"))], capture_output=True,
                            timeout=60)
    caged = lind.run([builds.wasm("lifecycle/reparent")], root=tmp_path, capture_output=True,
                     timeout=60)
    expected = (b"B: parent is init: 1\nwait ended with ECHILD 1 after 3 children: 3 5 7\n"
                b"SIGCHLD seen: 1\n")
    assert native.stdout == expected
    assert caged.stdout == expected and caged.returncode == 0


# -- shutdown never crashes the host -----------------------------------------------------

# (program, arguments, runs per grate): the signal and fork programs of the suite.
SHUTDOWN_PROGRAMS = [
    ("sig_handlers", [], 2), ("sig_wait", [], 2), ("sig_interrupt", [], 2),
    ("sig_jump", [], 2), ("sig_children", [], 2), ("sig_hostread", [], 2),
    ("sig_fatal", ["alarm"], 2), ("forks", [], 2), ("prefork", [], 2),
    ("lifecycle/orphans", ["3", "20"], 3),
]


def _shutdown_grates(tmp_path) -> list[str]:
    """Every shipped grate, with the arguments it needs."""
    policy = tmp_path / "allow-all.policy"
    policy.write_text("default allow\n")
    grates = ["strace", "fakeroot", f"seccomp:{policy}", "readonly", "fsview:/view=/",
              "chroot:/", "imfs", "aquarium:/", "netfilter", "clamp:/data=readonly",
              "ns:--prefix /data %{ %}",                        # an empty clamp, in C
              "tee:agree %{ --grate readonly %} %{ %}"]         # the marks follow it
    from lind.grates.registry import shipped
    assert {g.split(":")[0] for g in grates} == set(shipped())
    return grates


def _lind_run(root, stdio, grate: str | None, program: str, args: list[str]) -> int | str:
    """One `lind run` in its own process: its exit status, or "hung"."""
    grate_args = []
    if grate:       # a tee's stacks follow it as tokens of their own
        name, _, stacks = grate.partition(" ") if grate.startswith("tee") else (grate, "", "")
        grate_args = ["--grate", name, *stacks.split()]
    with open(stdio / "in", "rb") as i, open(stdio / "out", "ab") as o, \
            open(stdio / "err", "ab") as e:
        try:
            return subprocess.run([sys.executable, "-m", "lind", "run", "--root", str(root),
                                   *grate_args, "--", str(root / program), *args],
                                  stdin=i, stdout=o, stderr=e, timeout=30).returncode
        except subprocess.TimeoutExpired:
            return "hung"


def test_signal_and_fork_programs_end_cleanly_under_every_grate(builds, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    stdio = tmp_path / "stdio"
    stdio.mkdir()
    (stdio / "in").write_bytes(b"line one\nline two\n")   # scratch stdio, not the host's
    for name, _, _ in SHUTDOWN_PROGRAMS:
        shutil.copy(builds.wasm(name), root / os.path.basename(name))
    baseline = {name: _lind_run(root, stdio, None, os.path.basename(name), args)
                for name, args, _ in SHUTDOWN_PROGRAMS}
    assert all(isinstance(s, int) and 0 <= s < 256 for s in baseline.values()), baseline
    jobs = [(grate, name, args) for grate in _shutdown_grates(tmp_path)
            for name, args, runs in SHUTDOWN_PROGRAMS for _ in range(runs)]
    with ThreadPoolExecutor(2) as pool:
        statuses = list(pool.map(
            lambda job: _lind_run(root, stdio, job[0], os.path.basename(job[1]), job[2]),
            jobs))
    wrong = [(grate, name, status) for (grate, name, _), status in zip(jobs, statuses, strict=True)
             if status != baseline[name]]
    assert wrong == [], f"baseline {baseline}"


# -- who and where a cage is ---------------------------------------------------------------

def _identity_root(tmp_path) -> tuple[str, str]:
    """A root with a file of the user running Lind (/mine), and a mount of a directory
    another user owns (/other): root's "/" for an ordinary user, a chown'd one for root."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "mine").write_text("x")
    other = "/"
    if os.geteuid() == 0:
        other = str(tmp_path / "other")
        os.mkdir(other)
        os.chown(other, 4242, 4243)
    return str(root), f"{other}:/other:ro"


def test_a_cage_sees_its_own_identity_and_a_virtual_kernel(builds, tmp_path):
    root, mount = _identity_root(tmp_path)
    r = lind.run([builds.wasm("lifecycle/identity"), "/mine", "/other"], root=root,
                 mounts=[mount], capture_output=True, timeout=60)
    assert r.stdout == (b"uid 1000 euid 1000 gid 1000 egid 1000\n"
                        b"/mine: owner 1000 group 1000\n/other: owner 65534 group 65534\n"
                        b"Linux lind 6.1.0-lind #1 SMP lind x86_64\n")


def test_identity_and_hostname_are_chosen_per_run(builds, tmp_path):
    root, mount = _identity_root(tmp_path)
    r = lind.run([builds.wasm("lifecycle/identity"), "/mine", "/other"], root=root,
                 mounts=[mount], capture_output=True, timeout=60, user=(0, 50), hostname="box")
    assert r.stdout == (b"uid 0 euid 0 gid 50 egid 50\n"
                        b"/mine: owner 0 group 50\n/other: owner 65534 group 65534\n"
                        b"Linux box 6.1.0-lind #1 SMP lind x86_64\n")
    with pytest.raises(ValueError, match="bad user"):
        lind.run([builds.wasm("lifecycle/identity")], user=(-1, 0))


def test_identity_from_the_command_line(builds, tmp_path):
    root, _ = _identity_root(tmp_path)
    cmd = [sys.executable, "-m", "lind", "run", "--root", root]
    prog = [str(builds.wasm("lifecycle/identity")), "/mine"]
    r = subprocess.run([*cmd, "--user", "7:8", "--hostname", "h1", "--", *prog],
                       capture_output=True, timeout=60)
    assert r.returncode == 0
    assert r.stdout == (b"uid 7 euid 7 gid 8 egid 8\n/mine: owner 7 group 8\n"
                        b"Linux h1 6.1.0-lind #1 SMP lind x86_64\n")
    r = subprocess.run([*cmd, "--user", "12", "--", *prog], capture_output=True, timeout=60)
    assert r.stdout.startswith(b"uid 12 euid 12 gid 12 egid 12\n")
    bad = subprocess.run([*cmd, "--user", "me", "--", *prog], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and bad.stderr == "lind: bad user 'me': expected UID[:GID]\n"


def test_a_call_restarted_after_a_handler_works_through_a_wasm_grate(builds, tmp_path):
    """strace forwards the cage's blocking read; SIGALRM with SA_RESTART interrupts it: the
    cage's handler must run and the cage restart the call, not the grate on its own."""
    plain = lind.run([builds.wasm("sig_interrupt")], root=tmp_path, capture_output=True,
                     timeout=60)
    traced = lind.run([builds.wasm("sig_interrupt")], root=tmp_path, capture_output=True,
                      timeout=60, grates=["strace"])
    assert b"read, SA_RESTART: 1\nread got '!'\n" in plain.stdout
    assert traced.stdout == plain.stdout and traced.returncode == plain.returncode == 0


_LEAVE_CAGES_RUNNING = """
import os, sys, time
import lind
spin, orphans, reader, root = sys.argv[1:]
rt = lind.Runtime()
for _ in range(2):
    rt.spawn(spin, ["wait"], root=root)            # a grate handler spinning
rt.spawn(orphans, ["3", "5"], root=root)           # children signalling, forking
r, w = os.pipe()
rt.spawn(reader, [], root=root, stdin=r)           # blocked in a host read: unstoppable
time.sleep(0.3)
print("leaving", flush=True)
"""


def test_the_interpreter_exits_cleanly_with_cages_still_running(builds, tmp_path):
    """A program using lind.Runtime exits without waiting for its cages: Lind stops them
    before Python frees anything (and keeps what a cage stuck in a host read uses)."""
    progs = [str(builds.wasm(n)) for n in ("lifecycle/spin_grate", "lifecycle/orphans",
                                             "stdin_echo")]
    (tmp_path / "in").write_bytes(b"")
    for _ in range(3):
        with open(tmp_path / "in", "rb") as i, open(tmp_path / "out", "wb+") as out:
            proc = subprocess.run([sys.executable, "-c", _LEAVE_CAGES_RUNNING, *progs,
                                   str(tmp_path)], stdin=i, stdout=out, stderr=out,
                                  timeout=60)
            out.seek(0)
            output = out.read()
            assert proc.returncode == 0, output
            assert output.count(b"grate: child is spinning\n") == 2
            assert output.endswith(b"leaving\n")


def test_a_killed_run_leaves_no_private_directory_behind(builds, tmp_path):
    """A run without a root gets host directories of its own (its root, /tmp, /dev/shm),
    removed at its end; a `lind run` killed with SIGKILL (or by the OOM killer) left them
    and what its cages wrote there on the host for ever. The next run removes them, and
    not those of a run still going beside it."""
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    home = scratch / f"lind-private-{os.geteuid()}"
    env = {**os.environ, "TMPDIR": str(scratch), "LIND_NO_SERVER": "1"}
    command = [sys.executable, "-m", "lind", "run", str(builds.wasm("lifecycle/scratch_files"))]

    def start() -> tuple[subprocess.Popen, set[str]]:
        before = set(os.listdir(home)) if home.exists() else set()
        run = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
        assert run.stdout.readline() == b"written\n"
        return run, set(os.listdir(home)) - before

    killed, killed_dirs = start()
    beside, beside_dirs = start()
    assert len(killed_dirs) == len(beside_dirs) == 3       # root, tmp, dev-shm
    killed.kill()
    killed.wait()
    assert killed_dirs <= set(os.listdir(home))            # nothing could remove them
    done = subprocess.run(command, input=b"", capture_output=True, env=env, timeout=60)
    assert (done.returncode, done.stdout) == (0, b"written\nkept\n"), done.stderr
    assert set(os.listdir(home)) == beside_dirs           # the killed run's are gone
    out, err = beside.communicate(b"", timeout=60)
    assert (beside.returncode, out) == (0, b"kept\n"), err
    assert os.listdir(home) == []


_MAKE_AND_REMOVE = """
import os, sys
from lind.microvisor import fs
for _ in range(int(sys.argv[1])):
    fs._swept.clear()                   # each one sweeps, as each new process does
    made = fs.PrivateDir("stress")
    with open(os.path.join(made.path, "file"), "w"):
        pass
    made.remove()
"""


def test_private_directories_made_while_others_sweep_are_kept(tmp_path):
    """Four processes each make 300 private directories while sweeping before each one:
    a sweep could take a directory another process had just made and not yet held (a run
    started beside another then failed: "lind: No such file or directory")."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    runs = [subprocess.Popen([sys.executable, "-c", _MAKE_AND_REMOVE, "300"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()[-1000:]
    assert os.listdir(tmp_path / f"lind-private-{os.geteuid()}") == []
