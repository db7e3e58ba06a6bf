"""The readonly grate, call by call: by path, by dirfd + path, by fd; in, beside and
above the directories it protects. The tests that kill the mutants of grates/readonly.py
and grates/paths.py the rest of the suite let through (see tests/mutation/SUMMARY.md).
Each expected errno is Linux's for the same call on a read-only mount.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import subprocess
from pathlib import Path

import pytest
from test_attacks import make_root, run_cage, untouched
from test_grates_python import _seeded_tree, aquarium_vs_linux, caged, sockaddr, tree_digest

from lind.grates import Call, Grate, handles
from lind.grates.aquarium import Aquarium
from lind.grates.netfilter import NetFilter, Rule
from lind.grates.registry import stack_grates
from lind.grates.seccomp import Seccomp

_ROFS, _OK = errno.EROFS, 0

# Under `readonly:/data:/etc/x`.
_PREFIXES = {
    "open-dirs": _OK, "read": _OK, "write": _ROFS, "rdwr": _ROFS, "trunc": _ROFS,
    "creat-existing": _OK, "creat-missing": _ROFS, "excl-existing": errno.EEXIST,
    "excl-missing": _ROFS, "openat-data": _ROFS, "openat-cwd": _ROFS,
    "openat-up-into-data": _ROFS, "openat-up-out-of-data": _OK,
    "openat-file-dirfd": errno.ENOTDIR, "openat-absolute": _ROFS, "dotdot-out": _OK,
    "dotdot-in": _ROFS, "creat-data": _ROFS, "creat-other": _OK,
    "creat-call-data": _ROFS, "creat-call-other": _OK, "creat-call-empty": errno.ENOENT,
    "prefix-sibling": _OK,
    "etc-x-inside": _ROFS, "etc-xy-beside": _OK, "unlink": _ROFS, "unlinkat-data": _ROFS,
    "rmdir": _ROFS, "unlinkat-removedir": _ROFS, "rename-into": _ROFS, "rename-out": _ROFS,
    "renameat-into": _ROFS, "linkat-into": _ROFS, "renameat2-into": _ROFS, "link-into": _ROFS,
    "symlink-into": _ROFS, "renameat-out-by-dirfd": _OK, "renameat2-out-by-dirfd": _OK,
    "linkat-out-by-dirfd": _OK, "symlinkat-out-by-dirfd": _OK, "chmod-empty": errno.ENOENT,
    "symlinkat-into": _ROFS, "mkdir": _ROFS, "mkdirat": _ROFS, "chmod": _ROFS,
    "fchmodat": _ROFS, "fchmod": _ROFS, "futimens": _ROFS, "utimensat-empty-path": _ROFS,
    "truncate": _ROFS, "unlinkat-other": _OK, "mkdir-other": _OK,
    "path-of-4095": errno.ENOENT, "path-of-4096": errno.ENAMETOOLONG, "chdir-data": _OK,
    "relative-write": _ROFS, "relative-read": _OK, "excl-existing-as-fd-0": errno.EEXIST,
}
# Under `readonly` (the whole tree): what passed beside the prefixes is refused too.
_WHOLE = _PREFIXES | {
    what: _ROFS for what in ("openat-up-out-of-data", "dotdot-out", "creat-other", "creat-call-other",
                             "prefix-sibling", "etc-xy-beside", "unlinkat-other", "mkdir-other",
                             "renameat-out-by-dirfd", "renameat2-out-by-dirfd", "linkat-out-by-dirfd",
                             "symlinkat-out-by-dirfd")}


def _root(tmp_path):
    root = make_root(tmp_path)
    for d in ("data/sub", "data2", "other", "etc/x"):
        (root / d).mkdir(parents=True)
    for f in ("data/f", "data2/f", "other/f", "other/a", "other/b", "other/g"):
        (root / f).write_bytes(b"original\n")
    return root


def _tree(path):
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None, p.stat().st_mode)
            for p in sorted(path.rglob("*"))}


@pytest.mark.usefixtures("canary")
@pytest.mark.parametrize(("grate", "expected"), [("readonly:/data:/etc/x:", _PREFIXES),
                                                  ("readonly", _WHOLE)])
def test_readonly_refuses_each_change_like_a_read_only_mount(builds, tmp_path, grate, expected):
    root = _root(tmp_path)
    protected = {d: _tree(root / d) for d in ("data", "etc/x")}
    rc, out, err = run_cage(tmp_path, "ro", [builds.wasm("mutants/ro_calls")], root=root,
                            grates=[grate])
    assert rc == 0, err
    got = {}
    for line in out.splitlines():
        what, result, code = line.split()
        got[what] = int(code)
        assert result == ("0" if code == "0" else "-1"), line
    assert got == expected
    assert {d: _tree(root / d) for d in ("data", "etc/x")} == protected
    if expected is _PREFIXES:
        assert (root / "data2" / "f").read_bytes() == b"original\n"
        assert sorted(p.name for p in (root / "other").iterdir()) == [
            "a3", "b", "c", "c2", "d", "f", "f3", "s"]
        assert (root / "etc" / "xy").exists()
    untouched(tmp_path / "canary.txt")


@pytest.mark.parametrize("grate", ["imfs:/mem", "aquarium:/mem", "readonly:/elsewhere"])
def test_unlinkat_flags_under_file_system_grates_match_linux(builds, tmp_path, grate):
    native_dir = tmp_path / "native"
    native_dir.mkdir()
    native = subprocess.run([builds.native("mutants/unlink_calls"), native_dir],
                            capture_output=True, text=True, timeout=60)
    root = make_root(tmp_path)
    (root / "mem").mkdir()
    rc, out, err = run_cage(tmp_path, "unlink", [builds.wasm("mutants/unlink_calls"), "/mem"],
                            root=root, grates=[grate])
    assert native.returncode == rc == 0, err
    assert out == native.stdout


@pytest.mark.parametrize("text", ["clamp:/data", "clamp:/data=", "clamp:=readonly"])
def test_clamp_wants_a_directory_and_a_grate(text):
    with pytest.raises(ValueError, match="clamp wants|clamp:/data wants its grates"):
        stack_grates(["p.wasm"], [text])


def test_python_grate_reads_once_and_forwards_what_it_read(builds, tmp_path):
    """What a handler read of an argument (read, then string, then read again) comes
    from its first copy, and the layer below gets that copy even when the caller's
    memory changes meanwhile (here the handler itself rewrites it)."""
    seen = []

    class Look(Grate):
        @handles("openat")
        def look(self, call: Call) -> int:
            first = (call.read(1, 3), call.string(1))
            call.write(1, b"/nope\0")
            seen.append((*first, call.read(1, 12), call.read(1, 2)))
            return call.forward()

    root = make_root(tmp_path)
    (root / "data").mkdir()
    (root / "data" / "x.txt").write_text("the file\n")
    rc, out, err = run_cage(tmp_path, "look", [builds.wasm("grates/cat_files"), "/data/x.txt"],
                            root=root, grates=[Look()])
    assert rc == 0, err
    assert seen == [(b"/da", b"/data/x.txt", b"/data/x.txt\0", b"/d")]
    assert out == "/nope: the file\n"     # cat_files prints its (rewritten) argument


def test_unknown_call_names_and_a_failing_python_grate_are_reported(builds, tmp_path, capfd):
    with pytest.raises(ValueError, match="unknown system call 'no_such_call'"):
        handles("no_such_call")(lambda self, call: 0)

    class Broken(Grate):
        @handles("getppid")
        def fail(self, call: Call) -> int:
            raise KeyError("bug")

    rc, out, err = run_cage(tmp_path, "broken", [builds.wasm("grates/ppid_calls")],
                            root=make_root(tmp_path), grates=[Broken()])
    assert rc == 0
    assert out.count(f"getppid: -1 {errno.EIO}") == 4
    assert "lind: grate Broken failed in getppid: KeyError('bug')" in capfd.readouterr().err


def test_python_grate_forwarding_a_call_nobody_implements_gets_enosys(builds, tmp_path):
    class Pass(Grate):
        @handles(400)
        def forward(self, call: Call) -> int:
            return call.forward()

    rc, out, err = run_cage(tmp_path, "nosys", [builds.wasm("mutants/nosys")],
                            root=make_root(tmp_path), grates=[Pass()])
    assert rc == 0, err
    assert out == f"call 400: -1 {errno.ENOSYS}\n"


@pytest.mark.parametrize("code", [1, 4095])
def test_seccomp_errno_numbers_at_the_ends_of_the_range(builds, tmp_path, code):
    policy = Seccomp.from_policy(f"deny getppid: errno {code}\n", "p.txt")
    rc, out, err = run_cage(tmp_path, "errno", [builds.wasm("grates/ppid_calls")],
                            root=make_root(tmp_path), grates=[policy])
    assert rc == 0, err
    assert out.count(f"getppid: -1 {code}") == 4


@pytest.mark.parametrize("line, complaint", [("deny read: errno 0", "unknown errno '0'"),
                                             ("deny read: errno 4096", "unknown errno '4096'"),
                                             ("deny read: nope 13", "bad action 'nope 13'"),
                                             ("deny read: errno", "bad action 'errno'"),
                                             ("deny : kill", "deny names no call"),
                                             ("deny 1024", "no system call number 1024")])
def test_seccomp_bad_rules(line, complaint):
    with pytest.raises(ValueError, match=f"^p.txt:1: {complaint}"):
        Seccomp.from_policy(f"{line}\n", "p.txt")


# ---------------------------------------------------------------------- netfilter

_NET_RULES = ("deny=10.1.2.3/8,deny=*:0,deny=[2001:db8::/32]:65535,deny=8.8.8.8:53,"
              "deny=[::ffff:172.16.0.0/108]:80")
_DENIED, _OTHER = sockaddr("8.8.8.8", 53), sockaddr("8.8.4.4", 53)
# (operation, its two arguments, how it ends under _NET_RULES): EACCES is netfilter's
# refusal, EINVAL its answer to a malformed address, ENOSYS that of the PassedDown
# grate below it, so the call was passed down.
_NET_CALLS = [
    ("connect", 16, sockaddr("10.200.0.1", 80), "EACCES"),     # ADDR/LEN with host bits
    ("connect", 16, sockaddr("192.168.1.1", 80), "ENOSYS"),    # outside every network
    ("connect", 16, sockaddr("1.2.3.4", 0), "EACCES"),         # port 0
    ("connect", 16, sockaddr("1.2.3.4", 65535), "ENOSYS"),     # IPv4 vs an IPv6 rule
    ("connect", 28, sockaddr("2001:db8::1", 65535), "EACCES"),
    ("connect", 28, sockaddr("2001:db8::1", 65534), "ENOSYS"),
    ("connect", 28, sockaddr("2001:db9::1", 65535), "ENOSYS"),
    ("connect", 24, sockaddr("2001:db8::1", 65535)[:24], "EACCES"),   # no scope id: valid
    ("connect", 23, sockaddr("2001:db8::1", 65535)[:23], "EINVAL"),
    ("connect", 128, _DENIED.ljust(128, b"\0"), "EACCES"),     # sizeof(sockaddr_storage)
    ("connect", 129, _DENIED.ljust(129, b"\0"), "EINVAL"),
    ("connect", 16, _DENIED, "EACCES"),
    ("connect", 15, _DENIED[:15], "EINVAL"),
    ("connect", 1, b"\x01", "EINVAL"),                          # shorter than a family
    ("connect", 0, _DENIED, "EINVAL"),
    ("raw-connect", -1, _DENIED, "EINVAL"),
    ("bind", 2, b"\x01\x00", "ENOSYS"),                         # AF_UNIX autobind
    ("connect", 16, b"\x02\x01" + _DENIED[2:], "ENOSYS"),       # family 0x102, not AF_INET
    # an IPv4-mapped rule is the IPv4 one, for IPv4 and IPv4-mapped addresses alike
    ("connect", 28, sockaddr("::ffff:172.20.0.1", 80), "EACCES"),
    ("connect", 16, sockaddr("172.20.0.1", 80), "EACCES"),
    ("connect", 16, sockaddr("172.20.0.1", 81), "ENOSYS"),
    ("connect", 16, sockaddr("172.32.0.1", 80), "ENOSYS"),
    ("sendto", 16, _DENIED, "EACCES"),
    ("sendto", 16, _OTHER, "ENOSYS"),
    ("sendto", 0, _DENIED, "EINVAL"),
    ("sendto-null", 16, None, "ENOSYS"),
    # sendmsg: the header's own address, not the one after it in memory
    ("sendmsg", _OTHER, _DENIED, "ENOSYS"),
    ("sendmsg", _DENIED, None, "EACCES"),
    ("sendmsg", None, _DENIED, "ENOSYS"),
    # sendmmsg: every message up to vlen, vlen capped at 1024 as the kernel does
    ("sendmmsg", 2, {0: _OTHER, 1: _DENIED}, "EACCES"),
    ("sendmmsg", 1, {0: _OTHER, 1: _DENIED}, "ENOSYS"),
    ("sendmmsg", 1, {0: _DENIED}, "EACCES"),
    ("sendmmsg", 3, {2: _DENIED}, "EACCES"),
    ("sendmmsg", 1024, {1023: _DENIED}, "EACCES"),
    ("sendmmsg", 1025, {1024: _DENIED}, "ENOSYS"),
    ("sendmmsg", 0xFFFFFFFF, {1023: _DENIED}, "EACCES"),
]


def _net_args(op, a, b) -> list[str]:
    if op == "sendto-null":
        return [op, str(a)]
    if op == "sendmsg":
        return [op, a.hex() if a else "-", b.hex() if b else "-"]
    if op == "sendmmsg":
        return [op, str(a), ",".join(f"{i}={raw.hex()}" for i, raw in b.items())]
    return [op, str(a), b.hex()]


class PassedDown(Grate):
    """Below netfilter: the calls it lets through end here, ENOSYS (fd 3 is not even a
    socket), so the table shows netfilter's decision alone."""

    @handles("connect", "bind", "sendto", "sendmsg", "sendmmsg")
    def passed(self, call: Call) -> int:
        return -errno.ENOSYS


@pytest.mark.usefixtures("canary")
def test_netfilter_decides_each_address_form_and_edge(builds, tmp_path):
    args = [arg for op, a, b, _ in _NET_CALLS for arg in _net_args(op, a, b)]
    rc, out, err = run_cage(tmp_path, "net", [builds.wasm("mutants/net_calls"), *args],
                            root=make_root(tmp_path),
                            grates=[NetFilter.from_args(_NET_RULES), PassedDown()])
    assert rc == 0, err
    got = [line.rsplit(": ", 1)[1] for line in out.splitlines()]
    assert list(zip(_NET_CALLS, got, strict=True)) == [(call, call[3]) for call in _NET_CALLS]


@pytest.mark.parametrize(("where", "network", "ports"), [
    ("*:0", None, (0, 0)), ("*:65535", None, (65535, 65535)), ("*:0-65535", None, (0, 65535)),
    ("10.1.2.3/8", "10.0.0.0/8", None), ("[2001:db8::1/32]:7", "2001:db8::/32", (7, 7)),
    ("[::ffff:10.1.2.3/104]:7", "10.0.0.0/8", (7, 7)), ("[::ffff:0:0/96]", "0.0.0.0/0", None),
    ("[::fffe:0:0/96]", "::fffe:0:0/96", None), ("[::ffff:0:0/95]", "::fffe:0:0/95", None),
    ("[::/0]", "::/0", None)])
def test_netfilter_rule_forms(where, network, ports):
    rule = Rule.parse(False, where)
    assert (rule.network, rule.ports) == (network and ipaddress.ip_network(network), ports)


@pytest.mark.parametrize("rules", ["deny=*:65536", "deny=*:-1", "deny=*:5-4", "deny=[::1]80"])
def test_netfilter_refuses_bad_rules(rules):
    with pytest.raises(ValueError, match="netfilter"):
        NetFilter.from_args(rules)


def _linked_tree(top: Path) -> None:
    """The seeded tree, plus a dangling link and a chain of 41 links (k0 -> k1 -> ...
    -> k40 -> ../f1): from k1 the kernel follows 40 links, its limit; from k0, 41."""
    _seeded_tree(top)
    (top / "dang").symlink_to("made")
    (top / "chain").mkdir()
    (top / "chain" / "k40").symlink_to("../f1")
    for i in range(40):
        (top / "chain" / f"k{i}").symlink_to(f"k{i + 1}")


def test_aquarium_follows_links_opens_and_lists_like_linux(builds, tmp_path):
    """Link chains at the kernel's limit of 40 before and after the file they lead to
    changed, O_NOFOLLOW and O_CREAT|O_EXCL on links, fstatat with and without
    AT_SYMLINK_NOFOLLOW, creating through a dangling link, an empty path, and listings
    whose types and inodes agree with stat, through the view and on Linux."""
    ops = ["stat", "", "cat", "chain/k1", "cat", "chain/k0", "cat", "chain/k39",
           "append", "f1", "+x", "cat", "chain/k1", "cat", "chain/k0", "cat", "chain/k39",
           "statat", ".", "ln", "lstatat", ".", "ln", "statat", ".", "dl", "lstatat", ".", "dang",
           "statat", "chain", "k1", "statat", "chain", "k0",
           "nofollow", "ln", "nofollow", "f2", "nofollowat", ".", "ln", "nofollowat", "d", "x",
           "nofollow", "f1", "excl", "dang", "excl", "ln", "write", "dang", "made",
           "cat", "made", "lsd", ".", "write", "d/x", "again", "lsd", "d", "lsd", ".", "exclonly", "ln",
           "mkdir", "d/new", "lsd", "d", "rename", "d", "e", "lsd", "e", "lsd", "chain"]
    _linked_tree(tmp_path / "expected" / "data" / "inner")
    before = tree_digest(tmp_path / "expected")
    out, expected, aquarium, root = aquarium_vs_linux(builds, tmp_path, _linked_tree, ops)
    assert out == expected
    assert "cat chain/k0: ELOOP" in expected and 'cat chain/k1: "real one\n+x"' in expected
    assert tree_digest(root) == before
    assert aquarium.report() == """\
modified /data/inner/f1
created /data/inner/made
modified /data/inner/d/x
created /data/inner/d/new
renamed /data/inner/d -> /data/inner/e
"""


def _modes(top: Path) -> dict[str, int]:
    return {str(p.relative_to(top)): p.lstat().st_mode for p in sorted(top.rglob("*"))}


def _copied_tree(top: Path) -> None:
    """The seeded tree, plus files whose copies show a lost byte or bit: 2 MiB + 3
    bytes, an empty one, an executable, one left untouched until late; a file beside."""
    _seeded_tree(top)
    (top / "big").write_bytes(bytes(range(256)) * 8192 + b"end")
    (top / "zero").write_bytes(b"")
    (top / "tool").write_text("#!/bin/sh\n")
    (top / "tool").chmod(0o755)
    (top / "f6").write_text("sixth\n")
    (top / "f7").write_text("seventh\n")
    (top / "d" / "deep").chmod(0o751)
    (top.parent / "o1").write_text("beside\n")


def test_aquarium_copies_renames_flags_and_modes_match_linux(builds, tmp_path):
    """Copies of real files (large, empty, executable), real directories moved with
    their modes, renames and links of untouched files, flags an fd reports, EISDIR and
    ELOOP for writes, modes under the umask, calls beside the view passed on, a file
    the program wrote that it tries to run; the real directory keeps bytes and modes."""
    ops = ["rename", "empty", "d", "mkdir", "q", "rename", "d", "q", "ls", "q", "stat", "q/deep",
           "rename", "f2", "f5", "cat", "f5", "rename", "f5", "f5", "link", "f1", "h1",
           "rename", "f1", "h2", "append", "h2", "+y", "cat", "h1", "append", "big", "+",
           "stat", "big", "append", "zero", "z", "cat", "zero", "append", "tool", "+", "stat", "tool",
           "exclonly", "tool", "rdwr", "q", "creatro", "q", "wnofollow", "ln", "wnofollow", "dl",
           "getfl", "g1", "getflx", "g2", "getfl", "tool", "getflx", "tool",
           "mkexe", "m1", "stat", "m1", "mkdir", "r", "stat", "r",
           "chmodx", "h2", "stat", "h2", "truncate0", "h2", "stat", "h2",
           "truncneg", "f6", "fchmod", "f7", "stat", "f7", "write", "nprog", "x", "exec", "nprog",
           "touch", "../o1", "rename", "../o1", "../o2", "link", "../o2", "../o3", "cat", "../o3",
           "fchmodbad", "", "cd", "dl", "pwd", "cd", "..", "lsd", "."]
    reference = tmp_path / "expected" / "data" / "inner"
    _copied_tree(reference)
    before, modes = tree_digest(reference), _modes(reference)
    out, expected, aquarium, root = aquarium_vs_linux(builds, tmp_path, _copied_tree, ops)
    inner = root / "data" / "inner"
    assert out == expected
    assert "rename empty d: ENOTEMPTY" in expected and "getflx g2: wronly cloexec" in expected
    assert tree_digest(inner) == before and _modes(inner) == modes
    assert (root / "data" / "o3").read_text() == "beside\n"       # beside the view: real
    report = aquarium.report().splitlines()
    assert "modified /data/inner/h2" in report                     # linked, then changed
    assert "modified /data/inner/f6" not in report                 # EINVAL before any copy
    assert report.index("modified /data/inner/f7") > report.index("created /data/inner/m1")


def test_aquarium_refuses_what_its_overlay_cannot_hold(builds, tmp_path):
    """The view's documented limits, pinned: a FIFO, a symbolic link (moved or linked
    to: the overlay holds regular files only), times; a link inside a moved directory
    is left out of the copy."""
    root = tmp_path / "root"
    inner = root / "data" / "inner"
    _copied_tree(inner)
    os.mkfifo(inner / "fifo")
    (inner / "d" / "dd").symlink_to("deep")
    before, modes = tree_digest(inner), _modes(inner)
    aquarium = Aquarium("/data/inner")
    result = caged(builds.wasm("grates/py_fsops"),
                   ["cd", "/data/inner", "chmod", "fifo", "rename", "dl", "dl2", "link", "dl", "h9",
                    "link", "ln", "h8",
                    "touch", "f2", "rename", "d", "e", "ls", "e", "stat", "e/deep",
                    "rename", "ln", "l9", "cat", "l9"], root=root, grates=[aquarium])
    assert result.stdout.decode() == """\
cd: ok
chmod fifo: EPERM
rename dl dl2: EPERM
link dl h9: EPERM
link ln h8: EPERM
touch f2: EPERM
rename d e: ok
ls e: deep x
stat e/deep: dir mode=751
rename ln l9: ok
cat l9: "second
"
"""
    assert tree_digest(inner) == before and _modes(inner) == modes
    assert aquarium.report() == """\
denied utimensat /data/inner/f2
renamed /data/inner/d -> /data/inner/e
renamed /data/inner/ln -> /data/inner/l9
"""


def test_aquarium_report_that_cannot_be_written_is_a_value_error(builds, tmp_path):
    """A report in a missing directory, or where a directory stands: refused before the
    program runs, with no temporary file left beside it."""
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (tmp_path / "taken").mkdir()
    for report in (tmp_path / "missing" / "r.txt", tmp_path / "taken"):
        with pytest.raises(ValueError, match="cannot write report"):
            caged(builds.wasm("grates/py_fsops"), ["ls", "/data"], root=root,
                  grates=[Aquarium("/data", str(report))])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root", "taken"]
