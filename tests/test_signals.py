"""Signals as on Linux for single-threaded programs: handlers run in guest code at the
return of a system call or between two instructions of a busy loop; masks, waiting,
timers, interrupted calls, SIGCHLD, exec, siglongjmp. Each C program is built with
`lind cc` and with gcc; output and status must match."""

from __future__ import annotations

import mmap
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import lind
from lind.microvisor import sys_signals, sys_timers
from lind.toolchain import asyncify


def _compare(builds, tmp_path, name, *args):
    native = subprocess.run([str(builds.native(name)), *args], cwd=tmp_path, capture_output=True,
                            timeout=60)
    caged = lind.run([builds.wasm(name), *args], root=tmp_path, capture_output=True, timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode
    return caged


def test_a_mask_that_still_blocks_every_pending_signal_settles_nothing(builds, tmp_path,
                                                                       monkeypatch):
    """conformance/signal_held.c keeps signals pending through masks that still block
    them (as a parent's fork does with its child's SIGCHLD, twice per fork): the
    trampoline changes those masks without Python settling the cage's signals, which
    it did 51 times in that program and does 7 times now (its output is checked against
    Linux's with the other conformance programs)."""
    settled = []
    settle = sys_signals._settle
    monkeypatch.setattr(sys_signals, "_settle", lambda cage: settled.append(cage) or settle(cage))
    caged = lind.run([builds.wasm("conformance/signal_held")], root=tmp_path,
                     capture_output=True, timeout=60)
    assert caged.returncode == 0, caged.stderr
    assert b"taken by the thread that unblocked it: 1, pending 0\n" in caged.stdout
    assert len(settled) <= 12, len(settled)


def test_handlers_masks_siginfo_sigpipe_and_uncatchable_signals(builds, tmp_path):
    caged = _compare(builds, tmp_path, "sig_handlers")
    assert b"enter 3\nleave 3\n" in caged.stdout               # SA_NODEFER nests
    assert b"write to a closed pipe: -1 Broken pipe" in caged.stdout


_SIGCHLD_AS_ROOT = (b"running as uid 0\n"
                    b"exited: SIGCHLD 1, code 1, status 3, uid 0, pid matches 1\n"
                    b"killed: SIGCHLD 1, code 2, status 9, uid 0, pid matches 1\n"
                    b"raised after setresuid: code -6 (SI_TKILL -6), uid 0, pid matches 1\n")


def test_sigchld_siginfo_names_the_childs_real_uid(builds, tmp_path):
    """A child that exited and one that was killed, each after setresuid(0, 1000, 0):
    SIGCHLD's si_uid is the real uid (0), as Linux fills it, with code, status and pid
    (what the gcc build prints when run as root, as these machines run it)."""
    caged = lind.run([builds.wasm("posix/sigchld_info")], root=tmp_path, capture_output=True,
                     timeout=60, user=(0, 0), input=b"")
    assert (caged.stdout, caged.returncode) == (_SIGCHLD_AS_ROOT, 0)
    if os.geteuid() == 0:
        native = subprocess.run([str(builds.native("posix/sigchld_info"))], cwd=tmp_path,
                                capture_output=True, timeout=60)
        assert native.stdout == _SIGCHLD_AS_ROOT


_KILL_PERM_AS_ROOT = "".join(
    f"{who} setresuid: 0 0\n" + "".join(
        f"{who} {what}: {'0 0' if ok else '-1 1'}\n"
        for what, ok in (("kill 0", may), ("kill SIGUSR1", may), ("kill SIGCONT", True),
                         ("tkill", may), ("tgkill", may), ("sigqueue", may),
                         ("kill group 0", True)))
    + ("sibling kill brother 0: 0 0\n" if who == "dropped" else "") + f"{who} ended 0\n"
    for who, may in (("dropped", False), ("real root", True), ("saved root", False)))


def test_who_may_signal_whom_follows_the_cages_ids(builds, tmp_path):
    """kill, tkill, tgkill and rt_sigqueueinfo check the sender's ids against the
    target's as Linux does (a real or effective uid that is the target's real or saved
    one, root, or SIGCONT in the session); a group's kill reaches those it may. Lind let
    a cage that gave up root signal its root parent. Compared with the gcc build run as
    root, where these machines run it."""
    caged = lind.run([builds.wasm("posix/kill_perm")], root=tmp_path, capture_output=True,
                     timeout=60, user=(0, 0), input=b"")
    assert (caged.stdout.decode(), caged.returncode) == (_KILL_PERM_AS_ROOT, 0), caged.stderr
    if os.geteuid() == 0:
        native = subprocess.run([str(builds.native("posix/kill_perm"))], cwd=tmp_path,
                                capture_output=True, timeout=60)
        assert native.stdout.decode() == _KILL_PERM_AS_ROOT


def test_sigsuspend_pause_alarm_busy_loops_and_interval_timer(builds, tmp_path):
    caged = _compare(builds, tmp_path, "sig_wait")
    assert b"busy loop ended by SIGALRM\n" in caged.stdout
    assert b"leaf loop: locals intact=1\n" in caged.stdout


def test_interrupted_calls_give_eintr_or_restart(builds, tmp_path):
    caged = _compare(builds, tmp_path, "sig_interrupt")
    assert b"read, no SA_RESTART: -1 Interrupted system call\n" in caged.stdout
    assert b"read, SA_RESTART: 1\n" in caged.stdout
    assert b"child's read, signalled by its parent: -1 Interrupted system call\n" in caged.stdout


def test_sigchld_and_what_fork_and_exec_keep(builds, tmp_path):
    root, native_dir = tmp_path / "root", tmp_path / "native"
    root.mkdir()
    native_dir.mkdir()
    shutil.copy(builds.wasm("sig_children"), root / "sig_children")
    shutil.copy(builds.native("sig_children"), native_dir / "sig_children")
    native = subprocess.run(["./sig_children"], cwd=native_dir, capture_output=True, timeout=60)
    caged = lind.run([root / "sig_children"], root=root, capture_output=True, timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode == 0
    assert b"reaped=5 exit codes sum=10\n" in caged.stdout


def test_siglongjmp_out_of_handlers(builds, tmp_path):
    caged = _compare(builds, tmp_path, "sig_jump")
    assert b"left a busy loop with 14" in caged.stdout
    assert b"jumps=200\n" in caged.stdout


@pytest.mark.parametrize("how", ["alarm", "resethand", "kill", "trap", "exit", "pending",
                                 "altstack-past-4g"])
def test_how_signals_end_a_program(builds, tmp_path, how):
    _compare(builds, tmp_path, "sig_fatal", how)


@pytest.mark.parametrize(("how", "status"), [("pipe", -13), ("pipe-ignored", 4)])
def test_sigpipe_kills_by_default_and_ignored_gives_epipe(builds, tmp_path, how, status):
    """A write to a pipe without readers: killed by SIGPIPE, or EPIPE when it is ignored."""
    assert _compare(builds, tmp_path, "sig_fatal", how).returncode == status


@pytest.mark.parametrize(("how", "sig", "name"), [("alarm", 14, "SIGALRM"), ("pipe", 13, "SIGPIPE")])
def test_lind_run_exits_128_plus_the_signal(builds, how, sig, name):
    proc = subprocess.run([sys.executable, "-m", "lind", "run", str(builds.wasm("sig_fatal")),
                           how], capture_output=True, timeout=120)
    assert proc.returncode == 128 + sig
    if sig == 13:    # quiet, as shells are about SIGPIPE: `lind run prog | head` is normal
        assert proc.stderr == b""
    else:
        assert b"killed by " + name.encode() in proc.stderr


@pytest.mark.parametrize("ignored", [False, True])
def test_writes_to_a_host_pipe_without_reader_raise_sigpipe(builds, tmp_path, ignored):
    """`prog | head`: once head has gone, the next write ends the program with SIGPIPE
    (EPIPE when it ignores SIGPIPE), for the native build and the caged one alike."""
    args = ["ignore"] if ignored else []
    results = []
    for command in ([builds.native("posix/yes"), *args],
                    [sys.executable, "-m", "lind", "run", "--root", tmp_path, builds.wasm("posix/yes"),
                     *args]):
        proc = subprocess.Popen([str(a) for a in command], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert proc.stdout.read(100000) == b"y" * 100000
        proc.stdout.close()
        err = proc.stderr.read()
        results.append((proc.wait(timeout=60), err))
    native, caged = results
    if ignored:
        assert native[0] == 3 and caged[0] == 3
        assert native[1].startswith(b"write: errno 32 after ") and caged[1].startswith(b"write: errno 32")
    else:
        assert native[0] == -13 and caged == (128 + 13, b"")


@pytest.mark.parametrize("how", ["stuck", "pause"])
def test_a_cage_in_a_handler_or_in_pause_can_still_be_killed(builds, tmp_path, how):
    cage = lind.Runtime().spawn(builds.wasm("sig_fatal"), [how], root=str(tmp_path))
    assert cage.wait(0.5) is None
    cage.terminate()
    assert cage.wait(60) == 9                 # killed by SIGKILL


def _read_interrupted(command: list[str], stdin: str) -> bytes:
    """Run `command` with stdin a host pipe or a terminal; write its input once it says
    it waits (its alarm comes first), and return its output."""
    if stdin == "pipe":
        read_end, write_end = os.pipe()
    else:
        write_end, read_end = os.openpty()
    proc = subprocess.Popen(command, stdin=read_end, stdout=subprocess.PIPE)
    os.close(read_end)
    try:
        out = b""
        while not out.endswith(b"waiting\n"):
            chunk = proc.stdout.read1(4096)
            assert chunk, out
            out += chunk
        time.sleep(0.3)
        os.write(write_end, b"hello\n")
        out += proc.stdout.read()
        assert proc.wait(60) == 0, out
        return out
    finally:
        os.close(write_end)


@pytest.mark.parametrize("stdin", ["pipe", "terminal"])
def test_a_read_waiting_on_a_host_pipe_or_terminal_is_interrupted(builds, tmp_path, stdin):
    """A caught signal ends a blocked read of a host pipe or a terminal with EINTR, or
    restarts it with SA_RESTART, as on Linux."""
    native = _read_interrupted([str(builds.native("sig_hostread"))], stdin)
    caged = _read_interrupted([sys.executable, "-m", "lind", "run", "--root", str(tmp_path),
                               str(builds.wasm("sig_hostread"))], stdin)
    if stdin == "terminal":   # the terminal echoes the input and ends lines with \r\n
        native, caged = native.replace(b"\r\n", b"\n"), caged.replace(b"\r\n", b"\n")
    assert caged == native
    assert native.startswith(b"no restart: -1 errno 4, handled 1\n")


def test_a_cage_blocked_on_a_host_pipe_stops_at_its_timeout(builds, tmp_path):
    read_end, write_end = os.pipe()
    started = time.monotonic()
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            lind.run([builds.wasm("sig_hostread")], root=tmp_path, stdin=read_end,
                     capture_output=True, timeout=1)
        assert time.monotonic() - started < 10
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_cage_that_ends_leaves_no_timer_behind(builds, tmp_path):
    rt = lind.Runtime()
    cage = rt.spawn(builds.wasm("sig_fatal"), ["pending"], root=str(tmp_path))
    assert cage.wait(60) == 0
    assert cage not in sys_timers._real_timers._timers


def test_stop_signals_are_ignored_without_job_control(builds):
    """Lind has no job control: a stop signal's default action is to be ignored (on Linux
    the process would stop, so there is no native run to compare with)."""
    result = lind.run([builds.wasm("stop_signals")], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        "went on after 19", "went on after 20", "went on after 21", "went on after 22",
        "handler saw 20"]


@pytest.mark.parametrize(("mode", "expected"), [("init", "a 10 b 10 init hit 0"),
                                                ("child", "a 10 b 20 init hit 0")])
def test_kill_minus_one_spares_the_caller_and_the_trees_init(builds, mode, expected):
    """kill(-1) as in a PID namespace (it cannot be compared natively: on the host it
    would signal every process the user owns)."""
    result = lind.run([builds.wasm("kill_all"), mode], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == expected


def test_siginfo_names_the_senders_real_uid(builds):
    native = subprocess.run([builds.native("siginfo_uid")], capture_output=True, timeout=60)
    caged = lind.run([builds.wasm("siginfo_uid")], user=(0, 0), capture_output=True, timeout=60)
    assert caged.stdout == native.stdout == (b"setgid: 0\nSIGCHLD si_uid is the real uid 1\n"
                                             b"seteuid: 0\n"
                                             b"si_uid is the real uid 1, the effective 0\n"
                                             b"SIGPIPE si_uid is the real uid 1\n")


def test_longjmp_out_of_handlers_as_exceptions(builds, tmp_path):
    """setjmp/longjmp (not sig*) are WebAssembly exceptions: a handler's longjmp leaves
    a busy loop (its safepoint runs the handler in the program's frames), a pause, a
    read, and a raise 200 times over, as natively; the program is not instrumented."""
    caged = _compare(builds, tmp_path, "sig_longjmp")
    assert b"rounds 200, hits 203" in caged.stdout
    assert b"busy loop 10 frames down: 14" in caged.stdout
    wasm = builds.wasm("sig_longjmp").read_bytes()
    assert not asyncify.needs_asyncify(wasm) and asyncify.uses_exception_handling(wasm)


def test_a_frame_protected_after_its_check_is_sigsegv_not_a_lost_signal(builds, tmp_path,
                                                                       monkeypatch):
    """next_signal checks the frame is writable, takes the signal, then writes the
    frame: a page another thread protects in between (here: made read-only where the
    signal is taken, and writable again once the write was tried, once) failed the
    write, and the signal was gone, its handler never run and SIGUSR1 left blocked. As
    Linux's when it cannot build a signal frame: SIGSEGV."""
    plain = lind.run([builds.wasm("signal_frame")], root=tmp_path, capture_output=True,
                     timeout=60)
    assert (plain.returncode, plain.stdout) == (0, b"handled 1, blocked 0\n"), plain.stderr
    dequeue, settle = sys_signals._dequeue, sys_signals._settle
    seen = {"taken": False, "protected": False}

    class OpenedAfterTheWrite:
        """The cage's memory, its frame's page writable again once the write was tried."""

        def __init__(self, cage, page):
            self.cage, self.real, self.page = cage, cage.mem, page

        def write(self, addr, data):
            try:
                return self.real.write(addr, data)
            finally:
                self.cage.mem = self.real
                self.cage.aspace.mprotect(self.page, 4096, mmap.PROT_READ | mmap.PROT_WRITE)

        def __getattr__(self, name):
            return getattr(self.real, name)

    def dequeue_noting(state, thread, mask):
        found = dequeue(state, thread, mask)
        seen["taken"] = found is not None and found[0] == signal.SIGUSR1
        return found

    def settle_then_protect(cage):
        fatal = settle(cage)
        if seen["taken"] and not seen["protected"]:
            seen["protected"] = True
            page = sys._getframe(1).f_locals["frame"] & ~4095    # next_signal's frame
            cage.aspace.mprotect(page, 4096, mmap.PROT_READ)
            cage.mem = OpenedAfterTheWrite(cage, page)
        return fatal

    monkeypatch.setattr(sys_signals, "_dequeue", dequeue_noting)
    monkeypatch.setattr(sys_signals, "_settle", settle_then_protect)
    caged = lind.run([builds.wasm("signal_frame")], root=tmp_path, capture_output=True,
                     timeout=60)
    assert seen["protected"]
    assert (caged.returncode, caged.stdout) == (-signal.SIGSEGV, b""), (caged.stdout,
                                                                        caged.stderr)
