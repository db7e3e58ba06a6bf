"""The cooperative runtime (lind.portable.runtime): cages on one thread with no host
system call, here on the wasmtime engine (test_web runs it on Node's and Chromium's
WebAssembly through Pyodide). Real programs against gcc's builds; the limits where
it must refuse; escapes from its tree."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import wasmtime
from test_attacks import _LIND_MAX_RSS, attack, make_root, python, untouched
from test_portable import plant_secret, snapshot
from test_programs import run_native

from lind.engine import EngineError, new_engine
from lind.portable import Tree, syscalls
from lind.portable.runtime import Runtime

ENV = {"GREETING": "hi there"}
# programs whose output must match the native build's exactly on this runtime
MATCHED = [
    ("args_env", ["7", "two words", "three"]),
    ("files", []), ("dirs", []), ("heap", []), ("clock", []), ("numbers", []),
    ("pipeline", []),          # fork, exec of itself, pipes between three cages
    ("forks", []),             # fork, wait, WNOHANG, exec, exit statuses
    ("jumps", []),             # setjmp/longjmp and sigsetjmp across fork, through Asyncify
    ("fdops", []), ("resolve", []), ("prefork", []), ("stdin_echo", []),
]


def run_cooperative(wasm: Path, args: list[str], *, tree: Tree | None = None,
                    stdin: bytes = b"", **options) -> tuple[int, str, str]:
    out, err = bytearray(), bytearray()
    runtime = Runtime(tree=tree, stdin=stdin, stdout=out.extend, stderr=err.extend,
                      timeout=options.pop("timeout", 60), **options)
    code = runtime.run(wasm.read_bytes(), [wasm.stem.split("-")[0], *args],
                       [f"{k}={v}" for k, v in ENV.items()])
    return code, out.decode(errors="replace"), err.decode(errors="replace")


# ...and built with --suspendable, so that every wait sets the cage aside
SUSPENDED = ["pipeline", "forks", "jumps", "stdin_echo", "files", "fdops"]
CASES = [(name, args, ()) for name, args in MATCHED] + [
    (name, args, ("--suspendable",)) for name, args in MATCHED if name in SUSPENDED] + [
    ("locks_sqlite", [], ("--suspendable",)),   # SQLite's fcntl locking, reader and writer
    ("locks", [], ("--suspendable",)),   # every lock kind; F_SETLKW ended by SIGALRM
    ("sig_children", [], ("--suspendable",)),   # signals across fork and exec
    ("coop_talk", ["flock"], ("--suspendable",)),   # flock, F_GETLK, F_SETLKW waiting
    ("coop_talk", ["masks"], ()),   # sigsuspend, ppoll under a mask: masks put back
    ("coop_talk", ["masks"], ("--suspendable",)),   # ...while the cage waits aside
    # limits, CPU time of itself and of its children, sysinfo, nice values, prctl, waitid
    ("coop_resources", ["usage"], ("--suspendable",)),
]


@pytest.mark.parametrize(("name", "args", "flags"), CASES,
                         ids=["-".join([c[0], *c[1][:1], *("suspendable" for _ in c[2])])
                              for c in CASES])
def test_programs_match_native(builds, tmp_path, name, args, flags):
    """Each program on a tree filled from a directory that also seeds the native run;
    the directory is unchanged afterwards (the tree is a copy)."""
    for side in ("native", "cage"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "seed.txt").write_text("from the host\n")
    before = snapshot(tmp_path / "cage")
    stdin = b"alpha\nbeta\ngamma\n"
    native = run_native(builds.native(name), args, tmp_path / "native", ENV, input=stdin)
    tree = Tree()
    tree.load(tmp_path / "cage")
    code, out, err = run_cooperative(builds.wasm(name, *flags), args, tree=tree, stdin=stdin)
    assert out == native.stdout.decode(errors="replace"), err
    assert code == native.returncode
    assert "FAIL" not in out
    assert snapshot(tmp_path / "cage") == before


def test_refusals_and_limits(builds):
    """What this runtime cannot do fails with a clear errno, and what a cage asks for
    beyond the run's limits fails in the cage, never in the host (a writev naming one
    buffer a thousand times is a short write): exec of a file without x or not a
    program, sockets beyond the run's own (packets, other families, other hosts),
    shared file mappings, a wait that could never end (EDEADLK, said on stderr),
    SIGPIPE, 3 GiB of memory, the process limit."""
    code, out, err = run_cooperative(builds.wasm("coop_edges"), [], max_processes=40)
    assert code == 0, err
    assert out.splitlines() == [
        "exec without x: -1 Permission denied",
        "exec of text: -1 Exec format error",
        "exec missing: -1 No such file or directory",
        "wait without children: -1 No child process",
        "exec with 4 MB of arguments: -1 Argument list too long",
        "packet socket: -1 Socket type not supported",
        "netlink socket: -1 Address family not supported by protocol",
        "connect to 10.1.2.3: -1 Network unreachable",
        "bind to 10.1.2.3: -1 Address not available",
        "passing an fd: 1 ok",
        "shared file mapping: -1 No such device",
        "private file mapping: not a program",
        "read of a pipe only this cage writes: -1 Resource deadlock would occur",
        "writer without readers: signaled 1 signal 13",
        "64 MiB malloc: ok",
        "3 GiB mmap: -1 Out of memory",
        "forks before the limit: 39, then Resource temporarily unavailable",
        "writev of 1024 x 64 MiB: 16777216 ok",     # a short write, not 64 GiB copied
    ]
    assert "would wait forever for input" in err


def test_cages_waiting_on_one_another_are_bounded(builds):
    """A chain of 100 cages each waiting for the next: one thread holds 24 of them
    waiting at once (each is on the host stack); the 24th wait is EDEADLK, said on
    stderr, and the run goes on -- the host's stack never runs out."""
    code, out, err = run_cooperative(builds.wasm("coop_chain"), ["100"])
    assert code == 2
    assert out.splitlines() == [*(f"wait at depth {d}: Resource deadlock would occur"
                                  for d in (24, 48, 72, 96)), "reached depth 100"]
    assert "24 cages already wait on one another" in err


def test_suspendable_cages_answer_each_other(builds, tmp_path):
    """Built with --suspendable, a parent and three children trade numbers over pipes
    a thousand times (each side polls, reads, sleeps once): each wait sets the cage
    aside, so the run matches Linux's. Built without it, the children's polls could
    only run on top of one another and time out."""
    native = run_native(builds.native("coop_talk"), ["talk", "1000"], tmp_path, {})
    code, out, err = run_cooperative(builds.wasm("coop_talk", "--suspendable"),
                                     ["talk", "1000"])
    assert (code, out) == (0, native.stdout.decode()), err
    assert out.count("after 1000 rounds, exit 0") == 3


# conformance programs (tests/programs/conformance) that must match Linux here too
CONFORMING = ["net_tcp", "net_waits", "net_unix", "signal_calls", "signal_more", "signal_edges",
              "handler_fork", "fifo_opens", "file_calls", "file_edges", "path_edges",
              "path_limits", "events", "event_edges", "jmpbuf_copies", "memfd_seals",
              "fd_ioctls", "link_remove_names", "tree_walks", "open_flags"]


@pytest.mark.parametrize("name", CONFORMING)
def test_conformance_programs_match_native(builds, tmp_path, name):
    """Built with --suspendable, as a forking server and its clients need: TCP on the
    run's own loopback (a forking echo server, half-close, names, options, errors,
    MSG_PEEK, MSG_WAITALL, FIONREAD, SIGPIPE ignored and not; non-blocking sockets,
    poll and select over clients, SO_RCVTIMEO, calls a signal interrupts or restarts,
    UDP over IPv4 and IPv6 with sendmsg, sendmmsg and recvmmsg); Unix sockets
    (socketpair across fork, names in the tree and abstract, autobind, datagrams with
    MSG_TRUNC, sequenced packets, descriptors passed with SCM_RIGHTS, SO_PEERCRED); signals (handlers run in
    the cage, masks, pending, sigsuspend, sigtimedwait, sigqueue, si_code by sender,
    timers, SIGCHLD, default actions, process groups, EINTR of a read, a futex, a
    poll, sigaltstack; a timer's handler that interrupts a loop making no calls, and
    forks or longjmps inside itself; a handler of either C type called with the
    arguments its wasm type takes, as Linux passes three to any); a jmp_buf copied
    and jumped to from its copy; memfds and their seals; FIFOs' rendezvous in
    either order, O_RDWR, O_NONBLOCK's ENXIO, an open ended by SIGALRM; file calls at
    their edges (renameat2's flags, unlinkat's, dup3's and pipe2's, times to the
    nanosecond and UTIME_OMIT, fallocate, /dev/null and /dev/zero against their access
    modes, O_PATH of a link), trailing slashes and links followed through them,
    ENAMETOOLONG from PATH_MAX bytes, EFAULT for NULL, AT_EMPTY_PATH; epoll over
    sockets, pipes and event files (level- and edge-triggered, EPOLLONESHOT,
    EPOLLEXCLUSIVE's rules, an epoll inside another, items that outlive their fd, a
    forking epoll server), eventfd counters, semaphores and overflow, timerfds on every
    clock (absolute, periodic, waited for with no timeout), signalfd reads and sigqueue's
    value, epoll_pwait's mask put back -- as on Linux."""
    native = run_native(builds.native(f"conformance/{name}"), [], tmp_path, {})
    assert native.returncode == 0, native.stderr
    code, out, err = run_cooperative(builds.wasm(f"conformance/{name}", "--suspendable"), [])
    assert (code, out) == (0, native.stdout.decode()), err


# Conformance programs that meet what this runtime cannot give: why, the lines that show
# it (by their start; left out of the comparison), and one of them as it reads here.
BUT_FOR = {
    "process_edges": ("a file's MAP_SHARED needs memory shared with the host",
                      ("mmap file validate:", "file reads:",
                       "mmap file shared, unknown flag ignored:"),
                      "mmap file validate: errno 19"),
    "file_modes": ("the tree is a tmpfs of at most 1 GiB whose files are not sparse",
                   ("  type ef53", "  type 1021994 bsize", "pwrite past 4 GiB",
                    "pwritev past 4 GiB", "  size "),
                   "pwrite past 4 GiB: -1 28"),
}


@pytest.mark.parametrize("name", list(BUT_FOR))
def test_conformance_programs_match_native_but_for_what_needs_a_host(builds, tmp_path, name):
    """process_edges: a SIGCHLD handler without SA_RESTART runs for the very child
    waitpid reports (the child, not EINTR), the first process may call setsid, mmap's
    flags are checked in Linux's order (MAP_SHARED_VALIDATE of anonymous memory EINVAL,
    a bad fd EBADF before anything else); file_modes: open's modes and umask, chmod and
    chown, times, sendfile, close_range, memfd names and seals, pwritev2 -- as on Linux."""
    reason, left_out, shown = BUT_FOR[name]
    native = run_native(builds.native(f"conformance/{name}"), [], tmp_path, {})
    code, out, err = run_cooperative(builds.wasm(f"conformance/{name}", "--suspendable"), [])

    def kept(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith(left_out)]

    assert (code, kept(out)) == (0, kept(native.stdout.decode())), err
    assert shown in out.splitlines(), reason


# Calls the fuzz leaves out: they end, replace, fork or pause the cage, send it signals
# whose default is to end it, set handlers at random addresses, or sleep for as long as
# their arguments say -- each has tests of its own.
_NOT_FUZZED = {13, 34, 35, 37, 38, 56, 57, 58, 59, 60, 61, 62, 128, 129, 130, 200, 230,
               231, 234, 247, 297, 7, 23, 232, 270, 271, 281, 441}


def test_no_call_lets_an_exception_out_whatever_its_arguments(builds):
    """Every call of the table, 100 times with arguments a fuzzer picks: each answers
    with a result or an errno; none ends the cage with an exception of the runtime's
    own (a trap of the cage's code, say a jump through a pointer a call scribbled
    over, is the cage's)."""
    wasm = builds.wasm("coop_fuzz").read_bytes()
    escaped = []
    for nr in sorted(set(syscalls.TABLE) - _NOT_FUZZED - set(range(1018, 1024))):
        err = bytearray()
        Runtime(stdout=lambda _: None, stderr=err.extend, timeout=30).run(
            wasm, ["coop_fuzz", str(nr), "100"])
        escaped += [f"{syscalls.NAMES.get(nr)}: {line}" for line in err.decode().splitlines()
                    if line.startswith("lind: cage") and ": Trap:" not in line]
    assert escaped == []


def test_ids_calls_match_native_root(builds, tmp_path):
    """Every cage is root of its own tree: setresuid, setresgid, setgroups and their kin
    change what get* answer, fork passes them on, capabilities and dumpable follow the
    effective uid, and once no id is 0 Linux's rules for the unprivileged apply -- as
    a root process on Linux."""
    if os.geteuid() != 0:       # the suite runs as root (README), as CI does
        pytest.fail("the native reference of the id calls must run as root")
    native = run_native(builds.native("coop_resources"), ["ids"], tmp_path, {})
    code, out, err = run_cooperative(builds.wasm("coop_resources", "--suspendable"), ["ids"])
    assert (code, out) == (0, native.stdout.decode()), err


def test_a_run_has_one_cpu(builds):
    """One thread runs every cage: sysconf, sched_getaffinity and get_nprocs say one CPU
    (`nproc` prints 1)."""
    code, out, err = run_cooperative(builds.wasm("coop_resources"), ["cpus"])
    assert (code, out) == (0, "1 1 1 1\n"), err


@pytest.mark.parametrize("flags", [(), ("--suspendable",)], ids=["nested", "suspendable"])
def test_a_wait_nobody_can_end_is_edeadlk(builds, flags):
    """A child reads a pipe whose only writer is its parent, which waits for the child:
    Linux hangs; this runtime tells the last cage that began to wait EDEADLK (said on
    stderr) and the rest goes on, whether the cages wait on the host stack or aside."""
    code, out, err = run_cooperative(builds.wasm("coop_talk", *flags), ["stuck"])
    assert code == 0
    assert out.splitlines() == ["child: read gave -1 (Resource deadlock would occur)",
                                "parent: child exit 3"]
    assert "cage 2 would wait forever for input" in err


def test_suspendable_cages_waiting_on_one_another_are_not_bounded(builds):
    """The chain of 100 cages each waiting for the next (24 at most on the host stack,
    above): set aside, none of them holds the host stack, so all 100 wait."""
    code, out, err = run_cooperative(builds.wasm("coop_chain", "--suspendable"), ["200"])
    assert (code, out) == (0, "reached depth 200\n"), err


def test_parked_cages_are_stopped_at_the_timeout(builds):
    """Every cage set aside (a child sleeping ten minutes, its parent waiting for it):
    the run ends at its timeout, each cage killed as by SIGKILL."""
    started = time.monotonic()
    code, out, _ = run_cooperative(builds.wasm("coop_talk", "--suspendable"), ["nap"],
                                   timeout=1.5)
    assert (code, out) == (-9, "parent: waiting\n")
    assert time.monotonic() - started < 30


def test_memory_of_the_whole_run_is_bounded(builds):
    """Forked copies count against the run's memory limit: ENOMEM in the cage."""
    code, out, _ = run_cooperative(builds.wasm("coop_edges"), [], memory_limit=200 << 20)
    assert code == 0
    made = int(out.split("forks before the limit: ")[1].split(",")[0])
    assert 0 < made < 39 and "then Out of memory" in out


def test_a_computing_cage_is_stopped_at_the_timeout(builds):
    """A loop that makes no call is stopped by the engine (wasmtime's epoch), not at
    its next call, which never comes: killed, as by SIGKILL."""
    code, _, _ = run_cooperative(builds.wasm("coop_edges"), ["spin"], timeout=1.5)
    assert code == -9


def test_escapes_reach_nothing_outside_the_tree(builds, tmp_path, canary):
    """escape.c's attempts (links planted to a secret outside the root, `..` past /,
    bad pointers) find nothing: the tree is all a cage can name."""
    root, secret = plant_secret(tmp_path)
    before = snapshot(root)
    tree = Tree()
    tree.load(root)
    code, out, err = run_cooperative(builds.wasm("escape"), [str(secret)], tree=tree)
    assert code == 0, out + err
    assert "ESCAPED" not in out
    assert "tried=11 escaped=0" in out
    assert snapshot(root) == before
    untouched(canary)


def test_a_saved_tree_keeps_what_the_programs_wrote(builds, tmp_path):
    """The tree after a run holds the files a forked pipeline made; saved as a zip it
    loads back the same."""
    tree = Tree()
    code, _, err = run_cooperative(builds.wasm("files"), [], tree=tree)
    assert code == 0, err
    tree.save(tmp_path / "after.zip")
    again = Tree()
    again.load(tmp_path / "after.zip")
    names = sorted(path for path, _ in again.walk())
    assert names == sorted(path for path, _ in tree.walk())
    assert any(name.endswith("files") for name in names)    # the program, at argv[0]


def test_engine_refuses_bad_modules_and_bounds_memory():
    engine = new_engine("wasmtime")
    with pytest.raises(EngineError):
        engine.compile(b"\0asm\x01\0\0\0garbage")
    memory = engine.new_memory(1, 2, True)
    memory.write(65530, b"abcdef")
    assert memory.read(65530, 6) == b"abcdef"
    with pytest.raises(IndexError):
        memory.read(65534, 4)
    with pytest.raises(IndexError):
        memory.write(-1, b"x")
    memory.grow(1)
    assert memory.size() == 2 * 65536
    with pytest.raises(EngineError):
        memory.grow(1)
    copy = engine.new_memory(3, 3, True)
    copy.write(3 * 65536 - 1, b"z")
    copy.copy_from(memory)
    assert copy.read(65530, 6) == b"abcdef" and copy.read(3 * 65536 - 1, 1) == b"z"
    with pytest.raises(IndexError):
        engine.new_memory(1, 1, True).copy_from(memory)     # too small for it


def test_a_program_that_is_not_lind_is_refused():
    """A module without Lind's imports, or not a module, is ENOEXEC before any cage."""
    for wasm in (b"\0asm\x01\0\0\0", b"#!/bin/sh\necho hi\n"):
        with pytest.raises(OSError) as caught:
            Runtime().run(wasm, ["empty"])
        assert caught.value.errno == errno.ENOEXEC


def _lind_run(*args, input: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lind", "run", "--backend", "cooperative",
                           *map(str, args)], input=input, capture_output=True, timeout=120)


@pytest.mark.parametrize("backend", ["cooperative", "portable"])
def test_a_program_it_cannot_run_is_said_as_on_the_host_back_end(builds, tmp_path, backend):
    """A directory named as the program, a file that is no module, a --memory its first
    memory does not fit: one line naming the program and 126 on every back end (the
    cooperative one said 'lind: Permission denied' and 'lind: Cannot allocate memory'
    with exit 125, and 'Exec format error' for a text file)."""
    junk = tmp_path / "notwasm.wasm"
    junk.write_text("not wasm\n")
    for args, said in [([tmp_path], f"{tmp_path}: Permission denied"),
                       ([junk], f"{junk}: not a WebAssembly module"),
                       (["--memory", "1K", builds.wasm("args_env")],
                        f"{builds.wasm('args_env')}: its memory does not fit the memory limit")]:
        done = subprocess.run([sys.executable, "-m", "lind", "run", "--backend", backend,
                               *map(str, args)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 126 and done.stderr.startswith(f"lind: {said}"), done.stderr
        assert len(done.stderr.splitlines()) == 1, done.stderr


def test_lind_run_on_the_cooperative_runtime(builds, tmp_path):
    """`lind run --backend cooperative` as a person uses it: stdin read as the cage asks,
    arguments and --env, --root loaded into the run's tree and --save writing it back
    (the root unchanged), a zip saved then loaded by the next run, --timeout (124)."""
    native = run_native(builds.native("stdin_echo"), [], tmp_path, {}, input=b"one\ntwo\n")
    done = _lind_run(builds.wasm("stdin_echo"), input=b"one\ntwo\n")
    assert (done.returncode, done.stdout) == (native.returncode, native.stdout), done.stderr
    args = ["7", "two words"]
    native = run_native(builds.native("args_env"), args, tmp_path, ENV)
    done = _lind_run("--env", "GREETING=hi there", builds.wasm("args_env"), *args)
    assert (done.returncode, done.stdout) == (native.returncode, native.stdout), done.stderr
    root = tmp_path / "root"
    root.mkdir()
    (root / "kept.txt").write_text("kept\n")
    done = _lind_run("--root", root, "--save", tmp_path / "state.zip",
                     builds.wasm("portable_state"), "write")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in root.iterdir()) == ["kept.txt"]
    done = _lind_run("--root", tmp_path / "state.zip", builds.wasm("portable_state"), "check")
    assert done.stdout == b"note.txt 600 12 note: saved\nlink -> note.txt\nkept.txt kept\n"
    done = _lind_run("--timeout", "1", builds.wasm("coop_edges"), "spin")
    assert done.returncode == 124 and b"timed out after 1 s" in done.stderr


def test_lind_run_cooperative_refuses_what_it_cannot_honour(builds, tmp_path):
    """Options of the threaded runtime are refused, not ignored (exit 2, a message); a
    missing program is 127 and a file that is no program 126, as for the host back end."""
    done = _lind_run("--user", "5", "--net", "none", builds.wasm("args_env"))
    assert done.returncode == 2
    assert b"user, net: not on the cooperative runtime" in done.stderr
    done = _lind_run("--grate", "seccomp:x", builds.wasm("args_env"))
    assert done.returncode == 2 and b"grate seccomp:x" in done.stderr
    done = _lind_run("--isolate", builds.wasm("args_env"))
    assert done.returncode == 2 and b"--isolate: not with --backend cooperative" in done.stderr
    assert _lind_run(tmp_path / "missing.wasm").returncode == 127
    (tmp_path / "text.wasm").write_text("not a program\n")
    done = _lind_run(tmp_path / "text.wasm")
    assert done.returncode == 126 and b"text.wasm: not a WebAssembly module" in done.stderr
    done = _lind_run("--cwd", "/nowhere", builds.wasm("args_env"))
    assert done.returncode == 2 and b"working directory /nowhere" in done.stderr


def test_lind_run_api_on_the_cooperative_runtime(builds, tmp_path):
    """lind.run(backend="cooperative") as subprocess.run: input, capture_output, text,
    check, timeout; the strace grate on stderr; what it cannot honour is ValueError."""
    import lind

    native = run_native(builds.native("stdin_echo"), [], tmp_path, {}, input=b"one\ntwo\n")
    done = lind.run([builds.wasm("stdin_echo")], input="one\ntwo\n", capture_output=True,
                    text=True, timeout=60, backend="cooperative")
    assert (done.returncode, done.stdout) == (native.returncode, native.stdout.decode())
    traced = lind.run([builds.wasm("args_env"), "7"], capture_output=True, timeout=60,
                      backend="cooperative", grates=["strace"], env=ENV)
    assert traced.returncode == 7 and b"] exit_group(7)" in traced.stderr
    with pytest.raises(subprocess.CalledProcessError):
        lind.run([builds.wasm("args_env"), "7"], capture_output=True, check=True,
                 backend="cooperative")
    with pytest.raises(subprocess.TimeoutExpired):
        lind.run([builds.wasm("coop_edges"), "spin"], capture_output=True, timeout=1,
                 backend="cooperative")
    with pytest.raises(ValueError, match="user, hostname: not on the cooperative runtime"):
        lind.run([builds.wasm("args_env")], user=(5, 5), hostname="x", backend="cooperative")
    with pytest.raises(FileNotFoundError):
        lind.run([tmp_path / "missing.wasm"], backend="cooperative")
    # lind.Popen took it and ran the program on the threaded runtime instead
    with pytest.raises(ValueError, match="backend='cooperative' is lind.run's"):
        lind.Popen([builds.wasm("args_env")], backend="cooperative")


@pytest.mark.parametrize("backend", ["cooperative", "host"])
@pytest.mark.parametrize("how", ["sleep", "timer", "poll"])
def test_a_cage_waiting_for_ages_cannot_break_the_run(builds, tmp_path, how, backend):
    """Attack: a nanosleep, a timer or a ppoll of 2**62 seconds. Python cannot sleep that
    long in one go: on this runtime the run died with an internal error (exit 70) at
    once, on the threaded one a ppoll's cage with SIGSYS and a traceback. The cage now
    waits as asked, and --timeout ends it (124) without a traceback."""
    wasm = builds.wasm("coop_talk", "--suspendable")
    command = [sys.executable, "-m", "lind", "run", "--backend", backend]
    files = [open(tmp_path / name, "w+b") for name in ("in", "out", "err")]  # noqa: SIM115
    try:
        waiting = subprocess.Popen([*command, wasm, "forever", how], stdin=files[0],
                                   stdout=files[1], stderr=files[2])
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(4)
        waiting.kill()
        waiting.wait()
        done = subprocess.run([*command, "--timeout", "1", wasm, "forever", how],
                              stdin=files[0], capture_output=True, timeout=60)
    finally:
        for f in files:
            f.close()
    assert b"Error" not in (tmp_path / "err").read_bytes()
    assert done.returncode == 124 and b"Error" not in done.stderr, done.stderr


def test_programs_a_run_keeps_compiled_are_bounded(monkeypatch):
    """A run keeps compiled programs for the next exec of them, least recently used out
    past PROGRAMS_KEPT_BYTES of code: a cage exec'ing ever new programs held every one."""
    from lind.portable import runtime as cooperative

    monkeypatch.setattr(cooperative, "PROGRAMS_KEPT_BYTES", 1)
    run = Runtime()
    programs = [run.compile(wasmtime.wat2wasm(f'(module (func (export "f{i}")))'))
                for i in range(3)]
    assert all(p.code_bytes > 0 for p in programs)
    assert list(run._modules.values()) == [programs[2]]
    assert run.compile(wasmtime.wat2wasm('(module (func (export "f2")))')) is programs[2]


def test_bad_pointers_xattrs_and_huge_programs_are_refused_as_elsewhere(builds, tmp_path,
                                                                         canary):
    """coop_pointers.c: read(fd, (void *)4, 8), write(fd, NULL, 8) succeeded here and
    stat((char *)1) was ENOENT (the other back ends: EFAULT, page 0 being guarded; the
    failed read no longer moves the offset), extended attributes were ENOSYS (the
    other back ends: EOPNOTSUPP, and an empty list), and execve read, copied and hashed
    a program of any size (a 257 MiB one: ~558 MiB of the host; the others stop at
    PROGRAM_BYTES_MAX, ENOEXEC)."""
    root = make_root(tmp_path)
    program = builds.wasm(attack("coop_pointers"))
    rc, out, err = python(tmp_path, "pointers", _LIND_MAX_RSS, "run", "--backend",
                          "cooperative", "--root", root, program, "pointers")
    assert rc == 0, (out, err)
    fault, unsupported = ("-1", str(errno.EFAULT)), ("-1", str(errno.EOPNOTSUPP))
    got = {line.split()[0]: tuple(line.split()[1:]) for line in out.splitlines()}
    assert got == {"read_null_page": fault, "write_null": fault, "stat_bad_path": fault,
                   "getxattr": unsupported, "listxattr": ("0", "0"), "setxattr": unsupported,
                   "fgetxattr": unsupported, "getxattr_missing": ("-1", str(errno.ENOENT)),
                   "read_ok": ("8", "0")}, out
    rc, out, err = python(tmp_path, "exec", _LIND_MAX_RSS, "run", "--backend", "cooperative",
                          "--root", root, program, "exec", "257")
    assert (rc, out) == (0, f"execve -1 {errno.ENOEXEC}\n"), err
    assert int(err.split("max_rss_mib ")[1]) < 420, err
    untouched(canary)
