"""System calls of issue 10 ("POSIX fidelity"): each program runs in a cage and natively,
as the same unprivileged user, and prints what it observed (errnos by number, since
musl's and glibc's strerror texts differ); the two outputs must be equal line for line.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import lind

UNPRIVILEGED = 1000    # the user a native run as root drops to, and the cage's default


def _user() -> tuple[int, int]:
    """Who both runs are: the test's own user, or an unprivileged one for root."""
    if os.geteuid() == 0:
        return UNPRIVILEGED, UNPRIVILEGED
    return os.getuid(), os.getgid()


def _drop(uid: int, gid: int):
    def preexec() -> None:
        if os.geteuid() == 0:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
    return preexec


def compare(builds, name: str) -> str:
    """Run tests/programs/posix/<name>.c natively and in a cage, each in a fresh
    directory of its own user (the cage's is Lind's user's, which a cage sees as its
    own); return the (equal) output."""
    uid, gid = _user()
    wasm = builds.wasm(f"posix/{name}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        native_dir, cage_dir = work / "native", work / "cage"
        native_dir.mkdir()
        cage_dir.mkdir()
        program = work / name
        shutil.copy(builds.native(f"posix/{name}"), program)
        for p in (work, native_dir, program):
            os.chown(p, uid, gid)
        native = subprocess.run([str(program)], cwd=native_dir, capture_output=True, timeout=60,
                                preexec_fn=_drop(uid, gid), stdin=subprocess.DEVNULL)
        caged = lind.run([wasm], root=cage_dir, capture_output=True, timeout=60,
                         user=(uid, gid), input=b"")
    assert native.returncode == 0, native.stderr
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == 0, caged.stderr
    return caged.stdout.decode()


def test_file_calls_match_linux(builds):
    """utime/utimes/futimesat, statfs, sendfile, copy_file_range, sync*, fadvise,
    readahead, preadv/pwritev(2), close_range, mknod (files and FIFOs), memfd_create."""
    out = compare(builds, "sys_files")
    assert "reader got 16 [through the fifo]" in out
    assert "copy_file_range offs = 4" in out


def test_setting_the_clock_matches_linux(builds):
    out = compare(builds, "set_time")
    assert "clock_settime realtime: -1 errno 1\n" in out and "settimeofday: -1 errno 1\n" in out


def test_extended_attributes_are_those_of_a_file_system_without_them(builds, tmp_path):
    """Not compared with Linux, whose file systems here have them."""
    result = lind.run([builds.wasm("posix/xattrs")], root=tmp_path, capture_output=True,
                      timeout=60)
    assert result.returncode == 0, result.stderr
    unsupported, missing, bad_fd = errno.EOPNOTSUPP, errno.ENOENT, errno.EBADF
    assert result.stdout.decode() == "".join(
        [f"{call}: -1 errno {unsupported}\n" for call in (
            "setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr")]
        + [f"{call}: 0 errno 0\n" for call in ("listxattr", "llistxattr", "flistxattr")]
        + [f"{call}: -1 errno {unsupported}\n" for call in (
            "removexattr", "lremovexattr", "fremovexattr")]
        + [f"getxattr missing file: -1 errno {missing}\n",
           f"listxattr missing file: -1 errno {missing}\n",
           f"fgetxattr bad fd: -1 errno {bad_fd}\n",
           f"setxattr /proc: -1 errno {unsupported}\n"])


def test_getrandom_matches_linux(builds):
    """getrandom (served in the trampoline): counts up to past 32 MiB (all of it, as
    x86_64 Linux gives; Lind once stopped at 32 MiB - 1), flags, EINVAL, EFAULT."""
    out = compare(builds, "random")
    assert "32 MiB + 16 = 33554448" in out
    assert "not all zero: 1, two reads differ: 1" in out


def test_vectored_reads_and_writes_match_linux(builds):
    """readv/writev on files and pipes (served in the trampoline up to 64 buffers, by
    the microvisor past that): empty buffers, counts of 0, -1 and 1025, unmapped arrays
    and buffers, read-only and write-only fds, a blocking 3 MiB writev and write into a
    pipe (all of it arrives: the trampoline once returned the first pipe-full of a
    write made before the cage had waited for anything), readv of a pipe, a non-blocking
    pipe-full, EPIPE with SIGPIPE handled and ignored."""
    out = compare(builds, "vectors")
    assert "write pipe 3 MiB = 3145728" in out
    assert "64 as written: 1, 65 as written: 1, 1024 as written: 1" in out


@pytest.mark.parametrize("writer_first", [False, True])
def test_a_cage_waiting_to_open_a_fifo_can_be_killed(builds, tmp_path, writer_first):
    """A blocking FIFO open waits on a helper thread: the cage's timeout still ends it."""
    os.mkfifo(tmp_path / "f")
    (tmp_path / "canary").write_text("x")
    wasm = builds.wasm("posix/fifo_open")
    with pytest.raises(subprocess.TimeoutExpired):
        lind.run([wasm, "w" if writer_first else "r"], root=tmp_path, capture_output=True,
                 timeout=2, input=b"")


def test_file_size_limit_matches_linux(builds):
    """RLIMIT_FSIZE a program sets itself: writes cut short at it, EFBIG and SIGXFSZ
    past it (caught, ignored, and the default action ending a child), on every call
    that writes or grows a file; pipes are not limited."""
    out = compare(builds, "file_size_limit")
    assert "write 60 more, cut at 100 40 0 caught 0" in out
    assert "sendfile at the limit -1 27 caught 25" in out
    assert "child signalled 1 by 25" in out


def test_a_file_size_limit_given_at_start_holds(builds, tmp_path):
    """Runtime.spawn(file_size=): the cage starts limited (so the trampoline writes no
    file itself) and may lower the limit but not raise it."""
    out = tmp_path / "out.txt"
    with lind.Runtime() as runtime, open(out, "wb") as stdout:
        cage = runtime.spawn(builds.wasm("posix/file_size_limit"), root=str(tmp_path),
                             stdin=stdout.fileno(), stdout=stdout.fileno(),
                             stderr=stdout.fileno(), file_size=64)
        cage.wait(60)
    assert cage.returncode == 0
    assert (tmp_path / "big").stat().st_size == 64       # its 300-byte write, cut
    text = out.read_bytes()
    assert len(text) == 64          # its stdout is a file too (SIGXFSZ ignored by then)
    assert text.startswith(b"unlimited at start: 0\nsetrlimit -1 22 caught 0\n")   # soft > hard


def test_process_and_identity_calls_match_linux(builds):
    """set*id among the user's own ids, getrusage/times/sysinfo, affinity and scheduling,
    nice, prctl (name, dumpable, no_new_privs, parent death signal), waitid, personality,
    capget."""
    out = compare(builds, "sys_process")
    assert "waitid WNOWAIT = 0" in out
    assert "grandchild got signal 10" in out


def test_signal_calls_match_linux(builds):
    """sigtimedwait (timeout, taking a pending signal without its handler, EINTR),
    sigqueue and rt_sigqueueinfo's si_code rules, sigaltstack with SA_ONSTACK handlers
    really running on the alternate stack."""
    out = compare(builds, "sys_signals")
    assert "SA_ONSTACK: on alt 1 flags inside 1 eperm 1" in out
    assert "sigtimedwait 20ms = -1 errno 11" in out


def test_memory_residency_and_locking_match_linux(builds):
    """mincore reports every mapped page resident; mlock/munlock/mlock2/mlockall check
    their range and flags and succeed (a cage's memory is never swapped by Lind)."""
    out = compare(builds, "sys_memory")
    assert "vec 1 1 1 1 9" in out


# What Linux answers for tests/programs/posix/sys_ids.c run as root (checked natively
# below when the tests run as root).
ROOT_IDS = """\
setgroups = 0
getgroups = 2
  groups 5 6
getgroups small = -1 errno 22
setresgid 100 200 300 = 0
  uid 0 0 0 gid 100 200 300 getuid agrees 1
setresuid 1000 2000 0 = 0
  uid 1000 2000 0 gid 100 200 300 getuid agrees 1
setgroups unprivileged = -1 errno 1
setresgid unprivileged = -1 errno 1
setresgid own ids = 0
  uid 1000 2000 0 gid 300 100 200 getuid agrees 1
seteuid 0 (saved) = 0
  uid 1000 0 0 gid 300 100 200 getuid agrees 1
setreuid -1 1000 = 0
  uid 1000 1000 0 gid 300 100 200 getuid agrees 1
setreuid 2000 -1 = -1 errno 1
  uid 1000 1000 0 gid 300 100 200 getuid agrees 1
setreuid 3000 -1 = -1 errno 1
setuid 0 = 0
setresuid 2000 -1 -1 = 0
setresuid -1 2000 2000 = 0
  uid 2000 2000 2000 gid 300 100 200 getuid agrees 1
child:  uid 2000 2000 2000 gid 300 100 200 getuid agrees 1
child setuid 0 = -1 errno 1
setuid 1000 = -1 errno 1
setuid 2000 = 0
  uid 2000 2000 2000 gid 300 100 200 getuid agrees 1
"""


@pytest.mark.parametrize("trampoline", ["c", "ctypes"])
def test_set_id_permutations_from_root_match_linux(builds, tmp_path, trampoline):
    """A cage run as uid 0 may set any ids; once its effective uid is not 0 it moves only
    among its real, effective and saved ids, as on Linux (getuid() comes from the
    trampoline's Slot, C or ctypes, so it must follow)."""
    script = ("import sys, lind\n"
              "r = lind.run([sys.argv[1]], root=sys.argv[2], capture_output=True, timeout=60,"
              " user=(0, 0), input=b'')\n"
              "sys.stdout.write(r.stdout.decode())\n")
    env = {**os.environ, "LIND_TRAMPOLINE": "ctypes" if trampoline == "ctypes" else "accel"}
    caged = subprocess.run([sys.executable, "-c", script, str(builds.wasm("posix/sys_ids")),
                            str(tmp_path)], capture_output=True, timeout=120, env=env)
    assert caged.stdout.decode() == ROOT_IDS, caged.stderr
    if os.geteuid() == 0:
        native = subprocess.run([builds.native("posix/sys_ids")], cwd=tmp_path,
                                capture_output=True, timeout=60)
        assert native.stdout.decode() == ROOT_IDS


def test_sysinfo_reports_the_trees_budget_and_cages(builds, tmp_path):
    """RAM is the tree's memory budget (what its cages hold is not free), processes are
    the cages of the tree."""
    caged = lind.run([builds.wasm("posix/sysinfo_tree")], root=tmp_path, capture_output=True,
                     timeout=60, memory=64 << 20, input=b"")
    assert caged.stdout.decode() == f"total {64 << 20} free<total 1 free>0 1 procs 3\n"
    assert caged.returncode == 0, caged.stderr


@pytest.mark.parametrize("trampoline, grate", [("c", None), ("ctypes", None), ("c", "strace"),
                                               ("ctypes", "strace"), ("c", "readonly:/ro")])
def test_a_cage_that_is_not_root_is_held_to_the_mode_bits_when_lind_is_root(
        as_root, builds, tmp_path, trampoline, grate):
    """Lind as root holds CAP_DAC_OVERRIDE: a uid 1000 cage wrote a 0444 file of its own
    and another user's 0644 one, and read another user's 0600 file (in its root or a
    mount). The host thread serving it now runs without the overrides; a root cage
    keeps them until it gives up root (every thread of it). Under a grate (root, as the
    cage was) the calls it makes for the cage are the cage's: strace's forwarded opens
    passed the bits for a cage that had given up root."""
    (tmp_path / "theirs").write_bytes(b"another user's\n")
    os.chown(tmp_path / "theirs", 4242, 4242)
    (tmp_path / "theirs").chmod(0o644)
    (tmp_path / "secret").write_bytes(b"another user's secret\n")
    os.chown(tmp_path / "secret", 4242, 4242)
    (tmp_path / "secret").chmod(0o600)
    (tmp_path / "mine").write_bytes(b"Lind's user's\n")
    (tmp_path / "mine").chmod(0o444)
    program = builds.wasm("posix/mode_bits")
    script = ("import sys, lind\n"
              "r = lind.run([sys.argv[1]], root=sys.argv[2], capture_output=True, timeout=60,"
              " user=(int(sys.argv[3]), int(sys.argv[3])), input=b'',"
              " grates=sys.argv[4:])\n"
              "sys.stdout.write(r.stdout.decode() + f'rc {r.returncode}\\n')\n")
    env = {**os.environ, "LIND_TRAMPOLINE": "ctypes" if trampoline == "ctypes" else "accel"}

    def run(uid: int) -> str:
        caged = subprocess.run([sys.executable, "-c", script, str(program), str(tmp_path),
                                str(uid), *([grate] if grate else [])],
                               capture_output=True, timeout=120, env=env)
        return caged.stdout.decode() + caged.stderr.decode()

    held = "theirs read 0 write 13, secret read 13, mine write 13"
    passed = "theirs read 0 write 0, secret read 0, mine write 0"
    assert run(1000) == f"first euid 1000: {held}\nrc 0\n"
    assert run(0) == (f"first euid 0: {passed}\n"
                      f"thread euid 0: {passed}\n"
                      "setuid 1000 = 0\n"
                      f"thread after setuid euid 1000: {held}\n"
                      f"first after setuid euid 1000: {held}\n"
                      "rc 0\n")
    assert (tmp_path / "theirs").read_bytes() == b"another user's\n"


def test_a_file_made_read_only_by_its_writer_stays_writable_through_its_fd(builds):
    """A file created 0444 or 0000 by an open for reading and writing: its fd keeps that
    access, so a shared writable mapping of it and locks through it work, as on Linux.
    Lind reopens the fd for them, and on the host thread of a cage that is not root
    (without root's overrides when Lind is root: threei) the reopen was refused
    (EACCES) by the mode the file has now."""
    out = compare(builds, "reopened_access")
    assert "mmap shared, writable            0 0" in out, out


@pytest.mark.parametrize("trampoline", ["c", "ctypes"])
def test_the_embedding_programs_thread_keeps_its_overrides(as_root, builds, tmp_path, trampoline):
    """A call made for a cage from a thread of the embedding program (a WASI program's
    preopens are opened from the thread that starts it; 3i from the host) took that
    thread's permission overrides for good: the program (this test run, as root) could
    no longer write into another user's 0700 directory, nor chown."""
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 4242, 4242)
    script = ("import os, sys, lind\n"
              "from lind.threei import ops\n"
              "def write():\n"
              "    with open(os.path.join(sys.argv[3], 'f'), 'w') as f:\n"
              "        f.write('x')\n"
              "    os.chown(os.path.join(sys.argv[3], 'f'), 4242, 4242)\n"
              "write()\n"
              "r = lind.run([sys.argv[1]], root=sys.argv[2], capture_output=True, timeout=60)\n"
              "assert r.returncode == 0, r.stderr\n"
              "write()\n"
              "rt = lind.Runtime()\n"
              "cage = rt.spawn(sys.argv[1], root=sys.argv[2], stdin=0, stdout=2, stderr=2)\n"
              "ops.make_call(rt, None, cage.id, 39, [0] * 6, [cage.id] * 6)   # getpid\n"
              "fd = ops.make_call(rt, None, cage.id, 257, [0, 0, 0, 0, 0, 0],\n"
              "                   [cage.id] * 6)   # openat(NULL): EFAULT, as the cage\n"
              "cage.wait(60)\n"
              "write()\n"
              "print('kept')\n")
    env = {**os.environ, "LIND_TRAMPOLINE": "ctypes" if trampoline == "ctypes" else "accel"}
    root = tmp_path / "root"
    root.mkdir()
    ran = subprocess.run([sys.executable, "-c", script, str(builds.wasi("args_env")), str(root),
                          str(theirs)], capture_output=True, timeout=120, env=env)
    assert ran.stdout == b"kept\n", ran.stderr.decode()[-2000:]
