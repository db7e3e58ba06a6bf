"""A cage's file system at the edges of its mounts: read-only by file (whatever path or
mount names it), lexical `..`, the longest mount prefix, O_CREAT/O_EXCL/O_NOFOLLOW on
the write path. The tests that kill the mutants of microvisor/fs.py the rest of the
suite let through (see tests/mutation/SUMMARY.md); each expected errno is Linux's for
the same call on a read-only mount.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

import pytest
from test_attacks import canary, make_root, run_cage, untouched  # noqa: F401 - canary: a fixture

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
