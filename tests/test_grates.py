"""Grates: C grates written against lind_syscall.h, Python grates, and how they stack.

Every test runs real cages; the C grates are unchanged Lind-style programs (fork,
register handlers for the child, exec the program named in argv, wait).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys

import pytest

import lind
from lind.grates import Call, Grate, handles
from lind.grates.seccomp import Seccomp


def _run(args, **kw):
    return lind.run([str(a) for a in args], capture_output=True, timeout=60, **kw)


def test_lind_style_geteuid_grate(builds):
    r = _run([builds.wasm("grates/geteuid_grate"), builds.wasm("grates/euid")])
    assert r.stdout == b"euid 10\n"
    assert r.returncode == 3          # the program's status, passed on by the grate


def test_a_grate_s_protections_end_when_it_first_serves(builds):
    """A wasm grate's handlers run in worker instances over its memory through Memories
    of their own, which would not know its protections: they end when it first serves
    (the handler reads the page it made PROT_NONE), and its mprotect changes nothing
    after (README)."""
    r = _run([builds.wasm("grates/protecting_grate"), builds.wasm("grates/euid")])
    assert r.stdout == b"euid 10\ngrate after serving: 7 6\n", r.stderr
    assert r.returncode == 3


def test_grate_rewrites_path_in_its_own_memory_and_forwards(builds, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "real" / "x.txt").write_text("real one\n")
    (tmp_path / "data" / "x.txt").write_text("shadowed\n")
    r = _run([builds.wasm("grates/remap_grate"), builds.wasm("grates/cat_files"), "/data/x.txt",
              "/nope"], root=tmp_path)
    assert r.stdout == b"/data/x.txt: real one\n/nope: errno %d\n" % errno.ENOENT
    assert b"open /data/x.txt" in r.stderr and b"open /nope" in r.stderr


def test_handlers_run_concurrently_for_many_cages(builds):
    r = _run([builds.wasm("grates/geteuid_grate"), builds.wasm("grates/euid_storm"), "6", "300"])
    assert r.stdout == b"6 processes x 300 calls, 0 failed\n" and r.returncode == 0


def test_trap_in_grate_fails_the_call_with_eio(builds, capfd):
    r = _run([builds.wasm("grates/crashy_grate"), builds.wasm("grates/ppid_calls")])
    assert r.returncode == 0
    assert r.stdout.splitlines() == [b"getppid: 1000 0", b"getppid: -1 %d" % errno.EIO,
                                     b"getppid: 1001 0", b"getppid: -1 %d" % errno.EIO]
    # Lind's own report goes to the host's stderr, not the cage's.
    assert capfd.readouterr().err.count("handler failed: wasm `unreachable`") == 2


def test_a_grate_ending_in_its_handler_leaves_the_cages_own_faults_its_own(builds):
    """The grate's handler calls _exit on the calling cage's thread: the grate's stop is
    made there, and the call fails with EIO. The cage runs on and divides by zero: that
    is its SIGFPE, not taken for the grate's stop (which reads as a stop of the cage's
    own, SIGSEGV, when the trampoline does not tell the two slots apart)."""
    r = _run([builds.wasm("grates/exiting_grate"), builds.wasm("grates/ppid_then_fault")])
    assert sorted(r.stdout.splitlines()) == [    # init reaps the grate when it may
        b"getppid: -1 %d" % errno.EIO, b"grate: exit 3", b"program: signal %d" % signal.SIGFPE]


def test_threei_permissions(builds):
    r = _run([builds.wasm("grates/threei_perms")])
    assert r.stdout.decode().splitlines() == [
        "register in own table: ok",
        "getuid through parent grate: 77",
        "register in sibling: EPERM",
        "route own call into sibling: EPERM",
        "copy from sibling: EPERM",
        "copy from parent: EPERM",
        "table of parent: EPERM",
        "table from sibling: EPERM",
        "pin fds of sibling: EPERM",
        "pin fds of parent: EPERM",
        "parent registers in child (gone): other error",
    ]


def test_pinned_fds_are_the_files_they_were_until_unpinned(builds, tmp_path):
    """pin_fds (what ns.c holds the fds it judges with): on the pinning thread a pinned fd
    is the file it was, one closed stays closed (EBADF), after another thread's or its
    own dup2; a nested pin keeps the outer one's file; unpin goes back to the table. A
    thread holds 64 pins, one more for each it let go; fd 0 pins as any other; a thread
    that ended holding a pin leaves none to the next one its host thread serves (the
    file, and the depth)."""
    r = _run([builds.wasm("grates/pin_fds")], root=tmp_path)
    assert r.stdout.decode().splitlines() == [
        "unpin with no pin: Invalid argument",
        "pin no fd: Invalid argument",
        "pin four: Invalid argument",
        "pin a and closed 9: ok",
        "fchmod pinned a: ok",
        "fchmod pinned closed 9: Bad file descriptor",
        "modes /a 600 /b 644",
        "pin b again (nested): ok",
        "unpin nested: ok",
        "fchmod a, still pinned: ok",
        "unpin: ok",
        "fchmod a, unpinned: ok",
        "fchmod 9, unpinned: ok",
        "modes /a 640 /b 604",
        "unpin again: Invalid argument",
        "pinned 64 deep, then: Out of memory",
        "all let go: 1",
        "unpin one of 64: ok",
        "pin one more: ok",
        "and another: Out of memory",
        "pin 0: ok",
        "fchmod pinned 0: ok",
        "unpin: ok",
        "modes /b 604 /c 610",
        "pin d: ok",
        "fchmod pinned d, its file closed meanwhile: Bad file descriptor",
        "unpin: ok",
        "modes /b 604 /d 644",
        *(["thread pins c and ends: ok",
           "next thread: fchmod c: ok",
           "next thread pinned 64 deep",
           "modes /b 601 /c 610"] * 3),
    ], r.stderr


def test_strace_decodes_calls_follows_forks_and_keeps_status(builds, tmp_path):
    (tmp_path / "f.txt").write_text("hello\n")
    r = _run([builds.wasm("grates/cat_files"), "/f.txt", "/missing"], root=tmp_path,
             grates=["strace"])
    err = r.stderr.decode()
    assert r.stdout == b"/f.txt: hello\n/missing: errno %d\n" % errno.ENOENT
    assert '] openat(AT_FDCWD, "/f.txt", O_RDONLY) = 3\n' in err
    assert '] read(3, "hello\\n", 256) = 6\n' in err
    assert '] openat(AT_FDCWD, "/missing", O_RDONLY) = -1 ENOENT (' in err
    assert err.rstrip().endswith("+++ exited with 0 +++")


def test_strace_names_calls_numbered_past_334(builds, tmp_path):
    """fchmodat2 (452, what musl makes of fchmodat with AT_SYMLINK_NOFOLLOW),
    faccessat2 (439) and close_range (436) are traced and named, not passed by
    untraced as when the grate knew numbers up to 334 only."""
    r = _run([builds.wasm("grates/late_calls")], root=tmp_path, grates=["strace"])
    err = r.stderr.decode()
    assert r.stdout == b"fchmodat2 0 faccessat2 0 close_range 0\n", err
    assert '] fchmodat2(AT_FDCWD, "/late.txt", 0640, 0x100) = 0\n' in err
    assert '] faccessat2(AT_FDCWD, "/late.txt", 4, 0x0) = 0\n' in err
    assert "] close_range(100, 200, 0x0) = 0\n" in err


def test_strace_shows_a_call_that_ended_the_cage_as_unfinished(builds, tmp_path):
    """A grate below strace kills the cage in getppid: as Linux's strace, the call has
    no result ("= ?", not the ENOSYS the killing grate returned) and the end names the
    signal."""
    killer = Seccomp.from_policy("deny getppid : kill\n")
    r = _run([builds.wasm("grates/ppid_calls")], grates=["strace", killer])
    err = r.stderr.decode()
    assert r.returncode == 128 + signal.SIGSYS      # strace passes the status on
    assert "] getppid() = ?\n" in err and "ENOSYS" not in err
    assert err.rstrip().endswith("+++ killed by SIGSYS +++")


def test_a_grate_handler_finishes_for_a_cage_killed_under_it(builds, tmp_path):
    """The layer below a grate kills the cage inside the call: the grate's handler may
    still finish what it does (strace writes its "= ?" line); it is not stopped in the
    middle by the kill (before, strace lost that line about one run in five)."""
    killer = Seccomp.from_policy("deny getppid : kill\n")
    r = _run([builds.wasm("grates/after_kill"), builds.wasm("grates/ppid_calls")],
             grates=[killer])
    assert r.returncode == 128 + signal.SIGSYS
    assert r.stderr.decode() == "handler saw -4095, then worked on\n"


def test_strace_says_a_child_was_killed_as_strace_f_does(builds, tmp_path):
    """A child of the traced program killed while blocked in read(): strace -f ends its
    lines with "[pid N] +++ killed by SIGKILL +++" (Lind's grate learns it through the
    harsh-exit notification, which the kill must not cut short)."""
    r = _run([builds.wasm("grates/kill_blocked_child")], grates=["strace"])
    child = r.stdout.decode().split()[1].rstrip(":")
    assert r.stdout.decode() == f"child {child}: signaled 1, signal 9\n"
    err = r.stderr.decode()
    assert f"[pid {child}] +++ killed by SIGKILL +++\n" in err
    assert f"] kill({child}, 9) = 0\n" in err
    assert err.rstrip().endswith("+++ exited with 0 +++")


def test_strace_only_selected_calls_to_a_file(builds, tmp_path):
    log = tmp_path / "trace.txt"
    (tmp_path / "root").mkdir()
    r = _run([builds.wasm("grates/euid_storm"), "2", "3"],
             grates=[f"strace:-o {log} -e fork,geteuid"], root=tmp_path / "root")
    # Without the geteuid grate the children see the real euid, not 10: each "fails".
    assert r.stdout == b"2 processes x 3 calls, 2 failed\n"
    lines = log.read_text().splitlines()
    assert sum(" geteuid() = " in ln for ln in lines) == 6
    assert sum(" fork() = " in ln for ln in lines) == 4      # 2 in the parent, 2 in children
    assert not any("wait4" in ln or "write" in ln for ln in lines)


@pytest.mark.parametrize("attached", [False, True])
def test_strace_output_is_a_host_file_the_program_cannot_reach(builds, tmp_path, attached):
    """strace -o names a file on the host (outside the cage's root here, with a file of
    the same name inside it); the program finds neither that nor the grate's fd."""
    log = tmp_path / "trace.txt"
    log.write_text("old contents\n")       # truncated, as strace -o does
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "trace.txt").write_text("the cage's own\n")
    option = f"-o{log}" if attached else f"-o {log}"
    r = _run([builds.wasm("grates/trace_peek"), str(log), "/trace.txt"],
             grates=[f"strace:{option} -e fcntl,openat,write"], root=tmp_path / "root")
    assert r.returncode == 0 and r.stderr == b""
    assert r.stdout.decode().splitlines() == [
        "fd 3: Bad file descriptor", "write to fd 3: Bad file descriptor",
        f"{log}: No such file or directory", "/trace.txt: opened"]
    trace = log.read_text()
    assert "old contents" not in trace and "\nforged\n" not in trace
    assert "] fcntl(3, 1, 0x0) = -1 EBADF (" in trace       # F_GETFD, as strace decodes it here
    assert f'] openat(AT_FDCWD, "{log}", O_RDWR) = -1 ENOENT (' in trace
    assert '] write(3, "forged\\n", 7) = -1 EBADF (' in trace
    assert trace.rstrip().endswith("+++ exited with 0 +++")
    assert (tmp_path / "root" / "trace.txt").read_text() == "the cage's own\n"


def test_strace_output_takes_the_fd_after_those_passed(builds, tmp_path):
    log, passed = tmp_path / "trace.txt", tmp_path / "passed.txt"
    with open(passed, "wb") as f:
        fd = f.fileno()
        r = _run([builds.wasm("posix/pass_fds"), str(fd), str(fd + 1)], pass_fds=[fd],
                 grates=[f"strace:-o {log} -e write,fcntl"])
    assert r.returncode == 0
    # fd + 1 is strace's own, close-on-exec: the program does not have it.
    assert r.stdout.decode().splitlines() == [f"fd {fd}: write", f"fd {fd + 1}: Bad file descriptor"]
    assert passed.read_bytes() == f"written to fd {fd}\n".encode()
    trace = log.read_text()
    assert f'] write({fd}, "written to fd {fd}\\n", {len(str(fd)) + 15}) = {len(str(fd)) + 15}\n' in trace


def test_strace_output_in_a_missing_directory_is_refused_before_the_run(builds, tmp_path):
    with pytest.raises(FileNotFoundError, match="nodir/trace.txt"):
        _run([builds.wasm("grates/trace_peek")],
             grates=[f"strace:-o {tmp_path / 'nodir' / 'trace.txt'}"], root=tmp_path)


def test_fakeroot(builds, tmp_path):
    (tmp_path / "f").write_text("x")
    plain = _run([builds.wasm("grates/whoami"), "/f"], root=tmp_path)
    # Without fakeroot the cage is an ordinary user (1000): chown to root is refused.
    assert plain.stdout == (b"uid 1000 euid 1000 gid 1000 egid 1000\n"
                            b"stat /f: owner 1000 group 1000\nchown: -1 %d\n" % errno.EPERM)
    r = _run([builds.wasm("grates/whoami"), "/f"], root=tmp_path, grates=["fakeroot"])
    assert r.stdout == (b"uid 0 euid 0 gid 0 egid 0\nstat /f: owner 0 group 0\nchown: 0 0\n")


def test_stacking_order_decides_what_strace_sees(builds, tmp_path):
    (tmp_path / "f").write_text("x")
    prog = [builds.wasm("grates/whoami"), "/f"]
    above = _run(prog, root=tmp_path, grates=["strace:-e chown,getuid", "fakeroot"])
    below = _run(prog, root=tmp_path, grates=["fakeroot", "strace:-e chown,getuid"])
    assert above.stdout == below.stdout
    assert b'chown("/f", 0, 0) = 0' in above.stderr and b"getuid() = 0" in above.stderr
    assert b"chown" not in below.stderr and b"getuid" not in below.stderr


def test_cli_runs_a_stack_of_wasm_grates(builds):
    proc = subprocess.run([sys.executable, "-m", "lind", "run", str(builds.wasm("grates/remap_grate")),
                           str(builds.wasm("grates/geteuid_grate")), str(builds.wasm("grates/euid"))],
                          capture_output=True, timeout=60)
    assert proc.stdout == b"euid 10\n" and proc.returncode == 3


def test_cli_grate_option_and_list(builds):
    listing = subprocess.run([sys.executable, "-m", "lind", "grates"], capture_output=True,
                             text=True, check=True).stdout
    assert "strace" in listing and "fakeroot" in listing
    proc = subprocess.run([sys.executable, "-m", "lind", "run", "--grate", "fakeroot", "--",
                           str(builds.wasm("grates/euid"))], capture_output=True, timeout=60)
    assert proc.stdout == b"euid 0\n" and proc.returncode == 3
    bad = subprocess.run([sys.executable, "-m", "lind", "run", "--grate", "nosuch", "--",
                          str(builds.wasm("grates/euid"))], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown grate 'nosuch'" in bad.stderr
    for path, why in [("missing.wasm", "No such file or directory"),
                      (str(builds.wasm("grates/euid").parent), "not a file")]:
        bad = subprocess.run([sys.executable, "-m", "lind", "run", "--grate", path, "--",
                              str(builds.wasm("grates/euid"))], capture_output=True, text=True)
        assert (bad.returncode, bad.stderr) == (                 # not 'unknown grate'
            2, f"lind: grate {path}: {why} (a grate is a shipped name or a .wasm file)\n")


class _Log(Grate):
    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes, int]] = []

    @handles("openat")
    def opened(self, call: Call) -> int:
        result = call.forward()
        self.seen.append((call.name, call.string(1), result))
        return result


class _Redirect(Grate):
    """Sends /data/... to /real/...: a new path placed in the cage with put()."""

    @handles("openat")
    def opened(self, call: Call) -> int:
        path = call.string(1)
        if path.startswith(b"/data/"):
            return call.forward(call.args[0], call.put(b"/real/" + path[6:] + b"\0"))
        return call.forward()


class _Broken(Grate):
    @handles("getppid")
    def fail(self, call: Call) -> int:
        raise KeyError("bug in grate")


def _tree(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "x.txt").write_text("real one\n")


def test_python_grates_stack_first_named_on_top(builds, tmp_path):
    _tree(tmp_path)
    top, bottom = _Log(), _Log()
    r = _run([builds.wasm("grates/cat_files"), "/data/x.txt"], root=tmp_path,
             grates=[top, _Redirect(), bottom])
    assert r.stdout == b"/data/x.txt: real one\n"
    assert top.seen == [("openat", b"/data/x.txt", 3)]
    assert bottom.seen == [("openat", b"/real/x.txt", 3)]


def test_python_grate_with_wasm_grates_above_and_below(builds, tmp_path):
    _tree(tmp_path)
    (tmp_path / "data").mkdir()
    cat, remap = builds.wasm("grates/cat_files"), str(builds.wasm("grates/remap_grate"))
    below, above = _Log(), _Log()
    r = _run([cat, "/data/x.txt"], root=tmp_path, grates=[above, remap, below])
    assert r.stdout == b"/data/x.txt: real one\n"
    assert above.seen == [("openat", b"/data/x.txt", 3)]      # before the wasm grate rewrote it
    assert below.seen == [("openat", b"/real/x.txt", 3)]      # the path in the grate's memory


def test_python_grate_bug_fails_the_call_not_the_cage(builds, capfd):
    r = _run([builds.wasm("grates/ppid_calls")], grates=[_Broken()])
    assert r.returncode == 0
    assert r.stdout.count(b"getppid: -1 %d" % errno.EIO) == 4
    assert "KeyError" in capfd.readouterr().err


def test_python_grate_inherited_by_children(builds):
    class Euid(Grate):
        calls = 0

        @handles("geteuid")
        def euid(self, call: Call) -> int:
            Euid.calls += 1
            return 10

    r = _run([builds.wasm("grates/euid_storm"), "3", "20"], grates=[Euid()])
    assert r.stdout == b"3 processes x 20 calls, 0 failed\n" and Euid.calls == 60


def test_wasm_grate_through_the_ctypes_trampoline(builds):
    """The pure-Python twin of the trampoline runs grates the same way."""

    env = dict(os.environ, LIND_TRAMPOLINE="ctypes")
    proc = subprocess.run([sys.executable, "-m", "lind", "run", "--grate", "strace:-e geteuid",
                           "--", str(builds.wasm("grates/geteuid_grate")),
                           str(builds.wasm("grates/euid_storm")), "2", "5"],
                          capture_output=True, timeout=120, env=env)
    assert proc.stdout == b"2 processes x 5 calls, 0 failed\n" and proc.returncode == 0
    # strace sits below the geteuid grate: the program's geteuid never reaches it.
    assert b"geteuid" not in proc.stderr


def test_harsh_exit_notification_reaches_the_grate(builds):
    r = _run([builds.wasm("grates/watch_grate"), builds.wasm("traps"), "segv"])
    lines = r.stderr.decode().splitlines()
    assert lines[-2:] == [f"[watch] cage {lines[-2].split()[2]} died of signal 11",
                          "[watch] status 139"]


def test_a_grate_interposes_on_another_grates_registrations(builds):
    class Veto(Grate):
        @handles("register_handler")
        def refuse(self, call: Call) -> int:
            return -errno.EPERM

    r = _run([builds.wasm("grates/geteuid_grate"), builds.wasm("grates/euid")], grates=[Veto()])
    assert r.returncode == 1
    assert b"register_handler: Operation not permitted" in r.stderr


def test_python_grate_forwards_identity_calls(builds):
    """geteuid is answered in C for the cage itself; forwarded, the cage's ids still hold
    (the cage's own, not the host's: Lind runs as root here)."""

    class Count(Grate):
        seen = 0

        @handles("geteuid")
        def euid(self, call: Call) -> int:
            Count.seen += 1
            return call.forward()

    r = _run([builds.wasm("grates/euid")], grates=[Count()], user=(4321, 99))
    assert r.stdout == b"euid 4321\n" and Count.seen == 1


def test_handler_sees_memory_the_grate_grew_during_the_call(builds):
    r = _run([builds.wasm("grates/alloc_grate"), builds.wasm("grates/ppid_calls")])
    assert r.stdout.splitlines() == [b"getppid: %d 0" % n for n in (8, 9, 10, 11)]


@pytest.mark.parametrize("forked", [False, True])
def test_handlers_running_at_once_take_the_grates_locks(builds, forked):
    """Six cages' calls run the handler at once, each in a worker over the grate's memory,
    beside the grate's own thread, all of them allocating and counting under a mutex:
    the grate's libc locks as a threaded program's does (it crashed with a corrupted
    heap when it did not). `forked`: the grate is a fork, whose libc stopped locking."""
    args = ["--forked"] if forked else []
    r = _run([builds.wasm("grates/heap_grate"), *args, builds.wasm("grates/euid_storm"),
              "6", "300"])
    assert r.stdout.splitlines() == [b"6 processes x 300 calls, 0 failed",
                                     b"grate: intact (1800 calls)"], r.stderr
    assert r.returncode == 0


def test_handlers_have_thread_specific_data_of_their_own(builds):
    """pthread_getspecific in a handler: the worker's own data (it was a null pointer
    dereference, each call failing with EIO), not the grate thread's."""
    r = _run([builds.wasm("grates/tsd_grate"), builds.wasm("grates/euid_storm"), "3", "20"])
    assert r.stdout.splitlines() == [b"a key another thread made: 7",
                                     b"3 processes x 20 calls, 0 failed",
                                     b"grate's own: kept"], r.stderr
    assert r.returncode == 0


def test_a_handlers_locks_know_its_worker_from_the_grates_thread(builds):
    """The grate's thread holds a recursive mutex and stdout's lock while handlers try
    them: busy for each worker (which took them as the grate's thread's own when a
    worker's thread id was the grate thread's)."""
    r = _run([builds.wasm("grates/lock_owner_grate"), builds.wasm("grates/euid_storm"), "2", "5"])
    assert r.stdout == b"2 processes x 5 calls, 0 failed\n", r.stderr
    assert r.returncode == 0


def test_abort_in_a_handler_ends_the_grate_with_sigabrt(builds):
    """assert() failing in a handler ends the grate as it ends a process from any thread
    (the worker's raise names itself by its own thread id, which is no thread's)."""
    r = _run([builds.wasm("grates/abort_grate"), builds.wasm("grates/euid")])
    assert b"a handler's assertion" in r.stderr
    assert r.returncode == -signal.SIGABRT
