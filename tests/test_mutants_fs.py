"""A cage's file system at the edges of its mounts: read-only by file (whatever path or
mount names it), lexical `..`, the longest mount prefix, O_CREAT/O_EXCL/O_NOFOLLOW on
the write path. The tests that kill the mutants of microvisor/fs.py the rest of the
suite let through (see tests/mutation/SUMMARY.md); each expected errno is Linux's for
the same call on a read-only mount.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from test_attacks import make_root, run_cage, run_host, untouched

import lind

_EXPECTED = {
    "ro-read": 0, "ro-write": errno.EROFS, "ro-rdwr": errno.EROFS, "ro-trunc": errno.EROFS,
    "ro-append": errno.EROFS, "ro-create": errno.EROFS, "ro-dotdot": errno.EROFS,
    "ro-via-up": errno.EROFS, "ro-via-up-trunc": errno.EROFS, "ro-via-up-create": errno.EROFS,
    "ro-via-up-mkdir": errno.EROFS, "ro-via-up-read": 0,
    "ro-via-up-write-missing": errno.ENOENT, "fifo-write-nonblock": errno.ENXIO, "fifo-read-nonblock": 0,
    "ro2-write": 0, "ro2-create": 0, "rox-create": 0,
    "rw-trunc": 0, "rw-excl-existing": errno.EEXIST, "rw-creat-existing": 0,
    "rw-nofollow-link": errno.ELOOP, "rw-nofollow-file": 0, "rw-excl-without-creat": 0,
    "rw-follow-link": 0, "rw-dir-for-write": errno.EISDIR,
    "rw-directory-on-file": errno.ENOTDIR, "rw-create-in-missing": errno.ENOENT,
    "rw-create": 0, "rmdir-mount-point": errno.EBUSY, "rename-mount-point": errno.EBUSY,
    "rename-onto-mount-point": errno.EBUSY,
    "chdir-ro-sub": 0, "relative-ro-write": errno.EROFS, "relative-read": 0, "chdir-dir": 0,
    "relative-rw-create": 0,
}


def _tree(path: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(path)): p.read_bytes() if p.is_file() else None
            for p in sorted(path.rglob("*"))}


@pytest.mark.usefixtures("canary")
def test_read_only_follows_the_file_and_prefixes_match_whole_names(builds, tmp_path):
    up = tmp_path / "up"
    ro = up / "ro"
    (ro / "sub").mkdir(parents=True)
    (ro / "file.txt").write_bytes(b"original")
    (ro / "sub" / "inner.txt").write_bytes(b"inner")
    (up / "ro2").mkdir()
    (up / "ro2" / "file.txt").write_bytes(b"sibling")
    root = make_root(tmp_path)
    (root / "rox").mkdir()
    (root / "dir").mkdir()
    (root / "file.txt").write_bytes(b"root file")
    (root / "link").symlink_to("file.txt")
    os.mkfifo(root / "fifo")
    before = _tree(ro)

    rc, out, err = run_cage(tmp_path, "fs", [builds.wasm("mutants/fs_calls")], root=root,
                            mounts=[f"{ro}:/ro:ro", f"{up}:/up"], timeout=20)
    assert rc == 0, err
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines.pop("show-root-up") == "original"
    assert lines.pop("show-rel-to-ro") == "inner"
    got = {what: int(result.split()[1]) for what, result in lines.items()}
    assert got == _EXPECTED
    assert all(lines[what] == ("0 0" if e == 0 else f"-1 {e}") for what, e in _EXPECTED.items())

    assert _tree(ro) == before
    assert (up / "ro2" / "file.txt").read_bytes() == b""
    assert (root / "file.txt").read_bytes() == b""
    for made in (up / "ro2" / "made.txt", root / "rox" / "made.txt", root / "dir" / "made.txt",
                 root / "rox" / "rel.txt"):
        assert stat.S_IMODE(made.stat().st_mode) == 0o600, made
    untouched(tmp_path / "canary.txt")


def test_opens_the_trampoline_makes_match_mount_prefixes_by_whole_names(builds, tmp_path):
    """/datax is the root's, not the /data mount's "x": the trampoline's own mount
    lookup (_accel.c mount_of) matches whole names, as FileSystem.locate does. Plain
    read-only opens, without a read-only mount: the trampoline makes them all."""
    mounted = tmp_path / "mounted"
    (mounted / "x").mkdir(parents=True)
    (mounted / "x" / "f.txt").write_text("the mount's x/f.txt\n")
    (mounted / "f.txt").write_text("the mount's f.txt\n")
    root = make_root(tmp_path)
    (root / "datax").mkdir()
    (root / "datax" / "f.txt").write_text("the root's datax/f.txt\n")
    paths = ["/datax/f.txt", "/data/x/f.txt", "/data/f.txt", "/dat/f.txt", "datax/f.txt"]
    rc, out, err = run_cage(tmp_path, "prefix", [builds.wasm("grates/cat_files"), *paths],
                            root=root, mounts=[f"{mounted}:/data"], timeout=20)
    assert rc == 0, err
    assert out.splitlines() == [
        "/datax/f.txt: the root's datax/f.txt", "/data/x/f.txt: the mount's x/f.txt",
        "/data/f.txt: the mount's f.txt", f"/dat/f.txt: errno {errno.ENOENT}",
        "datax/f.txt: the root's datax/f.txt"]


def test_fd_table_matches_linux(builds, tmp_path):
    root = make_root(tmp_path)
    (root / "dir").mkdir()
    for name in "abc":
        (root / "dir" / name).write_text(name)
    os.mkfifo(root / "fifo")
    outputs = []
    for binary in (builds.native("mutants/fd_calls"), builds.wasm("mutants/fd_calls")):
        (root / "data").write_bytes(b"0123456789")
        if binary.suffix == ".wasm":
            rc, out, err = run_cage(tmp_path, "fd", [binary, binary], root=root, timeout=20)
        else:
            proc = subprocess.run([binary, binary], cwd=root, capture_output=True, text=True,
                                  timeout=60)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        assert rc == 0, err
        outputs.append(out)
    assert outputs[1] == outputs[0]


def test_waits_and_status_flags_match_linux(builds, tmp_path):
    """F_SETFL on a file, signals interrupting FIFO reads and writes, writev past a
    pipe's capacity, a full non-blocking pipe, 300 eventfds: as on Linux; and the virtual
    files opened and closed on the way give back every host-fd slot they counted."""
    from lind.microvisor import limits

    root = make_root(tmp_path)
    os.mkfifo(root / "fifo")
    outputs = []
    for binary in (builds.native("mutants/fd_waits"), builds.wasm("mutants/fd_waits")):
        (root / "data").write_bytes(b"0123456789")
        if binary.suffix == ".wasm":
            held = limits.host_fds.held
            rc, out, err = run_cage(tmp_path, "waits", [binary], root=root, timeout=60)
            assert limits.host_fds.held == held
        else:
            proc = subprocess.run([binary], cwd=root, capture_output=True, text=True, timeout=60)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        assert rc == 0, err
        outputs.append(out)
    lines = outputs[0].splitlines()
    assert "fifo read interrupted -1 4" in lines        # the waits really were interrupted
    assert "fifo write interrupted 65536 0" in lines
    assert "data: 13 \"XY23456789abc\"" in lines
    assert "eventfds made 300, written and read 300" in lines
    assert outputs[1] == outputs[0]


def test_inherited_stdout_keeps_its_append_flag_as_on_linux(builds, tmp_path):
    """A stdout the host opened for appending: the cage may set O_NONBLOCK while keeping
    O_APPEND as it is, as on Linux."""
    results = []
    for binary in (builds.native("mutants/fd_waits"), builds.wasm("mutants/fd_waits")):
        log = tmp_path / f"{binary.suffix or 'native'}.log"
        with open(log, "ab") as out, open(tmp_path / "in", "wb+") as inp:
            if binary.suffix == ".wasm":
                result = lind.run([str(binary), "stdout"], stdin=inp, stdout=out,
                                  stderr=subprocess.PIPE, root=str(make_root(tmp_path)),
                                  timeout=30)
            else:
                result = subprocess.run([binary, "stdout"], stdin=inp, stdout=out,
                                        stderr=subprocess.PIPE, timeout=30)
        assert result.returncode == 0, result.stderr
        results.append(result.stderr)
    assert results[0] == b"append 1; keeping it, adding O_NONBLOCK: 0 0 (nonblock 1); as before: 0 0\n"
    assert results[1] == results[0]


def test_a_stdin_socket_reads_what_is_there_and_waits_interruptibly(builds, tmp_path):
    """stdin a socket the host holds (shared with it, as a shell's socket would be): a
    read returns the bytes there, and a read waiting for more ends at a signal."""
    results = []
    for binary in (builds.native("mutants/fd_waits"), builds.wasm("mutants/fd_waits")):
        ours, theirs = socket.socketpair()
        with ours, theirs:
            ours.sendall(b"abc")
            if binary.suffix == ".wasm":
                result = lind.run([str(binary), "socket-stdin"], stdin=theirs, capture_output=True,
                                  root=str(make_root(tmp_path)), timeout=30)
            else:
                result = subprocess.run([binary, "socket-stdin"], stdin=theirs,
                                        capture_output=True, timeout=30)
        assert result.returncode == 0, result.stderr
        results.append(result.stdout)
    assert results[0] == (b"socket read of 100 with 3 there 3 0\n"
                          b"socket read interrupted -1 4\nalarms 1\n")
    assert results[1] == results[0]


def test_pipes_received_from_outside_lind_wait_as_on_linux(builds, tmp_path):
    """A pipe's read end and another's write end sent by the host over a socket (not
    Lind's own pipes: their waits are the microvisor's, non-blocking per call): reads
    and writes return what there is, wait until a signal, and honour O_NONBLOCK set
    afterwards, as on Linux; the write filled exactly the pipe's room."""
    results = []
    for binary in (builds.native("mutants/fd_waits"), builds.wasm("mutants/fd_waits")):
        ours, theirs = socket.socketpair()
        readable, writer = os.pipe()
        reader, writable = os.pipe()
        with ours, theirs:
            os.write(writer, b"abc")
            socket.send_fds(ours, [b"x"], [readable, writable])
            os.close(readable)
            os.close(writable)
            if binary.suffix == ".wasm":
                result = lind.run([str(binary), "received-pipes"], stdin=theirs,
                                  capture_output=True, root=str(make_root(tmp_path)), timeout=30)
            else:
                result = subprocess.run([binary, "received-pipes"], stdin=theirs,
                                        capture_output=True, timeout=30)
        os.set_blocking(reader, False)
        arrived = 0
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(reader, 1 << 16):
                arrived += len(chunk)
        os.close(reader)
        os.close(writer)
        assert result.returncode == 0, result.stderr
        results.append((result.stdout, arrived))
    assert results[0] == (b"recvmsg 1 0\nread of 100 with 3 there 3 0\n"
                          b"empty read interrupted -1 4\nset nonblock 0 0\n"
                          b"empty nonblocking read -1 11\n"
                          b"write past the room interrupted 65536 0\nset nonblock 0 0\n"
                          b"write to a full pipe -1 11\nalarms 2\n", 65536)
    assert results[1] == results[0]


def test_a_pipe_description_shared_by_two_fds_stays_blocking(builds, tmp_path):
    """One fd of two closed: the description, and how its reads wait, stay the other's
    (a fresh Lind process, so these are its first pipes)."""
    outputs = []
    for binary in (builds.native("mutants/fd_waits"), builds.wasm("mutants/fd_waits")):
        command = [binary, "dup-pipe"]
        if binary.suffix == ".wasm":
            command = [sys.executable, "-m", "lind", "run", "--root", make_root(tmp_path),
                       *command]
        with open(tmp_path / "in", "wb+") as scratch:
            proc = subprocess.run(command, stdin=scratch, capture_output=True, text=True,
                                  timeout=60)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == ("empty nonblocking pipe -1 11\n"
                          "empty blocking pipe interrupted -1 4\nalarms 1\n")
    assert outputs[1] == outputs[0]


@pytest.mark.usefixtures("canary")
def test_host_proc_mounted_read_only_gives_no_magic_links(builds, tmp_path):
    """/proc/self/fd/N of the host (this process) names the host's open files: a cage
    given the host's /proc must not open them (ELOOP), while plain paths below another
    host mount (/dev/shm is one) still resolve."""
    fd = os.open(tmp_path / "canary.txt", os.O_RDONLY)
    try:
        rc, out, err = run_cage(
            tmp_path, "proc", [builds.wasm("grates/cat_files"), f"/hostproc/self/fd/{fd}",
                               "/hostproc/self/cwd/x", "/hostproc/self/root/etc/hostname",
                               "/hostdev/shm"],
            root=make_root(tmp_path), mounts=["/proc:/hostproc:ro", "/dev:/hostdev:ro"])
    finally:
        os.close(fd)
    assert rc == 0, err
    assert out == (f"/hostproc/self/fd/{fd}: errno {errno.ELOOP}\n"
                   f"/hostproc/self/cwd/x: errno {errno.ELOOP}\n"
                   f"/hostproc/self/root/etc/hostname: errno {errno.ELOOP}\n"
                   "/hostdev/shm: ")
    untouched(tmp_path / "canary.txt")


def test_mounts_leave_no_host_fd_open(builds, tmp_path):
    """Every cage of a run (fd_calls forks and execs) shares the mounts; the last one to
    end closes their host fds."""
    root = make_root(tmp_path)
    (root / "dir").mkdir()
    (tmp_path / "m").mkdir()
    prog = builds.wasm("mutants/fd_calls")
    mounts = [f"{tmp_path / 'm'}:/m:ro", f"{tmp_path / 'm'}:/n", f"{tmp_path / 'm'}:/o"]
    for tag in ("warm", "fds"):   # the first run opens what Lind itself keeps open
        (root / "data").write_bytes(b"0123456789")
        before = sorted(os.listdir("/proc/self/fd"))
        rc, out, err = run_cage(tmp_path, tag, [prog, prog], root=root, mounts=mounts)
        assert rc == 0, err
        assert "after exec fd 3: 0" in out
    assert sorted(os.listdir("/proc/self/fd")) == before


def _read_only_tree(path: Path) -> Path:
    (path / "sub").mkdir(parents=True)
    (path / "file.txt").write_bytes(b"original")
    (path / "link").symlink_to("file.txt")
    (path / "dangling").symlink_to("nowhere.txt")
    os.mkfifo(path / "fifo")
    return path


@pytest.mark.usefixtures("canary")
def test_opens_on_a_read_only_mount_match_linux(builds, tmp_path):
    """Each open of ro_open_edges.c on a read-only bind mount (natively, in a mount
    namespace of its own), then in a cage on a `:ro` mount, through a writable mount of
    its parent (read-only by file), and under the readonly grate: the same results.
    Linux looks the name up first, refuses writes to files only (a FIFO still opens
    for writing), and an exec of a FIFO is EACCES (a host open of one must not wait)."""
    ro = _read_only_tree(tmp_path / "up" / "ro")
    fifo_dir = make_root(tmp_path, "fifos")
    os.mkfifo(fifo_dir / "fifo")
    script = (f"mount --bind {ro} {ro} && mount -o remount,ro,bind {ro} && "
              f"exec {builds.native('mutants/ro_open_edges')} {ro} {fifo_dir / 'fifo'}")
    rc, native, err = run_host(tmp_path, "native", ["unshare", "-m", "--propagation", "private",
                                                    "sh", "-c", script], timeout=30)
    assert rc == 0, err
    lines = native.splitlines()
    assert f"create-nested -1 {errno.EROFS}" in lines and f"exec-fifo -1 {errno.EACCES}" in lines
    assert f"fifo-write-nonblock -1 {errno.ENXIO}" in lines       # not EROFS
    assert len(lines) == 35
    assert f"mkdir-existing-dir -1 {errno.EEXIST}" in lines and f"mkdir-new -1 {errno.EROFS}" in lines
    before = _tree(ro)
    root = make_root(tmp_path)
    os.mkfifo(root / "fifo")
    writable = _read_only_tree(tmp_path / "writable")
    wasm = builds.wasm("mutants/ro_open_edges")
    for tag, directory, options in (
            ("mount", "/ro", {"mounts": [f"{ro}:/ro:ro"]}),
            ("by-file", "/up/ro", {"mounts": [f"{ro}:/ro:ro", f"{tmp_path / 'up'}:/up"]}),
            ("grate", "/w", {"mounts": [f"{writable}:/w"], "grates": ["readonly:/w"]})):
        rc, out, err = run_cage(tmp_path, tag, [wasm, directory, "/fifo"], root=root,
                                timeout=30, **options)
        assert (rc, err) == (0, ""), tag
        assert out == native, tag
    assert _tree(ro) == before
    untouched(tmp_path / "canary.txt")


def test_a_host_process_without_stdin_runs_cages_alike(builds, tmp_path):
    """A daemon often runs with fd 0 closed: then the host hands fd 0 out again, to a
    mount or a file a cage opens, and 0 is a descriptor like any other."""
    ro = _read_only_tree(tmp_path / "ro")
    root = make_root(tmp_path)
    os.mkfifo(root / "fifo")
    args = [str(builds.wasm("mutants/ro_open_edges")), "/ro", "/fifo"]
    options = {"root": str(root), "mounts": [f"{ro}:/ro:ro"], "timeout": 30}
    expected = lind.run(args, capture_output=True, stdin=subprocess.DEVNULL, **options)
    assert expected.returncode == 0 and expected.stdout.count(b"\n") == 35
    script = (f"import lind, subprocess, sys\n"
              f"for _ in range(3):\n"
              f"    r = lind.run({args!r}, capture_output=True, stdin=subprocess.DEVNULL, "
              f"**{options!r})\n"
              f"    sys.stdout.buffer.write(r.stdout)\n")
    rc, out, err = run_host(tmp_path, "no-stdin", ["sh", "-c", 'exec "$0" -c "$1" 0<&-',
                                                   sys.executable, script])
    assert (rc, err) == (0, "")
    assert out == expected.stdout.decode() * 3


def test_every_host_fd_lind_holds_is_close_on_exec(builds, tmp_path):
    """While a cage holds files of every kind, each host descriptor Lind opened for it
    (mounts, files, pipes, sockets, FIFOs, mappings, wake fds) is close-on-exec: a
    program the host application starts later never inherits a cage's files."""
    ro = _read_only_tree(tmp_path / "ro")
    writable = make_root(tmp_path, "w")
    before = set(os.listdir("/proc/self/fd"))
    with lind.Popen([str(builds.wasm("mutants/hold_fds"))], stdin=lind.PIPE, stdout=lind.PIPE,
                    root=str(make_root(tmp_path)),
                    mounts=[f"{ro}:/ro:ro", f"{writable}:/w"]) as proc:
        assert proc.stdout.readline() == b"ready\n"
        held = {}
        for name in set(os.listdir("/proc/self/fd")) - before:
            with contextlib.suppress(OSError):      # the listing's own fd, closed by now
                held[name] = (os.readlink(f"/proc/self/fd/{name}"),
                              fcntl.fcntl(int(name), fcntl.F_GETFD) & fcntl.FD_CLOEXEC)
        proc.stdin.close()
    assert proc.returncode == 0
    targets = " ".join(target for target, _ in held.values())
    for kind in (str(ro), str(writable), "new.txt", "pipe:", "socket:", "fifo"):
        assert kind in targets, kind                # the check saw each kind
    assert {name: target for name, (target, cloexec) in held.items() if not cloexec} == {}


@pytest.mark.parametrize("target", ["elsewhere", "/"])
def test_a_roots_own_tmp_stays_even_as_a_symlink(builds, tmp_path, target):
    """Lind mounts a private /tmp only where the root has none: a root's /tmp that is a
    symbolic link (dangling or not) is the root's own, and stays as it is."""
    root = make_root(tmp_path)
    (root / "tmp").symlink_to(target)
    rc, out, err = run_cage(tmp_path, "tmp", [builds.wasm("mutants/root_tmp")], root=root)
    assert (rc, out, err) == (0, f"readlink /tmp: {target}\n", "")
    empty = make_root(tmp_path, "empty")
    rc, out, err = run_cage(tmp_path, "none", [builds.wasm("mutants/root_tmp")], root=empty)
    assert (rc, out, err) == (0, f"readlink /tmp: -1 {errno.EINVAL}\n", "")   # a directory
