"""The Python grates shipped with Lind, each driving real cages.

Where a grate imitates something Linux or the microvisor already does (a read-only
mount, a bind mount, a root directory, a real directory), the same program is run
both ways and the outputs compared.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from probe_grates import PeekAtHeaders

import lind
from lind.grates import Call, Grate, handles, number
from lind.grates.aquarium import Aquarium
from lind.grates.clamp import Clamp
from lind.grates.netfilter import NetFilter
from lind.grates.registry import stack_grates
from lind.grates.seccomp import Seccomp

LIND = [sys.executable, "-m", "lind"]
SIGSYS = 31


def lind_run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([*LIND, "run", *map(str, args)], capture_output=True, timeout=120)


def caged(program: Path, args: list[str], **kw) -> lind.CompletedCage:
    return lind.run([program, *args], capture_output=True, timeout=120, **kw)


def tree_digest(top: Path) -> dict[str, str]:
    """Every file below `top` by relative path -> sha256 of its bytes (dirs -> 'dir',
    symbolic links -> their target, FIFOs and devices -> 'special')."""
    found = {}
    for path in sorted(top.rglob("*")):
        rel = str(path.relative_to(top))
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_dir() or not path.is_file():
            found[rel] = "dir" if path.is_dir() else "special"
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


class Recorder(Grate):
    """Notes which file calls reach it, then passes them on unchanged."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @handles("openat", "unlink", "mkdir", "rename")
    def note(self, call: Call) -> int:
        self.seen.append(call.name)
        return call.forward()


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A cage root with /data (files, a subdirectory) and a writable /work."""
    root = tmp_path / "root"
    (root / "data" / "sub").mkdir(parents=True)
    (root / "work").mkdir()
    (root / "data" / "a").write_text("hello\n")
    (root / "data" / "sub" / "b").write_text("inner\n")
    return root


# ------------------------------------------------------------------------ seccomp

POLICY = """\
# what the test program may not do
deny unlink: errno EACCES
deny mkdir, rmdir          # errno EPERM by default
deny rename: kill
"""


def test_seccomp_errno_rules_then_kill_with_sigsys(builds, data_root, tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text(POLICY)
    result = caged(builds.wasm("grates/py_fsops"),
                   ["unlink", "/data/a", "mkdir", "/work/d", "cat", "/data/a",
                    "rename", "/data/a", "/work/a", "cat", "/data/a"],
                   root=data_root, grates=[f"seccomp:{policy}"])
    assert result.stdout.decode() == ('unlink /data/a: EACCES\nmkdir /work/d: EPERM\n'
                                      'cat /data/a: "hello\n"\nrename /data/a /work/a: ')
    assert result.returncode == -SIGSYS
    assert (data_root / "data" / "a").exists() and not (data_root / "work" / "d").exists()


def test_seccomp_default_covers_calls_no_rule_names(builds, data_root, tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text("default errno ENOSYS\nallow write writev\n")
    proc = lind_run("--root", data_root, "--grate", f"seccomp:{policy}", "--",
                    builds.wasm("grates/py_fsops"), "cat", "/data/a", "mkdir", "/work/d")
    assert proc.stdout.decode() == "cat /data/a: ENOSYS\nmkdir /work/d: ENOSYS\n"
    assert proc.returncode == 0       # exit_group always passes


@pytest.mark.parametrize(("policy", "expected"), [
    ("deny open: errno EACCES\n", "cat /data/a: EACCES\nstat /data/a: file size=6 mode=644\n"),
    ("deny open: errno EACCES\nallow openat\n",
     'cat /data/a: "hello\n"\nstat /data/a: file size=6 mode=644\n'),
    ("deny stat: errno EPERM\n", 'cat /data/a: "hello\n"\nstat /data/a: EPERM\n'),
    ("deny newfstatat: errno EPERM\n", 'cat /data/a: "hello\n"\nstat /data/a: EPERM\n'),
])
def test_seccomp_rules_for_open_and_stat_cover_what_libc_issues(builds, data_root, tmp_path,
                                                                policy, expected):
    """The program calls open() and stat(); libc issues openat and newfstatat, as glibc
    does: a rule naming either spelling applies, and naming the issued one wins."""
    path = tmp_path / "policy.txt"
    path.write_text(policy)
    proc = lind_run("--root", data_root, "--grate", f"seccomp:{path}", "--",
                    builds.wasm("grates/py_fsops"), "cat", "/data/a", "stat", "/data/a")
    assert proc.stdout.decode() == expected


@pytest.mark.parametrize("policy", ["deny clone\n", "deny spawn\n"])
def test_seccomp_rule_on_clone_holds_for_posix_spawn(builds, tmp_path, policy):
    """posix_spawn is a clone on Linux and Lind's own `spawn` call in a cage: a rule on
    clone (or on spawn) refuses it, so system() and popen() cannot start a process."""
    path = tmp_path / "policy.txt"
    path.write_text(policy)
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy(builds.wasm("spawn"), root / "spawn")
    shutil.copy(builds.wasm("spawn"), root / "bin" / "sh")
    result = caged(root / "spawn", [], root=root, grates=[f"seccomp:{path}"])
    assert result.stdout.decode().endswith(
        "missing: Operation not permitted, pid -1, no child left 1\n"
        "failed file action: Operation not permitted\n"
        "spawnp missing: Operation not permitted\n"
        "system: exited 0 status 255\n"             # -1: no shell could start
        "popen: Operation not permitted\n"), result.stdout
    assert result.stdout.startswith(b"spawn: r=1,")   # EPERM, and no child printed
    assert result.returncode == 0
    handlers = Seccomp.from_policy("default errno EPERM\n").handlers()
    assert number("spawn") in handlers and number("spawn") == 1018


def test_seccomp_stat_and_lstat_with_different_actions_need_a_newfstatat_rule():
    with pytest.raises(ValueError, match="stat and lstat are both issued as newfstatat"):
        Seccomp.from_policy("deny stat: errno EPERM\nallow lstat\n", "p.txt")
    assert Seccomp.from_policy("deny stat: errno EPERM\nallow lstat\nallow newfstatat\n")


def test_seccomp_kill_through_the_cli(builds, data_root, tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text(POLICY)
    proc = lind_run("--root", data_root, "--grate", f"seccomp:{policy}", "--",
                    builds.wasm("grates/py_fsops"), "rename", "/data/a", "/work/a")
    assert proc.returncode == 128 + SIGSYS
    assert b"killed by SIGSYS" in proc.stderr


@pytest.mark.parametrize("line, complaint", [
    ("frobnicate read", "unknown rule 'frobnicate'"),
    ("deny read: errno EFOO", "unknown errno 'EFOO'"),
    ("deny read: allow", "contradicts"),
    ("allow nosuchcall", "unknown system call 'nosuchcall'"),
    ("deny exit_group: kill", "always passes"),
    ("deny 5000", "no system call number 5000"),
])
def test_seccomp_bad_policy_names_file_and_line(line, complaint):
    with pytest.raises(ValueError, match=f"^p.txt:3: .*{complaint}"):
        Seccomp.from_policy(f"allow read\n\n{line}\n", "p.txt")


def test_seccomp_bad_policy_file_through_the_cli(builds, tmp_path):
    policy = tmp_path / "bad.txt"
    policy.write_text("allow read\ndeny read\n")
    proc = lind_run("--grate", f"seccomp:{policy}", "--", builds.wasm("grates/py_fsops"))
    assert proc.returncode == 2
    assert proc.stderr.decode() == f"lind: {policy}:2: read appears in two rules\n"
    missing = lind_run("--grate", f"seccomp:{tmp_path}/none.txt", "--",
                       builds.wasm("grates/py_fsops"))
    assert missing.returncode == 2 and b"cannot read policy" in missing.stderr


def test_stacking_order_decides_what_each_grate_sees(builds, data_root):
    """A grate above seccomp sees the calls it refuses; one below never does."""
    policy = Seccomp.from_policy("deny unlink\n")
    ops = ["unlink", "/data/a", "cat", "/data/a"]
    above, below = Recorder(), Recorder()
    first = caged(builds.wasm("grates/py_fsops"), ops, root=data_root,
                  grates=[above, policy, below])
    assert first.stdout.decode() == 'unlink /data/a: EPERM\ncat /data/a: "hello\n"\n'
    assert above.seen == ["unlink", "openat"]
    assert below.seen == ["openat"]


# ----------------------------------------------------------------------- readonly

READONLY_OPS = ["cat", "/data/a", "write", "/data/a", "x", "append", "/data/new", "y",
                "rdwr", "/data/a", "excl", "/data/new", "creatro", "/data/a",
                "creatro", "/data/missing", "unlink", "/data/a", "rmdir", "/data/sub",
                "mkdir", "/data/d", "rename", "/data/a", "/work/a", "link", "/data/a", "/work/l",
                "symlink", "/x", "/data/s", "chmod", "/data/a", "truncate", "/data/a",
                "fchmod", "/data/a", "ls", "/data", "cd", "/data", "cat", "sub/b",
                "write", "../work/w", "outside", "atcat", "/data/sub", "b"]


def test_readonly_refuses_changes_under_its_prefixes(builds, data_root):
    before = tree_digest(data_root / "data")
    result = caged(builds.wasm("grates/py_fsops"), READONLY_OPS, root=data_root,
                   grates=["readonly:/data:/etc"])
    assert result.stdout.decode() == """\
cat /data/a: "hello
"
write /data/a x: EROFS
append /data/new y: EROFS
rdwr /data/a: EROFS
excl /data/new: EROFS
creatro /data/a: ok
creatro /data/missing: EROFS
unlink /data/a: EROFS
rmdir /data/sub: EROFS
mkdir /data/d: EROFS
rename /data/a /work/a: EROFS
link /data/a /work/l: EROFS
symlink /x /data/s: EROFS
chmod /data/a: EROFS
truncate /data/a: EROFS
fchmod /data/a: EROFS
ls /data: a sub
cd: ok
cat sub/b: "inner
"
write ../work/w outside: ok
atcat /data/sub b: "inner
"
"""
    assert tree_digest(data_root / "data") == before
    assert (data_root / "work" / "w").read_text() == "outside"


def test_readonly_answers_like_a_read_only_mount(builds, data_root):
    """Where Linux semantics do not depend on mount edges, the grate and a :ro mount agree."""
    ops = ["write", "/data/a", "x", "rdwr", "/data/a", "excl", "/data/new", "unlink", "/data/a",
           "rmdir", "/data/sub", "mkdir", "/data/d", "symlink", "/x", "/data/s",
           "chmod", "/data/a", "truncate", "/data/a", "fchmod", "/data/a", "stat", "/data/a",
           "ls", "/data/sub", "cd", "/data", "cat", "a"]
    grate = caged(builds.wasm("grates/py_fsops"), ops, root=data_root, grates=["readonly:/data"])
    mount = caged(builds.wasm("grates/py_fsops"), ops, root=data_root,
                  mounts=[f"{data_root / 'data'}:/data:ro"])
    assert grate.stdout == mount.stdout
    assert grate.stdout.count(b"EROFS") == 10


# Linux's answers on a read-only file system (measured on a `mount -o remount,bind,ro`
# of a directory holding `a` and `sub/`): refused is only what would change it.
LINUX_READ_ONLY_OPENS = {
    ("creatro", "a"): "ok",            # O_RDONLY | O_CREAT of an existing file opens it
    ("creatro", "missing"): "EROFS",   # ... of a missing one would create it
    ("truncro", "a"): "EROFS",         # O_RDONLY | O_TRUNC would empty it
    ("excl", "a"): "EEXIST",           # O_WRONLY | O_CREAT | O_EXCL: existence first
    ("excl", "sub"): "EEXIST",
    ("excl", "new"): "EROFS",
    ("rdwr", "missing"): "ENOENT",     # opening for writing: the name is looked up first
    ("rdwr", "sub"): "EISDIR",         # ... and a directory is never opened for writing
}


def _open_ops(directory: str) -> tuple[list[str], str]:
    ops = [word for op, name in LINUX_READ_ONLY_OPENS for word in (op, f"{directory}/{name}")]
    return ops, "".join(f"{op} {directory}/{name}: {{}}\n" for op, name in LINUX_READ_ONLY_OPENS)


def test_read_only_open_flags_as_on_linux(builds, data_root, tmp_path):
    """The readonly grate, a :ro mount and a :ro mount reached by another path answer
    open's flags as Linux does on a read-only file system; on writable data the same
    opens work as natively (gcc, a host directory)."""
    before = tree_digest(data_root / "data")
    ops, lines = _open_ops("/data")
    refused = lines.format(*LINUX_READ_ONLY_OPENS.values())
    prog = builds.wasm("grates/py_fsops")
    grate = caged(prog, ops, root=data_root, grates=["readonly:/data"])
    mount = caged(prog, ops, root=data_root, mounts=[f"{data_root / 'data'}:/data:ro"])
    alias = caged(prog, ops, root=data_root, mounts=[f"{data_root / 'data'}:/ro:ro"])
    assert grate.stdout.decode() == mount.stdout.decode() == alias.stdout.decode() == refused
    assert tree_digest(data_root / "data") == before

    host = tmp_path / "host"
    shutil.copytree(data_root / "data", host)
    writable = caged(prog, ops, root=data_root)
    native_ops, native_lines = _open_ops(str(host))
    native = subprocess.run([builds.native("grates/py_fsops"), *native_ops], capture_output=True,
                            timeout=60)
    # (where writes work, creatro made "missing" before rdwr opens it)
    on_writable = ("ok", "ok", "ok", "EEXIST", "EEXIST", "ok", "ok", "EISDIR")
    assert writable.stdout.decode() == lines.format(*on_writable)
    assert native.stdout.decode() == native_lines.format(*on_writable)
    assert tree_digest(data_root / "data") == tree_digest(host)


def test_readonly_whole_tree_through_the_cli(builds, data_root):
    proc = lind_run("--root", data_root, "--grate", "readonly", "--",
                    builds.wasm("grates/py_fsops"), "write", "/work/x", "y", "mkdir", "/d",
                    "cat", "/data/a")
    assert proc.stdout.decode() == 'write /work/x y: EROFS\nmkdir /d: EROFS\ncat /data/a: "hello\n"\n'
    assert os.listdir(data_root / "work") == []


# ------------------------------------------------------------------- fsview, chroot

def test_fsview_answers_like_mounts_of_the_same_directories(builds, tmp_path):
    root = tmp_path / "root"
    (root / "srv" / "app" / "sub").mkdir(parents=True)
    (root / "scratch").mkdir()
    (root / "etc").mkdir()
    (root / "srv" / "app" / "x").write_text("app file")
    (root / "etc" / "passwd").write_text("root")
    ops = ["cat", "/app/x", "ls", "/app", "cd", "/app", "pwd", "cat", "x", "cat", "../etc/passwd",
           "mkdir", "made", "cd", "sub", "pwd", "atcat", "/app", "x", "write", "/tmp/t", "temp",
           "rename", "/tmp/t", "/tmp/u", "ls", "/tmp", "stat", "/app/sub", "unlink", "/app/x",
           "cd", "/", "ls", "/app"]
    view = caged(builds.wasm("grates/py_fsops"), ops, root=root,
                 grates=["fsview:/app=/srv/app,/tmp=/scratch"])
    after_view = tree_digest(root)
    (root / "srv" / "app" / "x").write_text("app file")
    shutil.rmtree(root / "srv" / "app" / "made")
    (root / "scratch" / "u").unlink()
    mounted = caged(builds.wasm("grates/py_fsops"), ops, root=root,
                    mounts=[f"{root / 'srv' / 'app'}:/app", f"{root / 'scratch'}:/tmp"])
    assert view.stdout.decode() == mounted.stdout.decode()
    assert "pwd: /app/sub\n" in view.stdout.decode()
    assert tree_digest(root) == after_view     # both wrote the same files in the same places
    assert "srv/app/made" in after_view and "scratch/u" in after_view


def test_fsview_maps_symlink_targets_both_ways(builds, tmp_path):
    (tmp_path / "srv" / "app").mkdir(parents=True)
    (tmp_path / "srv" / "app" / "x").write_text("through the link")
    result = caged(builds.wasm("grates/py_fsops"),
                   ["symlink", "/app/x", "/app/l", "readlink", "/app/l", "cat", "/app/l"],
                   root=tmp_path, grates=["fsview:/app=/srv/app"])
    assert result.stdout.decode() == ('symlink /app/x /app/l: ok\nreadlink /app/l: /app/x\n'
                                      'cat /app/l: "through the link"\n')
    assert os.readlink(tmp_path / "srv" / "app" / "l") == "/srv/app/x"


def test_chroot_answers_like_a_root_and_dot_dot_stays_inside(builds, tmp_path):
    (tmp_path / "jail" / "etc").mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    (tmp_path / "jail" / "etc" / "passwd").write_text("jailed")
    (tmp_path / "etc" / "passwd").write_text("the real one")
    ops = ["cat", "/etc/passwd", "cat", "../../../etc/passwd", "cd", "/etc", "cat", "../../etc/passwd",
           "pwd", "write", "/new", "n", "ls", "/"]
    proc = lind_run("--root", tmp_path, "--grate", "chroot:/jail", "--",
                    builds.wasm("grates/py_fsops"), *ops)
    (tmp_path / "jail" / "new").unlink()
    rooted = caged(builds.wasm("grates/py_fsops"), ops, root=tmp_path / "jail")
    assert proc.stdout.decode() == rooted.stdout.decode()
    assert proc.stdout.decode().count('"jailed"') == 3


# ---------------------------------------------------------------------- netfilter

class Sockets(Grate):
    """Stands below netfilter for the sockets the microvisor does not have yet: socket()
    gives fd 100, and each connect, bind, sendto or sendmsg that reaches this layer is
    recorded with the address bytes it carries and succeeds. So an allowed call is one
    that arrived here unchanged, and a refused one never arrives."""

    FD = 100

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, bytes]] = []

    @handles("socket")
    def socket(self, call: Call) -> int:
        return self.FD

    @handles("connect", "bind")
    def connect_or_bind(self, call: Call) -> int:
        self.seen.append((call.name, call.args[0], call.read(1, call.args[2])))
        return 0

    @handles("sendto")
    def sendto(self, call: Call) -> int:
        self.seen.append((call.name, call.args[0], call.read(4, call.args[5])))
        return call.args[2]

    @handles("sendmsg")
    def sendmsg(self, call: Call) -> int:
        name, namelen = struct.unpack("<II", call.read(1, 8))
        # msg_name lies in the memory the header is in (netfilter passes down its copy)
        memory = getattr(call.args[1], "memory", call.cage.mem)
        self.seen.append((call.name, call.args[0], memory.read(name, namelen)))
        return 1


def sockaddr(address: str, port: int) -> bytes:
    """struct sockaddr_in or sockaddr_in6 as py_netcalls.c builds it."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return struct.pack("<H", 2) + struct.pack(">H", port) + ip.packed + bytes(8)
    return struct.pack("<H", 10) + struct.pack(">H", port) + bytes(4) + ip.packed + bytes(4)


def test_netfilter_refuses_by_address_and_port(builds):
    rules = "allow=127.0.0.1:8080,allow=[::1]:443,allow=10.0.0.0/8:1000-2000,deny=*"
    below = Sockets()
    result = caged(builds.wasm("grates/py_netcalls"),
                   ["connect", "127.0.0.1", "8080", "connect", "127.0.0.1", "8081",
                    "connect", "::ffff:127.0.0.1", "8080", "connect", "::1", "443",
                    "connect", "::1", "444", "bind", "10.1.2.3", "1500", "bind", "10.1.2.3", "999",
                    "sendto", "8.8.8.8", "53", "sendmsg", "127.0.0.1", "8080",
                    "sendmsg", "1.1.1.1", "80", "short", "unix", "/tmp/socket"],
                   grates=[f"netfilter:{rules}", below])
    assert result.stdout.decode() == """\
connect 127.0.0.1 8080: ok
connect 127.0.0.1 8081: EACCES
connect ::ffff:127.0.0.1 8080: ok
connect ::1 443: ok
connect ::1 444: EACCES
bind 10.1.2.3 1500: ok
bind 10.1.2.3 999: EACCES
sendto 8.8.8.8 53: EACCES
sendmsg 127.0.0.1 8080: ok
sendmsg 1.1.1.1 80: EACCES
short - -: EINVAL
unix /tmp/socket -: EACCES
"""
    assert result.returncode == 0
    assert below.seen == [("connect", Sockets.FD, sockaddr("127.0.0.1", 8080)),
                          ("connect", Sockets.FD, sockaddr("::ffff:127.0.0.1", 8080)),
                          ("connect", Sockets.FD, sockaddr("::1", 443)),
                          ("bind", Sockets.FD, sockaddr("10.1.2.3", 1500)),
                          ("sendmsg", Sockets.FD, sockaddr("127.0.0.1", 8080))]


def test_netfilter_allows_what_no_rule_matches(builds):
    below = Sockets()
    result = caged(builds.wasm("grates/py_netcalls"),
                   ["connect", "192.168.1.1", "22", "connect", "192.168.1.1", "23", "unix", "/s",
                    "sendto", "192.168.1.1", "22"],
                   grates=[NetFilter.from_args("deny=*:23"), below])
    assert result.stdout.decode() == ("connect 192.168.1.1 22: ok\n"
                                      "connect 192.168.1.1 23: EACCES\nunix /s -: ok\n"
                                      "sendto 192.168.1.1 22: ok\n")
    unix = struct.pack("<H", 1) + b"/s".ljust(108, b"\0")
    assert below.seen == [("connect", Sockets.FD, sockaddr("192.168.1.1", 22)),
                          ("connect", 3, unix),
                          ("sendto", Sockets.FD, sockaddr("192.168.1.1", 22))]


@pytest.mark.parametrize("below", [[], ["netfilter:allow=127.0.0.1"]])
def test_a_grate_that_looks_at_a_message_header_leaves_its_name_where_it_was(builds, below):
    """A grate that read a header passes down its copy of those bytes alone: msg_name,
    and the other headers of a sendmmsg, are still read from the cage (from a copy only
    where it holds them, as netfilter's of what it checked does); they were EFAULT."""
    result = caged(builds.wasm("grates/py_sendmsg"), [], grates=[PeekAtHeaders(), *below])
    assert result.stdout.decode() == ("sendmsg 3\nsendmmsg 3\ngot one\ngot two\n"
                                      "got three\ngot four\n"), result.stderr
    assert result.returncode == 0


@pytest.mark.parametrize("rules", ["allow", "permit=*", "deny=10.0.0.0/33", "allow=1.2.3.4:99999",
                                   "deny=[::1", "allow=*:80-70"])
def test_netfilter_bad_rules_are_value_errors(rules):
    with pytest.raises(ValueError, match="netfilter"):
        NetFilter.from_args(rules)


# --------------------------------------------------------------------------- imfs

def test_imfs_matches_native_on_a_real_directory(builds, tmp_path):
    native_dir = tmp_path / "native"
    native_dir.mkdir()
    native = subprocess.run([builds.native("grates/py_imfs"), native_dir],
                            capture_output=True, timeout=60)
    root = tmp_path / "root"
    root.mkdir()
    result = caged(builds.wasm("grates/py_imfs"), ["/mem"], root=root, grates=["imfs"])
    assert result.stdout.decode() == native.stdout.decode()
    assert result.returncode == native.returncode == 0
    assert os.listdir(root) == []        # nothing reached the host


def test_imfs_error_cases_match_native(builds, tmp_path):
    ops = ["write", "f1", "hello", "append", "f1", "+more", "cat", "f1", "excl", "f1", "excl", "f2",
           "stat", "f1", "mkdir", "d", "mkdir", "d", "write", "d/x", "in", "rename", "f1", "d/y",
           "ls", "d", "rmdir", "d", "rename", "d", "d/sub", "rename", "d", "f2", "rename", "f2", "d",
           "link", "f2", "f3", "chmod", "f3", "stat", "f2", "truncate", "f2", "stat", "f3",
           "creatro", "f4", "rdwr", "nope", "unlink", "nope", "unlink", "d", "readlink", "f2",
           "cat", "d", "cat", "f2/x", "fchmod", "f4", "lstat", "f4", "cd", "d", "atcat", "..", "f2",
           "write", "../../outside", "x", "ls", "."]
    native_dir = tmp_path / "native" / "inner"
    native_dir.mkdir(parents=True)
    native = subprocess.run([builds.native("grates/py_fsops"), "cd", native_dir, *ops],
                            capture_output=True, timeout=60)
    root = tmp_path / "root"
    (root / "mem").mkdir(parents=True)
    result = caged(builds.wasm("grates/py_fsops"), ["cd", "/mem/inner", *ops], root=root,
                   grates=["imfs:/mem/inner"])
    assert result.stdout.decode() == native.stdout.decode()
    assert (root / "mem" / "outside").read_text() == "x"   # ../.. leaves the file system


def test_imfs_preload_copies_a_host_directory_in(builds, tmp_path):
    seed = tmp_path / "seed"
    (seed / "conf").mkdir(parents=True)
    (seed / "conf" / "app.ini").write_text("debug=1")
    os.chmod(seed / "conf" / "app.ini", 0o640)
    proc = lind_run("--root", tmp_path, "--grate", f"imfs:/etc,preload={seed}", "--",
                    builds.wasm("grates/py_fsops"), "cat", "/etc/conf/app.ini",
                    "stat", "/etc/conf/app.ini", "write", "/etc/conf/app.ini", "debug=0",
                    "cat", "/etc/conf/app.ini", "ls", "/etc")
    assert proc.stdout.decode() == ('cat /etc/conf/app.ini: "debug=1"\n'
                                    "stat /etc/conf/app.ini: file size=7 mode=640\n"
                                    "write /etc/conf/app.ini debug=0: ok\n"
                                    'cat /etc/conf/app.ini: "debug=0"\nls /etc: conf\n')
    assert (seed / "conf" / "app.ini").read_text() == "debug=1"


# ----------------------------------------------------------------------- aquarium

RANSOM_VICTIMS = {"a.txt": b"top secret\n", "photo.jpg": bytes(range(256)) * 20,
                  "x.bak": b"old\n", "docs/report.doc": b"doc\n", "docs/deep/d.txt": b"deep\n"}


def _victim_tree(top: Path) -> None:
    (top / "empty").mkdir(parents=True)
    for rel, data in RANSOM_VICTIMS.items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(data)


def test_aquarium_contains_ransomware(builds, tmp_path):
    native_dir = tmp_path / "native"
    _victim_tree(native_dir)
    native = subprocess.run([builds.native("grates/py_ransom"), native_dir],
                            capture_output=True, timeout=60)
    root = tmp_path / "root"
    _victim_tree(root / "data")
    before = tree_digest(root)
    aquarium = Aquarium("/data")
    result = caged(builds.wasm("grates/py_ransom"), ["/data"], root=root, grates=[aquarium])
    assert result.stdout.decode() == native.stdout.decode()   # it saw its own work
    assert "a.txt.locked 11" in result.stdout.decode()
    assert tree_digest(root) == before                         # nothing real changed
    assert aquarium.report() == """\
modified /data/a.txt
renamed /data/a.txt -> /data/a.txt.locked
modified /data/docs/deep/d.txt
renamed /data/docs/deep/d.txt -> /data/docs/deep/d.txt.locked
modified /data/docs/report.doc
renamed /data/docs/report.doc -> /data/docs/report.doc.locked
deleted /data/empty
modified /data/photo.jpg
renamed /data/photo.jpg -> /data/photo.jpg.locked
deleted /data/x.bak
created /data/README_RANSOM.txt
"""


def test_aquarium_report_file_and_refusals_through_the_cli(builds, data_root, tmp_path):
    report = tmp_path / "report.txt"
    before = tree_digest(data_root)
    proc = lind_run("--root", data_root, "--grate", f"aquarium:/data,report={report}", "--",
                    builds.wasm("grates/py_fsops"),
                    "mkdir", "/data/new", "write", "/data/new/f", "made", "rename", "/data/sub", "/data/s2",
                    "ls", "/data/s2", "cat", "/data/s2/b", "cd", "/data/new", "cat", "f",
                    "rename", "/data/a", "/work/a", "link", "/data/a", "/work/l",
                    "symlink", "/data/a", "/work/link", "chmod", "/data/s2", "chmod", "/data/a",
                    "stat", "/data/a", "truncate", "/data/a", "cat", "/data/a", "ls", "/data")
    assert proc.stdout.decode() == """\
mkdir /data/new: ok
write /data/new/f made: ok
rename /data/sub /data/s2: ok
ls /data/s2: b
cat /data/s2/b: "inner
"
cd: ok
cat f: "made"
rename /data/a /work/a: EXDEV
link /data/a /work/l: EXDEV
symlink /data/a /work/link: EPERM
chmod /data/s2: ok
chmod /data/a: ok
stat /data/a: file size=6 mode=600
truncate /data/a: ok
cat /data/a: "he"
ls /data: a new s2
"""
    assert report.read_text() == """\
created /data/new
created /data/new/f
renamed /data/sub -> /data/s2
modified /data/a
"""
    assert tree_digest(data_root) == before


def _seeded_tree(top: Path) -> None:
    """Real entries for a copy-on-write view to change: files, a full and an empty
    directory, a link inside."""
    (top / "d" / "deep").mkdir(parents=True)
    (top / "empty").mkdir()
    (top / "f1").write_text("real one\n")
    (top / "f2").write_text("second\n")
    (top / "d" / "x").write_text("x in d\n")
    (top / "d" / "deep" / "y").write_text("y\n")
    (top / "ln").symlink_to("f2")
    (top / "dl").symlink_to("d")


def _seeded_copy(tmp_path: Path) -> Path:
    """What the cage's root holds before a run (the seeded tree at /data/inner), made
    apart, to compare the root with afterwards."""
    _seeded_tree(tmp_path / "expected" / "data" / "inner")
    return tmp_path / "expected"


def aquarium_vs_linux(builds, tmp_path: Path, seed, ops: list[str]):
    """py_fsops `ops` run natively in a seeded directory and through an aquarium view of
    the same tree at /data/inner; returns (what the cage printed, what Linux printed
    with the path rewritten, the grate, the cage's root)."""
    native_dir = tmp_path / "native" / "inner"
    seed(native_dir)
    native = subprocess.run([builds.native("grates/py_fsops"), "cd", native_dir, *ops],
                            capture_output=True, timeout=60)
    root = tmp_path / "root"
    seed(root / "data" / "inner")
    aquarium = Aquarium("/data/inner")
    result = caged(builds.wasm("grates/py_fsops"), ["cd", "/data/inner", *ops], root=root,
                   grates=[aquarium])
    expected = native.stdout.decode().replace(str(native_dir), "/data/inner")
    return result.stdout.decode(), expected, aquarium, root


def test_aquarium_view_answers_like_the_real_directory(builds, tmp_path):
    """Every change the view models, made to real entries and to new ones, reads back as
    the same changes made to a real copy of the directory on Linux."""
    ops = ["ls", ".", "cat", "f1", "append", "f1", "+more", "cat", "f1", "stat", "f1",
           "excl", "f1", "write", "f2", "new", "cat", "f2", "cat", "ln", "readlink", "ln",
           "lstat", "ln", "stat", "ln", "rename", "f1", "d/f1", "cat", "f1", "cat", "d/f1",
           "ls", "d", "unlink", "d/x", "cat", "d/x", "write", "d/x", "again", "cat", "d/x",
           "cat", "dl/x", "ls", "dl",
           "rmdir", "d", "rmdir", "empty", "rmdir", "empty", "mkdir", "empty", "ls", "empty",
           "mkdir", "d", "rename", "d", "e", "ls", "e", "cat", "e/deep/y", "cat", "d/x",
           "unlink", "e/deep/y", "rmdir", "e/deep", "ls", "e", "link", "f2", "f3", "cat", "f3",
           "truncate", "f2", "stat", "f3", "ftruncate", "e/x", "cat", "e/x", "fchmod", "f3",
           "stat", "f3", "chmod", "f2", "stat", "f2", "creatro", "f4", "rdwr", "f4",
           "rename", "f4", "e", "rename", "e", "f4", "unlink", "e", "rmdir", "f4",
           "cat", "f4/x", "mkdir", "f4/x", "cd", "e", "atcat", "..", "f3", "pwd",
           "cd", "..", "ls", ".", "stat", "e", "stat", "nothing", "unlink", "nothing",
           "cat", "dl/x", "stat", "dl", "lstat", "dl", "unlink", "dl", "ls", "."]
    before = tree_digest(_seeded_copy(tmp_path))
    out, expected, aquarium, root = aquarium_vs_linux(builds, tmp_path, _seeded_tree, ops)
    assert out == expected
    assert "cat d/x: \"again\"" in expected and "rename e f4: ENOTDIR" in expected
    assert tree_digest(root) == before
    assert aquarium.report().splitlines()[:6] == [
        "modified /data/inner/f1", "modified /data/inner/f2",
        "renamed /data/inner/f1 -> /data/inner/d/f1", "deleted /data/inner/d/x",
        "created /data/inner/d/x", "deleted /data/inner/empty"]


def test_aquarium_at_calls_modes_and_flags_answer_like_the_real_directory(builds, tmp_path):
    """The *at forms, modes under a umask, rename without replacing, link flags, on real
    entries and on the view's own, through the view and on Linux."""
    ops = ["umask", "mkdirat", ".", "m", "statat", ".", "m", "mkdirat", "d", "m2", "stat", "d/m2",
           "mkdirat", ".", "f1", "mkdirmode", "n", "stat", "n", "creat", "c", "stat", "c",
           "creat", "f2", "stat", "f2", "chmodat", ".", "f1", "statat", ".", "f1",
           "chmodat", "d", "x", "statat", "d", "x", "chmodat", ".", "nothing",
           "statat", ".", "nothing", "statat", "nothing", "x", "write", "new", "v",
           "statat", ".", "new", "renamenoreplace", "f1", "f2", "renamenoreplace", "f1", "g1",
           "cat", "g1", "cat", "f1", "renamenoreplace", "d", "f2", "renamenoreplace", "d", "d2",
           "ls", "d2", "linkfollow", "ln", "l2", "cat", "l2", "linkbadflag", "g1", "l3",
           "truncneg", "g1", "truncate", "d2", "rename", "c", "d2", "rename", "d2", "empty",
           "ls", "empty", "rename", "n", "d2", "rename", "empty", "n", "ls", "."]
    before = tree_digest(_seeded_copy(tmp_path))
    out, expected, _, root = aquarium_vs_linux(builds, tmp_path, _seeded_tree, ops)
    assert out == expected
    assert "renamenoreplace f1 f2: EEXIST" in out
    assert tree_digest(root) == before


@pytest.mark.parametrize("name", ["files", "fdops", "forks", "mapops", "readiness",
                                  "conformance/process_edges"])
def test_programs_in_an_aquarium_of_their_whole_root_run_as_on_linux(builds, tmp_path, name):
    """A whole root behind the view (aquarium:/): programs that create, write, rename,
    map, fork and exec behave as natively, and the real root stays as it was."""
    native_dir, root = tmp_path / "native", tmp_path / "root"
    native_dir.mkdir()
    (root / "seed").mkdir(parents=True)
    (root / "seed" / "kept").write_text("real\n")
    before = tree_digest(root)
    env = {"GREETING": "hi there"}
    native = subprocess.run([builds.native(name)], cwd=native_dir, env=env, capture_output=True,
                            timeout=60)
    aquarium = Aquarium("/")
    caged = lind.run([builds.wasm(name)], root=root, env=env, grates=[aquarium],
                     capture_output=True, timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode == 0, caged.stderr
    assert tree_digest(root) == before
    if name in ("files", "conformance/process_edges"):    # they made files: all in the view
        assert "created /" in aquarium.report()


def test_aquarium_refuses_changing_a_real_directory_mode(builds, data_root):
    aquarium = Aquarium("/data")
    result = caged(builds.wasm("grates/py_fsops"), ["chmod", "/data/sub", "stat", "/data/sub"],
                   root=data_root, grates=[aquarium])
    assert result.stdout.decode() == "chmod /data/sub: EPERM\nstat /data/sub: dir mode=755\n"
    assert aquarium.report() == "denied chmod /data/sub\n"


# -------------------------------------------------------------------------- clamp

def test_clamp_applies_seccomp_only_under_its_directory(builds, data_root, tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text("deny open: errno EACCES\ndeny unlink: kill\n")
    (data_root / "secret").mkdir()
    (data_root / "secret" / "key").write_text("k")
    proc = lind_run("--root", data_root, "--grate", f"clamp:/secret=seccomp:{policy}", "--",
                    builds.wasm("grates/py_fsops"), "cat", "/secret/key", "cat", "/data/a",
                    "cd", "/secret", "cat", "key", "unlink", "/work/none", "unlink", "key")
    assert proc.stdout.decode() == ('cat /secret/key: EACCES\ncat /data/a: "hello\n"\ncd: ok\n'
                                    'cat key: EACCES\nunlink /work/none: ENOENT\nunlink key: ')
    assert proc.returncode == 128 + SIGSYS


def test_clamped_imfs_still_matches_native(builds, tmp_path):
    native_dir = tmp_path / "native"
    native_dir.mkdir()
    native = subprocess.run([builds.native("grates/py_imfs"), native_dir],
                            capture_output=True, timeout=60)
    root = tmp_path / "root"
    root.mkdir()
    result = caged(builds.wasm("grates/py_imfs"), ["/mem"], root=root,
                   grates=[Clamp.from_args("/mem=imfs")])
    assert result.stdout.decode() == native.stdout.decode()
    assert os.listdir(root) == []


def test_clamp_short_form_wants_a_directory_and_a_grate(tmp_path):
    """`clamp:/DIR=GRATE`: one grate, Python or wasm (tests/test_clamp.py has the rest)."""
    with pytest.raises(ValueError, match="clamp wants"):
        stack_grates(["p.wasm"], ["clamp:/data="])
    with pytest.raises(ValueError, match="clamp wants /DIR"):
        stack_grates(["p.wasm"], ["clamp:data=readonly"])
    fake = tmp_path / "grate.wasm"
    fake.write_bytes(b"\0asm\1\0\0\0")
    stack = stack_grates(["p.wasm"], [f"clamp:/data={fake}"])
    assert stack.argv == [str(fake), "p.wasm"]
    assert [type(g).__name__ for g in stack.root] == ["ClampStart"]
    assert [type(g).__name__ for g in stack.at_exec["p.wasm"][0]] == ["ClampEnd"]


# ------------------------------------------------------------------------ listing

def test_lind_grates_lists_every_python_grate_with_its_summary():
    out = subprocess.run([*LIND, "grates"], capture_output=True, text=True, timeout=60).stdout
    for name in ("aquarium", "chroot", "clamp", "fsview", "imfs", "netfilter", "readonly",
                 "seccomp"):
        line = next(ln for ln in out.splitlines() if ln.startswith(f"{name} "))
        assert line.split()[1] == "python" and len(line.split()) > 3

