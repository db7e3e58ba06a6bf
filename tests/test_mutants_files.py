"""File calls at their edges, written for the mutants of microvisor/sys_files.py the rest
of the suite let through (see tests/mutation/SUMMARY.md): one program run natively and
in Lind with the outputs compared, and the read-only rules of a `:ro` mount reached
through a writable one, with what Linux answers on a read-only mount.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_attacks import make_root, run_cage, run_host, untouched


def test_file_calls_at_their_edges_match_linux(builds, tmp_path):
    native = subprocess.run([builds.native("mutants/file_edges")], cwd=make_root(tmp_path, "n"),
                            capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    lines = native.stdout.splitlines()
    assert "creat through 41 links -1 40" in lines    # the checks really ran: ELOOP
    assert "copy matches: 1" in lines
    wasm = builds.wasm("mutants/file_edges")
    for tag in ("warm", "tmp"):
        before = sorted(os.listdir("/proc/self/fd"))
        rc, out, err = run_cage(tmp_path, tag, [wasm], root=make_root(tmp_path, tag), timeout=60)
        assert rc == 0, err
        assert out == native.stdout, tag
    assert sorted(os.listdir("/proc/self/fd")) == before   # the first run opened what Lind keeps

    # On a nodev file system (a tmpfs in a mount namespace of its own) Lind's opens take
    # the path that leaves refusing device nodes to the kernel.
    nodev = make_root(tmp_path, "nodev")
    script = (f"mount -t tmpfs -o nodev lind-test {nodev} && exec {sys.executable} -m lind run "
              f"--root {nodev} {wasm}")
    rc, out, err = run_host(tmp_path, "nodev", ["unshare", "-m", "--propagation", "private",
                                                "sh", "-c", script])
    assert rc == 0, err
    assert out == native.stdout


_RO = errno.EROFS
_EXPECTED = {
    "make-up-x": "0 0", "rename-into": _RO, "link-out-of": _RO,
    "creat-rdonly-existing": "0 0", "creat-wronly-existing": _RO,
    "creat-rdonly-trunc-existing": _RO, "creat-excl-existing": errno.EEXIST,
    "creat-excl-missing": _RO, "link-into": _RO, "linkat-follow-into": _RO,
    "symlink-into": _RO, "utimensat": _RO, "utimensat-nofollow": _RO, "utime-call": _RO,
    "utimes-call": _RO, "chown": _RO, "lchown": _RO, "chmod": _RO, "truncate": _RO,
    "access-w": _RO, "access-w-ro": _RO, "access-r": "0 0", "fchmod": _RO, "fchown": _RO,
    "futimens": _RO,
    "statfs-up-ro": "readonly 1 fsid 0 0", "statfs-up": "readonly 0 fsid 0 0",
    "statfs-ro": "readonly 1 fsid 0 0", "fstatfs-ro": "readonly 1 fsid 0 0",
    "fstatfs-up": "readonly 0 fsid 0 0",
    # /proc and /dev are the microvisor's: their magic numbers, nothing counted, ST_VALID.
    "statfs-proc": "0 0", "statfs-proc:": "9fa0 4096 0 0 0 0 0 0 0 255 4096 20",
    "statfs-dev": "0 0", "statfs-dev:": "1021994 4096 0 0 0 0 0 0 0 255 4096 20",
    "lstat-link": "0 0", "fstatat-nofollow": "0 0", "readlink": "8 0",
    "creat-in-missing-dir": errno.ENOENT, "creat-under-a-file": errno.ENOTDIR,
    "creat-through-link": "0 0", "creat-excl-through-link": errno.EEXIST, "creat-through-link-into-ro": _RO,
    "chown-same": "0 0", "chown-other-uid": errno.EPERM, "chown-other-gid": errno.EPERM,
    "fchown-other-uid": errno.EPERM,
    "statx": "0 0", "statx-zeros": "0 0 0 0 0 0", "utimensat-times-at-end": "0 0",
    "utimensat-times-past-end": errno.EFAULT,
    "pipe2-at-end": "0 0", "pipe2-past-end": errno.EFAULT, "pipe2-past-end-left-no-fd": "1 0",
}


def _tree(path: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(path)): p.read_bytes() if p.is_file() else os.readlink(p)
            if p.is_symlink() else None for p in sorted(path.rglob("*"))}


@pytest.mark.usefixtures("canary")
def test_a_read_only_mount_holds_under_every_name_and_looking_is_no_change(builds, tmp_path):
    up = tmp_path / "up"
    ro = up / "ro"
    ro.mkdir(parents=True)
    (ro / "file.txt").write_bytes(b"original")
    os.chmod(ro / "file.txt", 0o640)
    os.utime(ro / "file.txt", ns=(10**9, 2 * 10**9))
    (ro / "link").symlink_to("file.txt")
    (ro / "tonew").symlink_to("/up/new.txt")
    (ro / "toro").symlink_to("/ro/new.txt")
    before = _tree(ro)
    times = os.stat(ro / "file.txt").st_mtime_ns

    rc, out, err = run_cage(tmp_path, "ro", [builds.wasm("mutants/ro_by_file")],
                            root=make_root(tmp_path), mounts=[f"{ro}:/ro:ro", f"{up}:/up"])
    assert rc == 0, err
    got = dict(line.split(" ", 1) for line in out.splitlines())
    assert got == {what: e if isinstance(e, str) else f"-1 {e}" for what, e in _EXPECTED.items()}
    assert _tree(ro) == before
    assert os.stat(ro / "file.txt").st_mtime_ns == times
    assert os.stat(ro / "file.txt").st_mode & 0o777 == 0o640
    assert (up / "new.txt").read_bytes() == b""      # made through the link on /ro
    assert sorted(os.listdir(up)) == ["new.txt", "ro", "x"]
    untouched(tmp_path / "canary.txt")


def test_whole_names_at_the_edge_of_the_c_open_path_are_read_whole(builds, tmp_path):
    """Names of 4,093, 4,094 and 4,095 bytes (Linux takes up to 4,095 before the NUL):
    the C open path serves the first two and leaves the last to the microvisor. A mutant
    of path_here that read at most 4,094 bytes of a name opened the 4,095-byte one's
    shorter neighbour; one that gave up a byte earlier is no change (the microvisor
    answers alike)."""
    root = make_root(tmp_path)
    lengths = (76, 77, 78)
    parent = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(16):         # deeper than one host path may name: step by step
            os.mkdir("d" * 250, dir_fd=parent)
            inner = os.open("d" * 250, os.O_RDONLY | os.O_DIRECTORY, dir_fd=parent)
            os.close(parent)
            parent = inner
        for n in lengths:
            fd = os.open("f" * n, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=parent)
            os.write(fd, f"file of {n}\n".encode())
            os.close(fd)
    finally:
        os.close(parent)
    names = ["/" + "/".join(["d" * 250] * 16) + "/" + "f" * n for n in lengths]
    assert [len(name) for name in names] == [4093, 4094, 4095]
    rc, out, err = run_cage(tmp_path, "names", [builds.wasm("grates/cat_files"), *names],
                            root=root, timeout=60)
    assert rc == 0, err
    assert out == "".join(f"{name}: file of {n}\n" for name, n in zip(names, lengths,
                                                                      strict=True))
