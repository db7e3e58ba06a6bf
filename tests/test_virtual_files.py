"""What every cage sees whatever its root holds: /dev, /proc/self, /etc, /tmp (issue 10).

The entries are the microvisor's own (lind.microvisor.virtual): compared with the same
C program built natively where Linux answers alike, and attacked where a root or an
inherited file could lead a cage to something it was not given. Every cage here has
scratch files as stdio and a canary outside its root.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from test_attacks import make_root, run_cage, untouched
from test_wasi import wasi  # noqa: F401 - a fixture

import lind


def fsops(builds, tmp_path: Path, tag: str, ops: list[str], **kw) -> str:
    rc, out, err = run_cage(tmp_path, tag, [builds.wasm("grates/py_fsops"), *ops], **kw)
    assert rc == 0, err
    return out


def test_matches_native(builds, tmp_path):
    """Devices, /proc/self, getpwuid, mkstemp in /tmp and shm_open between a parent and
    its child answer as on Linux (native: a new session, so no terminal either)."""
    (tmp_path / "native").mkdir()
    args = ["one", "two words"]
    stdin = tmp_path / "stdin.txt"
    stdin.write_bytes(b"")
    with open(stdin, "rb") as fin:
        native = subprocess.run([builds.native("posix/vfiles"), *args], cwd=tmp_path / "native",
                                stdin=fin, capture_output=True, timeout=60,
                                start_new_session=True)
    with open(stdin, "rb") as fin:
        caged = lind.run([builds.wasm("posix/vfiles"), *args], root=make_root(tmp_path),
                         stdin=fin, capture_output=True, timeout=60)
    assert native.returncode == 0, native.stderr
    assert caged.returncode == 0, caged.stderr
    assert caged.stdout.decode() == native.stdout.decode()
    assert "stat /dev/tty: chr=1 rdev=5,0" in caged.stdout.decode()


def test_changes_under_dev_are_refused_and_identity_is_the_cages(builds, tmp_path, canary):  # noqa: F811
    """As for an ordinary user on Linux: no new names, removals or renames under /dev
    (EACCES), no chmod of a device (EPERM); /etc and /proc/self are read-only; the
    generated passwd and hosts follow --user and --hostname."""
    root = make_root(tmp_path)
    rc, out, err = run_cage(tmp_path, "refused", [builds.wasm("posix/vfiles"), "cage"],
                            root=root, user=(1234, 567), hostname="box")
    assert rc == 0, err
    tail = out[out.index("unlink /dev/null"):]
    assert tail == (f"unlink /dev/null: -1 errno {errno.EACCES}\n"
                    f"unlink /dev/sda: -1 errno {errno.EACCES}\n"
                    f"unlink /dev/lind-new: -1 errno {errno.EACCES}\n"
                    f"unlink /dev/shm/..: -1 errno {errno.EACCES}\n"
                    f"mkdir /dev/x: -1 errno {errno.EACCES}\n"
                    f"rename /dev/zero: -1 errno {errno.EACCES}\n"
                    f"creat /dev/new: -1 errno {errno.EACCES}\n"
                    f"chmod /dev/null: -1 errno {errno.EPERM}\n"
                    f"symlink /dev/x: -1 errno {errno.EACCES}\n"
                    f"write /etc/passwd: -1 errno {errno.EACCES}\n"
                    f"write /proc/self/status: -1 errno {errno.EACCES}\n"
                    f"open /dev/null 301: -1 errno {errno.EEXIST}\n"
                    f"open /dev/stdin 400000: -1 errno {errno.ELOOP}\n"
                    f"open /dev 1: -1 errno {errno.EISDIR}\n"
                    f"open /dev/null 200000: -1 errno {errno.ENOTDIR}\n"
                    f"open /proc/self/exe 1: -1 errno {errno.ETXTBSY}\n"
                    f"open /etc/hosts 2: -1 errno {errno.EACCES}\n"
                    "access /dev/null 6: 0 errno 0\n"
                    f"access /dev/null 1: -1 errno {errno.EACCES}\n"
                    f"access /etc/passwd 2: -1 errno {errno.EACCES}\n"
                    "access /etc/passwd 4: 0 errno 0\n"
                    "access /proc/self 5: 0 errno 0\n"
                    f"access /proc/self 2: -1 errno {errno.EACCES}\n"
                    f"access /proc/self/exe 2: -1 errno {errno.EACCES}\n"
                    "access /proc/self/fd/0 4: 0 errno 0\n"
                    "access pipe 6: 0 errno 0\n"
                    f"access pipe 1: -1 errno {errno.EACCES}\n"
                    # Linux opens a pipe read-write through /proc; here no more than is held.
                    f"pipe read end O_RDWR: -1 errno {errno.EACCES}\n"
                    "hosts names box: 1\n"
                    "user user uid 1234\n")
    assert list(root.iterdir()) == []     # nothing made inside the user's root
    untouched(canary)


def test_proc_self_files(builds, tmp_path):
    """status, stat, cmdline and the fd links, read as text by a cage whose pid is known."""
    out = fsops(builds, tmp_path, "proc", ["cat", "/proc/self/cmdline", "readlink", "/proc/self",
                                           "readlink", "/proc/self/fd/1", "ls", "/proc/self",
                                           "readlink", "/proc/self/exe", "cd", "/proc/self/fd",
                                           "pwd", "stat", "/proc/self/fd/0", "ls", "/proc"],
                root=make_root(tmp_path))
    lines = out.splitlines()
    assert lines[0].startswith('cat /proc/self/cmdline: "grates-py_fsops')   # argv[0]
    pid = lines[1].rsplit(" ", 1)[1]
    assert pid.isdigit()
    assert lines[2] == "readlink /proc/self/fd/1: anon_inode:[host-file]"   # a host file
    assert lines[3] == ("ls /proc/self: cmdline comm cwd environ exe fd maps oom_score_adj smaps "
                        "smaps_rollup stat statm status task")
    assert lines[4].startswith("readlink /proc/self/exe: /") and lines[4].endswith(".wasm")
    assert lines[5:7] == ["cd: ok", f"pwd: /proc/{pid}/fd"]
    assert lines[7] == "stat /proc/self/fd/0: file size=0 mode=644"    # the scratch stdin
    assert lines[8] == f"ls /proc: {pid} cpuinfo loadavg meminfo self stat uptime version"


def test_proc_system_files_say_what_sysinfo_and_uname_say(builds, tmp_path):
    """meminfo, cpuinfo, stat, uptime, loadavg, version and /proc/self/environ, parsed as
    programs parse them: the cage's budget, its CPUs, its tree's CPU time, the start
    environment (/proc/stat was missing: libuv's uv_cpu_info failed with ENOENT)."""
    rc, out, err = run_cage(tmp_path, "system", [builds.wasm("posix/proc_system")],
                            root=make_root(tmp_path), env={"A": "1", "B": "two"},
                            memory=64 << 20)
    assert rc == 0, err
    assert out.splitlines() == ["meminfo: MemTotal is sysinfo's", "cpuinfo: one per CPU",
                                "stat: a line per CPU", "stat btime: boot",
                                "stat: its CPU time grows", "uptime: sysinfo's", "loadavg: parses",
                                "version: uname's release", "environ: A=1|B=two|",
                                "setenv leaves it: 1"]


def test_etc_file_in_the_root_or_a_mount_overrides(builds, tmp_path):
    root = make_root(tmp_path)
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_text("alice:x:1000:1000:alice:/:/bin/sh\n")
    (root / "etc" / "motd").write_text("hi")
    out = fsops(builds, tmp_path, "etc", ["cat", "/etc/passwd", "cat", "/etc/group", "ls", "/etc",
                                          "write", "/etc/resolv.conf", "nameserver 10.0.0.1",
                                          "cat", "/etc/resolv.conf"], root=root)
    assert out == ('cat /etc/passwd: "alice:x:1000:1000:alice:/:/bin/sh\n"\n'
                   'cat /etc/group: "root:x:0:\nuser:x:1000:user\nnogroup:x:65534:\n"\n'
                   "ls /etc: group hosts motd nsswitch.conf passwd protocols resolv.conf services\n"
                   "write /etc/resolv.conf nameserver 10.0.0.1: EACCES\n"   # root's, on Linux
                   'cat /etc/resolv.conf: "# no resolver on this network: only /etc/hosts '
                   'names resolve\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n"\n')
    (tmp_path / "hosts").mkdir()
    (tmp_path / "hosts" / "hosts").write_text("10.1.2.3 db\n")
    out = fsops(builds, tmp_path, "mounted", ["cat", "/etc/hosts", "ls", "/etc"],
                root=make_root(tmp_path, "other"), mounts=[f"{tmp_path / 'hosts'}:/etc:ro"])
    assert out == ('cat /etc/hosts: "10.1.2.3 db\n"\n'
                   "ls /etc: group hosts nsswitch.conf passwd protocols resolv.conf services\n")


def test_private_tmp_and_shm_are_the_trees_and_removed(builds, tmp_path, monkeypatch):
    """A root without /tmp gets a private one (and every tree a /dev/shm): host
    directories the cages of the tree share, gone when the tree ends; a root with its
    own /tmp keeps using it."""
    host_tmp = tmp_path / "host-tmp"
    host_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(host_tmp))
    root = make_root(tmp_path)
    out = fsops(builds, tmp_path, "private", ["write", "/tmp/a", "A", "cat", "/tmp/a",
                                              "write", "/dev/shm/b", "B", "ls", "/dev/shm",
                                              "mkdir", "/tmp", "mkdir", "/dev", "mkdir", "/etc",
                                              "mkdir", "/tmp/d", "mkdir", "/dev/d"],
                root=root)
    assert out == ('write /tmp/a A: ok\ncat /tmp/a: "A"\nwrite /dev/shm/b B: ok\n'
                   "ls /dev/shm: b\nmkdir /tmp: EEXIST\nmkdir /dev: EEXIST\n"
                   "mkdir /etc: EEXIST\nmkdir /tmp/d: ok\nmkdir /dev/d: EACCES\n")
    assert list(root.iterdir()) == []
    assert list(host_tmp.iterdir()) == []
    (root / "tmp").mkdir()
    out = fsops(builds, tmp_path, "own", ["write", "/tmp/c", "C"], root=root)
    assert out == "write /tmp/c C: ok\n"
    assert (root / "tmp" / "c").read_text() == "C"
    assert list(host_tmp.iterdir()) == []


def test_dev_tty_is_the_cages_terminal(builds, tmp_path):
    """With a terminal as stdin, /dev/tty opens that terminal (output goes to it) and
    /proc/self/fd/0 names it; without one (every other test) open is ENXIO."""
    master, slave = os.openpty()
    try:
        scratch_out = tmp_path / "tty.out"
        with open(scratch_out, "wb") as fout:
            result = lind.run([builds.wasm("grates/py_fsops"), "write", "/dev/tty", "to the tty",
                               "readlink", "/proc/self/fd/0", "stat", "/dev/tty"],
                              root=make_root(tmp_path), stdin=slave, stdout=fout, stderr=fout,
                              timeout=60)
        assert result.returncode == 0
        assert scratch_out.read_text() == ("write /dev/tty to the tty: ok\n"
                                           "readlink /proc/self/fd/0: /dev/tty\n"
                                           "stat /dev/tty: file size=0 mode=666\n")
        assert os.read(master, 100) == b"to the tty"
    finally:
        os.close(master)
        os.close(slave)


# ---------------------------------------------------------------------- attacks

@pytest.mark.parametrize("read_only_mount", [False, True])
def test_planted_device_nodes_are_never_used(builds, tmp_path, canary, read_only_mount):  # noqa: F811
    """Device nodes in a root (made with mknod where Lind may, else the host's /dev
    mounted into the root) are never read or written: /dev is the microvisor's whatever
    the root's /dev holds, and a node reached by any other path or link is EACCES
    (truncate is EINVAL, as Linux answers for any file not regular, before opening it).
    A `:ro` mount elsewhere sends opens for writing down the path that checks each file
    for read-only first: the same answers."""
    root = make_root(tmp_path)
    mounts = [f"{make_root(tmp_path, 'ro')}:/ro:ro"] if read_only_mount else []
    (root / "dev").mkdir()
    (root / "planted").mkdir()
    try:
        chr_mode = stat.S_IFCHR | 0o666
        for where, name, minor in (("dev", "null", 5), ("dev", "sda", 5), ("dev", "zero", 5),
                                   ("planted", "zero", 5), ("planted", "null", 3)):
            os.mknod(root / where / name, chr_mode, os.makedev(1, minor))   # 1,5: zero
            os.chmod(root / where / name, 0o666)
        (root / "devlink").symlink_to("/dev")   # resolves in the root: the planted /dev
    except PermissionError:
        mounts += ["/dev:/dev", "/dev:/planted", "/dev:/devlink"]   # the host's own nodes
    out = fsops(builds, tmp_path, "planted",
                ["cat", "/dev/null", "cat", "/dev/sda", "cat", "/planted/zero",
                 "write", "/planted/null", "x", "rdwr", "/devlink/null", "cat", "/devlink/zero",
                 "truncate", "/planted/zero", "stat", "/planted/zero"],
                root=root, mounts=mounts)
    assert out == ('cat /dev/null: ""\ncat /dev/sda: ENOENT\ncat /planted/zero: EACCES\n'
                   "write /planted/null x: EACCES\nrdwr /devlink/null: EACCES\n"
                   "cat /devlink/zero: EACCES\ntruncate /planted/zero: EINVAL\n"
                   "stat /planted/zero: file size=0 mode=666\n")
    untouched(canary)


def test_read_only_stdio_cannot_be_reopened_for_writing(builds, tmp_path, canary):  # noqa: F811
    """/proc/self/fd/N and /dev/std* reopen the cage's own file with no more access
    than it holds: the read-only stdin stays unwritable (nor truncated), the write-only
    stdout unreadable, and (borrowed from the host) never truncated nor written but at
    its end when the host opened it to append; a link in the root to /proc/self/fd/0
    leads nowhere."""
    root = make_root(tmp_path)
    (root / "link").symlink_to("/proc/self/fd/0")
    scratch_in = tmp_path / "stdio.in"
    scratch_in.write_bytes(b"the input\n")
    scratch_out, scratch_err = tmp_path / "stdio.out", tmp_path / "stdio.err"
    ops = ["rdwr", "/proc/self/fd/0", "write", "/dev/stdin", "over", "append", "/dev/fd/0", "more",
           "cat", "/proc/self/fd/1", "rdwr", "/link", "cat", "/dev/stdin",
           "truncate", "/proc/self/fd/0", "chmod", "/dev/stdin", "write", "/dev/stdout", "over",
           "append", "/proc/self/fd/1", "at the end"]
    scratch_out.write_text("the host's log\n")
    with open(scratch_in, "rb") as fin, open(scratch_out, "ab") as fout, \
            open(scratch_err, "wb") as ferr:
        result = lind.run([builds.wasm("grates/py_fsops"), *ops], root=root, stdin=fin,
                          stdout=fout, stderr=ferr, timeout=60)
    assert result.returncode == 0, scratch_err.read_text()
    assert scratch_out.read_text() == (
        "the host's log\nrdwr /proc/self/fd/0: EACCES\nwrite /dev/stdin over: EACCES\n"
        "append /dev/fd/0 more: EACCES\ncat /proc/self/fd/1: EACCES\n"
        'rdwr /link: ENOENT\ncat /dev/stdin: "the input\n"\n'
        "truncate /proc/self/fd/0: EACCES\nchmod /dev/stdin: EPERM\n"
        "write /dev/stdout over: EPERM\nappend /proc/self/fd/1 at the end: at the endok\n")
    assert scratch_in.read_bytes() == b"the input\n"
    untouched(canary)


@pytest.mark.parametrize("path", ["/dev/../dev/null", "/proc/self/fd/../../self/status"])
def test_dot_dot_inside_virtual_paths(builds, tmp_path, path):
    out = fsops(builds, tmp_path, "dots", ["stat", path], root=make_root(tmp_path))
    assert out.startswith(f"stat {path}: file size=")


def test_wasi_programs_see_them_too(wasi, tmp_path):  # noqa: F811
    root = make_root(tmp_path)
    result = lind.run([wasi("devices")], root=root, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == ("zero: 64 zeros 1\nnull: write 4 read 0\nurandom: 64\n"
                                      "passwd: root:x:0:0:root:/root:/bin/sh\ntmp: 1\n"
                                      "ls /dev: 2\n")
    assert list(root.iterdir()) == []
