"""Programs that carry their isolation: the policy format, embedding it in a module,
`lind inspect`, and the policy applied at start (options may only narrow it).

The cage runs of tests/programs/isolation/probe.c try each thing a policy decides (a
read-only and a read-write mount, a private /tmp, a denied and a killing system call,
the network, memory, open files, the identity) and print what happened."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import left_in
from hypothesis import given, settings
from hypothesis import strategies as st

import lind
from lind.isolation import cgroup, module
from lind.isolation.policy import PolicyError, parse_policy, schema

POLICY = """\
version = 1

[filesystem]
mounts = [{ host = "data", path = "/data" },
          { host = "out", path = "/out", mode = "rw" }]
tmp = ["/tmp"]

[syscalls]
deny = { unlink = "errno EACCES", getppid = "kill" }

[resources]
memory = "32M"
open_files = 32
wall_time = 3

[identity]
uid = 0
hostname = "sandbox"
"""

GRANTED = """\
hostname: sandbox
uid: 0
read /data/in.txt: ok
write /data/new.txt: Read-only file system
write /out/result.txt: ok
write /tmp/scratch: ok
unlink /out/result.txt: Permission denied
socket: Permission denied
RLIMIT_NOFILE: 32 32
opens until one fails: No file descriptors available
  29 opened
malloc 64 MiB: Out of memory
"""

CANARY = b"outside every cage\n"


@pytest.fixture
def app(builds, tmp_path: Path) -> Path:
    """tmp_path/app/probe.wasm carrying POLICY, with data/in.txt and an empty out/ beside
    it; a canary file beside app/, and a second tree (other/) a run must not see."""
    here = tmp_path / "app"
    (here / "data").mkdir(parents=True)
    (here / "out").mkdir()
    (here / "data" / "in.txt").write_text("in\n")
    (tmp_path / "canary.txt").write_bytes(CANARY)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "secret.txt").write_bytes(CANARY)
    shutil.copy(builds.wasm("isolation/probe"), here / "probe.wasm")
    (tmp_path / "policy.toml").write_text(POLICY)
    rc, out, err = lind_command(tmp_path, "policy", "embed", here / "probe.wasm",
                                tmp_path / "policy.toml")
    assert rc == 0, err
    return here / "probe.wasm"


def lind_command(tmp_path: Path, *args, cwd: Path | None = None, env: dict | None = None,
                 timeout: float = 90) -> tuple[int, str, str]:
    """`python -m lind ARGS` with scratch files as its stdin, stdout and stderr."""
    paths = [tmp_path / f"cmd.{name}" for name in ("in", "out", "err")]
    paths[0].write_bytes(b"")
    with open(paths[0], "rb") as i, open(paths[1], "wb") as o, open(paths[2], "wb") as e:
        proc = subprocess.run([sys.executable, "-m", "lind", *map(str, args)], stdin=i,
                              stdout=o, stderr=e, cwd=cwd, env=env, timeout=timeout)
    assert proc.returncode >= 0, f"lind died of signal {-proc.returncode}"
    return proc.returncode, paths[1].read_text(), paths[2].read_text()


def untouched(tmp_path: Path) -> None:
    assert (tmp_path / "canary.txt").read_bytes() == CANARY
    assert (tmp_path / "other" / "secret.txt").read_bytes() == CANARY
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["secret.txt"]


def test_the_embedded_policy_is_what_the_program_gets(app, tmp_path):
    """Run from another directory: the policy's relative mounts are the module's
    neighbours; everything the policy does not grant fails as it says."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "hosttmp").mkdir()
    rc, out, err = lind_command(tmp_path, "run", "../app/probe.wasm", cwd=tmp_path / "elsewhere",
                                env={**os.environ, "TMPDIR": str(tmp_path / "hosttmp")})
    assert (rc, out, err) == (0, GRANTED, "")
    assert (app.parent / "out" / "result.txt").read_text() == "written in the cage\n"
    assert sorted(p.name for p in (app.parent / "data").iterdir()) == ["in.txt"]
    assert left_in(tmp_path / "hosttmp") == []     # the private /tmp and root are gone
    untouched(tmp_path)


def test_a_denied_call_that_kills_and_the_wall_time(app, tmp_path):
    rc, out, err = lind_command(tmp_path, "run", app, "ptrace")
    assert rc == 128 + 31 and out.endswith("calling getppid\n"), (rc, out, err)
    assert err == f"lind: {app}: killed by SIGSYS\n"
    rc, out, err = lind_command(tmp_path, "run", "--timeout", "60", app, "sleep")
    assert rc == 124 and out.endswith("sleeping\n"), (rc, out, err)
    assert err == f"lind: {app}: timed out after 3 s\n"
    untouched(tmp_path)


@pytest.mark.parametrize(("options", "refused"), [
    (["--net", "host"], "network host (the policy says none)"),
    (["--net", "private"], "network private (the policy says none)"),
    (["--memory", "64M"], "memory 64 MiB (the policy says 32 MiB)"),
    (["--root", "{tmp}/other"], "root {tmp}/other (the policy says an empty private root)"),
    (["--mount", "{tmp}/other:/other"], "mount {tmp}/other at /other (the policy has no such mount)"),
    (["--mount", "{tmp}/other:/data:ro"], "mount {tmp}/other at /data (the policy has no such mount)"),
    (["--mount", "{app}/data:/data:rw"], "mount {app}/data at /data read-write (the policy says read-only)"),
])
def test_options_may_only_narrow_the_policy(app, tmp_path, options, refused):
    """What would widen the policy is refused in one line, and runs nothing."""
    fill = {"tmp": tmp_path, "app": app.parent}
    rc, out, err = lind_command(tmp_path, "run", *(o.format(**fill) for o in options), app)
    assert (rc, out) == (2, "")
    assert err == (f"lind: {app}: its policy does not allow {refused.format(**fill)}; "
                   "--override-policy runs it anyway\n")
    untouched(tmp_path)


def test_narrowing_options_apply(app, tmp_path):
    """A mount made read-only, less memory, a network no wider, another hostname: taken
    as asked, nothing said."""
    rc, out, err = lind_command(tmp_path, "run", "--mount", f"{app.parent}/out:/out:ro",
                                "--memory", "16M", "--net", "none", "--hostname", "renamed",
                                "--timeout", "2", app)
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "hostname: renamed"
    assert "write /out/result.txt: Read-only file system" in lines
    assert "malloc 64 MiB: Out of memory" in lines
    assert not (app.parent / "out" / "result.txt").exists()
    untouched(tmp_path)


def test_override_widens_and_says_so(app, tmp_path):
    """--override-policy: the network the policy denied is there (connect reaches the
    loopback: nothing listens, so ECONNREFUSED), and stderr names each widening."""
    rc, out, err = lind_command(tmp_path, "run", "--override-policy", "--net", "private",
                                "--memory", "100M", app)
    assert rc == 0, err
    lines = out.splitlines()
    assert "socket: ok" in lines and "connect 127.0.0.1:9: Connection refused" in lines
    assert "malloc 64 MiB: ok" in lines
    assert err == (f"lind: {app}: overriding its policy: network private (the policy says none)\n"
                   f"lind: {app}: overriding its policy: memory 100 MiB (the policy says 32 MiB)\n")
    untouched(tmp_path)


@pytest.mark.parametrize(("allow", "connect"), [
    ("['127.0.0.1:9']", "Connection refused"),         # allowed: it reached the loopback
    ("['127.0.0.1:80', '10.0.0.0/8']", "Permission denied"),
    ("[]", "Permission denied"),
])
def test_a_policy_root_and_network_allow_list(app, tmp_path, allow, connect):
    """root is the module's neighbour `rootfs` (its data/in.txt readable, the app's own
    out/ not there); the allow list decides which addresses connect may reach."""
    rootfs = app.parent / "rootfs"
    (rootfs / "data").mkdir(parents=True)
    (rootfs / "data" / "in.txt").write_text("in rootfs\n")
    (tmp_path / "net.toml").write_text(f"version = 1\n[filesystem]\nroot = 'rootfs'\n"
                                       f"[network]\nmode = 'private'\nallow = {allow}\n")
    rc, out, err = lind_command(tmp_path, "policy", "embed", app, tmp_path / "net.toml")
    assert rc == 0, err
    result = lind.run([app], capture_output=True, text=True, timeout=60)
    lines = result.stdout.splitlines()
    assert "read /data/in.txt: ok" in lines and "write /out/result.txt: No such file or directory" in lines
    assert f"connect 127.0.0.1:9: {connect}" in lines, result.stdout
    untouched(tmp_path)


def test_lind_run_applies_the_policy_too(app, tmp_path):
    with pytest.raises(lind.PolicyViolation, match="network host"):
        lind.run([app], net="host")
    result = lind.run([app], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, GRANTED)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = lind.run([app], memory=100 << 20, override_policy=True, capture_output=True,
                          text=True)
    assert "malloc 64 MiB: ok" in result.stdout
    assert [str(w.message) for w in seen if w.category is lind.PolicyOverridden] == [
        f"{app}: overriding its policy: memory 100 MiB (the policy says 32 MiB)"]
    with lind.Popen([app, "sleep"], stdout=lind.PIPE) as proc:      # wall_time for Popen
        assert proc.wait(30) == -9
    untouched(tmp_path)


def test_a_wall_time_or_timeout_longer_than_a_host_wait_is_no_limit(builds, tmp_path):
    """wall_time = 1e300 in a policy raised OverflowError out of lind.run (and killed
    Popen's timer thread) and left the cage running; timeout=inf did the same. A policy
    says at most 1e9 s (about 31 years) now; a longer timeout asked of lind.run is none."""
    program = tmp_path / "clock.wasm"      # it sleeps: lind.run waits for it
    shutil.copy(builds.wasm("clock"), program)
    for timeout in (1e300, float("inf")):
        result = lind.run([program], capture_output=True, timeout=timeout)
        assert (result.returncode, result.stderr) == (0, b""), timeout
        assert b"slept enough: 1" in result.stdout
    (tmp_path / "policy.toml").write_text("version = 1\n[resources]\nwall_time = 1e9\n")
    rc, out, err = lind_command(tmp_path, "policy", "embed", program, tmp_path / "policy.toml")
    assert rc == 0, err
    result = lind.run([program], capture_output=True)
    assert (result.returncode, result.stderr) == (0, b"")
    with lind.Popen([program], stdout=lind.PIPE, stderr=lind.PIPE) as proc:
        out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, b"") and b"slept enough: 1" in out


def test_inspect_shows_the_policy_in_words(app, builds, tmp_path):
    rc, out, err = lind_command(tmp_path, "inspect", app)
    assert rc == 0, err
    head, *policy = out.splitlines()
    assert head.startswith(f"{app}: WebAssembly module, {app.stat().st_size} bytes, ")
    assert policy == [
        "policy (embedded, version 1):",
        "  files: an empty private root (removed afterwards)",
        "  files: host directory data at /data, read-only",
        "  files: host directory out at /out, read-write",
        "  files: an empty private directory at /tmp",
        "  network: none (no Internet sockets)",
        "  system calls: allowed by default",
        "  system calls: unlink: fail with EACCES",
        "  system calls: getppid: kill the program (SIGSYS)",
        "  memory: at most 32 MiB, children included",
        "  time: killed after 3 s",
        "  open files: at most 32",
        "  identity: uid 0, hostname sandbox"]
    rc, out, err = lind_command(tmp_path, "inspect", "--json", app)
    shown = json.loads(out)
    assert shown["policy_text"] == POLICY and shown["size"] == app.stat().st_size
    assert shown["policy"]["syscalls"]["rules"] == [
        {"calls": ["unlink"], "action": "errno EACCES"}, {"calls": ["getppid"], "action": "kill"}]
    assert {"module": "lind", "name": "syscall", "kind": "func"} in shown["imports"]
    plain = builds.wasm("isolation/probe")
    rc, out, err = lind_command(tmp_path, "inspect", plain)
    assert rc == 0 and out.splitlines()[1].startswith("policy: none embedded"), out
    (tmp_path / "not.wasm").write_bytes(b"#!/bin/sh\n")
    rc, out, err = lind_command(tmp_path, "inspect", tmp_path / "not.wasm")
    assert (rc, out) == (2, "") and "not a WebAssembly module" in err


def test_embedding_replaces_and_keeps_the_module_valid(app, builds, tmp_path):
    """`lind policy embed` twice leaves one policy, the last; `lind cc --policy` embeds
    at link; the module still runs where no policy is known (plain wasmtime validates it)."""
    import wasmtime

    (tmp_path / "second.toml").write_text('version = 1\n[identity]\nhostname = "second"\n')
    rc, out, err = lind_command(tmp_path, "policy", "embed", app, tmp_path / "second.toml")
    assert (rc, out) == (0, "files: an empty private root (removed afterwards)\n"
                            "network: none (no Internet sockets)\nsystem calls: all\n"
                            "identity: hostname second\n"), err
    assert module.policy_text(app) == (tmp_path / "second.toml").read_text()
    data = app.read_bytes()
    assert data.count(module.SECTION.encode()) == 1
    wasmtime.Module.validate(wasmtime.Engine(), data)
    assert lind.run([app], capture_output=True, text=True).stdout.startswith("hostname: second\n")
    built = tmp_path / "built.wasm"
    rc, out, err = lind_command(tmp_path, "cc", "-O2", "--policy", tmp_path / "second.toml",
                                Path(__file__).parent / "programs/isolation/probe.c", "-o", built)
    assert rc == 0, err
    assert module.policy_text(built) == (tmp_path / "second.toml").read_text()
    (tmp_path / "cut.wasm").write_bytes(data[:100])
    with pytest.raises(module.NotAModule, match="truncated WebAssembly module"):
        module.policy_text(tmp_path / "cut.wasm")


@pytest.mark.parametrize(("text", "where", "reason"), [
    ("", "p.toml", "no version (this Lind reads version = 1)"),
    ("version = 2\n", "p.toml:1", "version 2: this Lind reads version = 1"),
    ("version = 1\n[network]\nmode = 'all'\n", "p.toml:3",
     "network mode 'all': one of none, private, host"),
    ("version = 1\n\n[sandbox]\n", "p.toml:3", "unknown table or key 'sandbox' (known: version, "
     "filesystem, network, syscalls, resources, identity, host)"),
    ("version = 1\n[network]\nmode = 'none'\nports = [1]\n", "p.toml:4",
     "unknown key 'ports' in [network] (known: allow, mode)"),
    ("version = 1\n[syscalls]\ndeny = [\n  'read',\n  'nosuch',\n]\n", "p.toml:5",
     "unknown system call 'nosuch'"),
    ("version = 1\n[syscalls]\ndeny = ['write']\ndefault = 'kill'\nallow = ['write']\n", "p.toml:5",
     "write has two rules (lines 3 and 5)"),
    ("version = 1\n[syscalls]\ndeny = { read = 'allow' }\n", "p.toml:3",
     "deny read = \"allow\" contradicts itself"),
    ("version = 1\n[syscalls]\nallow = ['read']\n", "p.toml:3",
     "allow lists calls, but the default already allows every call: set default to kill or "
     "\"errno NAME\""),
    ("version = 1\n[syscalls]\ndeny = ['exit_group']\n", "p.toml:3",
     "exit_group always passes, so a cage can end"),
    ("version = 1\n[syscalls]\ndeny = { open = 'errno EACCES', stat = 'errno ENOPE' }\n",
     "p.toml:3", "action 'errno ENOPE': allow, kill or \"errno NAME\""),
    ("version = 1\n[syscalls]\ndeny = { open = 'errno EACCES', openat = 'kill', "
     "stat = 'kill', lstat = 'errno EPERM' }\n", "p.toml",
     "stat and lstat are both issued as newfstatat, with different actions: give newfstatat a "
     "rule of its own"),
    ("version = 1\n[filesystem]\nmounts = [{ host = 'a', path = 'rel' }]\n", "p.toml:3",
     "mounts: 'rel' is not an absolute path in the cage"),
    ("version = 1\n[filesystem]\nmounts = [{ host = 'a', path = '/a' }, { host = 'b', path = '/a/' }]\n",
     "p.toml:3", "two mounts at /a"),
    ("version = 1\n[filesystem]\nroot = '/'\n", "p.toml:3", "root: '/': host paths in a "
     "policy are relative to the program's directory and stay inside it"),
    ("version = 1\n[filesystem]\nmounts = [{ host = 'data/../../etc', path = '/etc' }]\n",
     "p.toml:3", "mounts: 'data/../../etc': host paths in a policy are relative to the "
     "program's directory and stay inside it"),
    ("version = 1\n[filesystem]\nroot = '.'\n", "p.toml:3",
     "root: '.': a policy names a directory inside the program's directory, not that "
     "directory itself (it holds whatever is put beside the program)"),
    ("version = 1\n[filesystem]\nmounts = [{ host = './', path = '/a', mode = 'rw' }]\n",
     "p.toml:3", "mounts: './': a policy names a directory inside the program's directory, "
     "not that directory itself (it holds whatever is put beside the program)"),
    ("version = 1\n[filesystem]\ntmp = ['/']\n", "p.toml:3",
     "tmp at / : leave out root for an empty private root"),
    ("version = 1\n[network]\nmode = 'private'\nallow = ['10.0.0.0/33']\n", "p.toml:4",
     "bad address '10.0.0.0/33': '10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"),
    ("version = 1\n[resources]\nmemory = 'lots'\n", "p.toml:3",
     "memory: bad size 'lots': expected a positive number of bytes, optionally with K, M or G"),
    ("version = 1\n[resources]\nfile_size = '1 page'\n", "p.toml:3",
     "file_size: bad size '1 page': expected a positive number of bytes, optionally with K, M or G"),
    ("version = 1\n[resources]\nopen_files = 5000\n", "p.toml:3",
     "open_files 5000: a whole number from 1 to 4096"),
    ("version = 1\n[resources]\nwall_time = -1\n", "p.toml:3",
     "wall_time -1: a positive number of seconds, at most 1e9"),
    ("version = 1\n[resources]\nwall_time = inf\n", "p.toml:3",   # a host wait overflowed
     "wall_time inf: a positive number of seconds, at most 1e9"),
    ("version = 1\n[syscalls]\ndefault = 'errno \u00b2'\n", "p.toml:3",  # int() raised
     "action 'errno \u00b2': allow, kill or \"errno NAME\""),
    ("version = 1\n[syscalls]\ndefault = 'errno errorcode'\n", "p.toml:3",
     "action 'errno errorcode': allow, kill or \"errno NAME\""),
    ("version = 1\n[syscalls]\ndefault = 'errno " + "9" * 5000 + "'\n", "p.toml:3",
     "action 'errno " + "9" * 5000 + "': allow, kill or \"errno NAME\""),
    ("version = 1\n[identity]\nhostname = ''\n", "p.toml:3", "hostname '': 1 to 64 bytes"),
    ("version = 1\n[identity\n", "p.toml:2", "Expected ']' at the end of a table declaration"),
    ("version = 1\n[host]\nisolate = 'yes'\n", "p.toml:3",
     "isolate 'yes': true, false or \"best-effort\""),
    # lind isolate made these directories on the host, as root, outside the new root
    ("version = 1\n[filesystem]\ntmp = ['/../../etc/nologin']\n", "p.toml:3",
     "tmp: '/../../etc/nologin' has . or .. (or a NUL) in it"),
    ("version = 1\n[filesystem]\nmounts = [{ host = 'data', path = '/a/./../../x' }]\n",
     "p.toml:3", "mounts: '/a/./../../x' has . or .. (or a NUL) in it"),
])
def test_a_bad_policy_names_file_line_and_reason(tmp_path, text, where, reason):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.toml")
    assert (caught.value.where, caught.value.reason) == (where, reason)
    (tmp_path / "p.toml").write_text(text)
    rc, out, err = lind_command(tmp_path, "policy", "check", "p.toml", cwd=tmp_path)
    assert (rc, out, err) == (1, "", f"lind: {where}: {reason}\n")
    rc, out, err = lind_command(tmp_path, "cc", "--policy", "p.toml", "nothing.c", cwd=tmp_path)
    assert (rc, err) == (1, f"lind cc: {where}: {reason}\n")       # before compiling anything


def test_the_shipped_schema_names_what_the_parser_reads():
    from lind.isolation.policy import _TABLES

    shown = schema()
    assert shown["properties"]["version"] == {"const": 1}
    assert set(shown["properties"]) == {"version", *_TABLES}
    for table, keys in _TABLES.items():
        assert set(shown["properties"][table]["properties"]) == keys, table


_NAMES = ["read", "write", "openat", "unlink", "mkdir", "rmdir", "getpid", "socket", "connect",
          "kill", "ptrace", "mount", "chmod", "rename", "pipe2"]
_ACTIONS = ["allow", "kill", "errno EPERM", "errno EROFS"]


@settings(max_examples=60, deadline=None)
@given(default=st.sampled_from(_ACTIONS), chosen=st.dictionaries(st.sampled_from(_NAMES),
                                                                  st.sampled_from(_ACTIONS)))
def test_syscall_tables_become_exactly_those_seccomp_rules(default, chosen):
    """Whatever mix of allow and deny a policy writes, the seccomp grate that applies it
    has one rule per named call, with that action, and the default for the rest."""
    from lind.grates import number
    from lind.grates.seccomp import Action

    if default == "allow":      # an allow list needs a default that refuses
        chosen = {name: action for name, action in chosen.items() if action != "allow"}
    allow = [name for name, action in chosen.items() if action == "allow"]
    deny = ", ".join(f"{name} = {action!r}" for name, action in chosen.items() if action != "allow")
    text = f"version = 1\n[syscalls]\ndefault = {default!r}\nallow = {allow!r}\ndeny = {{ {deny} }}\n"
    grate = parse_policy(text).seccomp()
    if default == "allow" and not chosen:
        assert grate is None
        return
    assert grate.rules == {number(name): Action.parse(action.split()) for name, action in chosen.items()}
    assert grate.default == Action.parse(default.split())


# ------------------------------------------------- the Lind process isolated (--isolate)

def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def lind_env(tmp_path: Path, env: dict[str, str], *args, timeout: float = 120):
    """lind_command with an environment of its own."""
    paths = [tmp_path / f"env.{name}" for name in ("in", "out", "err")]
    paths[0].write_bytes(b"")
    with open(paths[0], "rb") as i, open(paths[1], "wb") as o, open(paths[2], "wb") as e:
        proc = subprocess.run([*map(str, args)], stdin=i, stdout=o, stderr=e, env=env,
                              timeout=timeout)
    assert proc.returncode >= 0, f"died of signal {-proc.returncode}"
    return proc.returncode, paths[1].read_text(), paths[2].read_text()


def test_isolate_runs_the_program_as_before(app, tmp_path):
    """The same run inside the host layers: same output, same status, same files."""
    (tmp_path / "root").mkdir()
    args = ["--override-policy", "--root", tmp_path / "root", "--net", "private", app]
    plain = lind_command(tmp_path, "run", *args)
    (app.parent / "out" / "result.txt").unlink(missing_ok=True)
    (tmp_path / "hosttmp").mkdir()
    isolated = lind_command(tmp_path, "run", "--isolate", *args,
                            env={**os.environ, "TMPDIR": str(tmp_path / "hosttmp")})
    assert isolated == plain and plain[0] == 0, (plain, isolated)
    assert left_in(tmp_path / "hosttmp") == []    # the new root's mount point too
    assert "connect 127.0.0.1:9: Connection refused" in isolated[1]   # its private network
    assert (app.parent / "out" / "result.txt").read_text() == "written in the cage\n"
    untouched(tmp_path)


def test_isolate_runs_threads_that_wait_on_each_other(builds, tmp_path):
    """Condition variables, joins and barriers wait in the trampoline's futex_waitv: a
    filter without it killed the isolated Lind at the first wait (SIGSYS)."""
    (tmp_path / "root").mkdir()
    args = ["--root", tmp_path / "root", builds.wasm("threads/basics")]
    plain = lind_command(tmp_path, "run", *args)
    isolated = lind_command(tmp_path, "run", "--isolate", *args)
    assert isolated == plain and plain[0] == 0, (plain, isolated)


def test_isolate_keeps_what_a_grate_writes_on_the_host(builds, tmp_path):
    """strace's -o FILE and aquarium's report=FILE outside the run's root and mounts: in
    the working directory they were lost without a word (exit 0, no file), elsewhere
    the run was refused (exit 2). Their directories are now kept writable, as --save's."""
    for name in ("root", "data", "traces", "reports"):
        (tmp_path / name).mkdir()
    trace, report = tmp_path / "traces" / "trace.txt", tmp_path / "reports" / "changes.txt"
    rc, out, err = lind_command(tmp_path, "run", "--isolate", "--root", tmp_path / "root",
                                "--mount", f"{tmp_path / 'data'}:/data",
                                "--grate", f"strace:-o {trace} -e openat",
                                "--grate", f"aquarium:/data,report={report}", "--",
                                builds.wasm("args_env"), "x")
    assert rc == 0, err
    assert trace.read_text().endswith("+++ exited with 0 +++\n"), trace.read_text()
    assert report.exists(), err
    rc, out, err = lind_command(tmp_path, "run", "--isolate", "--root", tmp_path / "root",
                                "--grate", "strace:-o here.txt", "--", builds.wasm("args_env"),
                                cwd=tmp_path / "traces")       # a relative name, kept too
    assert rc == 0 and (tmp_path / "traces" / "here.txt").exists(), err


CONFORMANCE = sorted(p.stem for p in (Path(__file__).parent / "programs" / "conformance")
                     .glob("*.c"))


@pytest.mark.parametrize("name", CONFORMANCE)
def test_isolate_makes_every_call_a_conformance_program_needs(builds, tmp_path, name):
    """Each host call the microvisor makes for them is one the isolation's filter lets
    through: a sleep's ppoll, splice, syncfs, clock_getres of a CPU clock and faccessat
    with AT_EACCESS were not, and the isolated Lind was killed (SIGSYS) at the first.
    Pseudo-terminals come from a devpts instance of the run's own (there were none)."""
    (tmp_path / "native").mkdir()
    (tmp_path / "root").mkdir()
    native = subprocess.run([builds.native(f"conformance/{name}")], cwd=tmp_path / "native",
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    isolated = lind_command(tmp_path, "run", "--isolate", "--root", tmp_path / "root",
                            builds.wasm(f"conformance/{name}"))
    assert "SIGSYS" not in isolated[2], isolated[2]
    assert isolated[:2] == (0, native.stdout.decode()), isolated


def test_isolate_opens_and_stats_as_without(builds, tmp_path):
    """Opens, stats and closes the trampoline makes: in --isolate's user namespace Lind's
    own ids are others, and a file it owns must still show as the cage's (the stat the
    trampoline answers once used the ids Lind had before it entered the namespace)."""
    for name in ("plain", "isolated"):
        (tmp_path / name).mkdir()
    plain = lind_command(tmp_path, "run", "--root", tmp_path / "plain", builds.wasm("opens"))
    isolated = lind_command(tmp_path, "run", "--isolate", "--root", tmp_path / "isolated",
                            builds.wasm("opens"))
    assert isolated == plain and plain[0] == 0, (plain, isolated)
    assert "failures: 0\n" in plain[1] and "mine=1" in plain[1], plain


@pytest.mark.parametrize("call", ["29", "68", "240"])    # shmget, msgget, mq_open
def test_the_filter_stands_for_the_ipc_namespace(app, tmp_path, call):
    """--isolate makes no IPC namespace of its own because its filter lets no System V
    IPC or message-queue call through: the hook's call of one kills the isolated Lind."""
    rc, out, err = lind_env(tmp_path, _env(LIND_ISOLATE_TEST_FORBIDDEN_CALL=call),
                            sys.executable, "-m", "lind", "run", "--isolate", app)
    assert (rc, out) == (128 + 31, "")
    untouched(tmp_path)


def test_the_isolation_filter_kills_lind_on_a_call_it_does_not_allow(app, tmp_path):
    """The test hook makes the isolated Lind call ptrace, which Lind never needs: the
    kernel kills it (the filter is not weakened to show it). A policy asking for the
    isolation gets the same filter; a Lind that is already isolated does not nest."""
    hook = _env(LIND_ISOLATE_TEST_FORBIDDEN_CALL="101")
    lind = [sys.executable, "-m", "lind", "run"]
    rc, out, err = lind_env(tmp_path, hook, *lind, "--isolate", app)
    assert (rc, out) == (128 + 31, "")
    assert err == ("lind: the isolated Lind: killed by SIGSYS: the isolation's seccomp filter "
                   "refused a system call\n")
    (tmp_path / "isolated.toml").write_text(POLICY + "\n[host]\nisolate = true\n")
    assert lind_command(tmp_path, "policy", "embed", app, tmp_path / "isolated.toml")[0] == 0
    assert lind_env(tmp_path, hook, *lind, app)[0] == 128 + 31
    assert lind_env(tmp_path, _env(), *lind, app)[:2] == (0, GRANTED)
    nested = _env(LIND_ISOLATED=os.readlink("/proc/self/ns/pid"), LIND_ISOLATE_TEST_FORBIDDEN_CALL="101")
    assert lind_env(tmp_path, nested, *lind, app)[:2] == (0, GRANTED)
    untouched(tmp_path)


def test_a_policy_may_ask_for_fewer_host_layers_but_the_person_gets_all(app, tmp_path):
    """[host] namespaces and seccomp: a policy isolating Lind in a user and pid namespace
    only, without the filter, runs as before and the hook's call does not kill it; the
    person's --isolate still gives every layer (the filter kills on the hook's call)."""
    hook = _env(LIND_ISOLATE_TEST_FORBIDDEN_CALL="101")
    lind = [sys.executable, "-m", "lind", "run"]
    (tmp_path / "fewer.toml").write_text(POLICY + "\n[host]\nisolate = true\n"
                                         "namespaces = ['pid', 'user']\nseccomp = false\n")
    assert lind_command(tmp_path, "policy", "embed", app, tmp_path / "fewer.toml")[0] == 0
    rc, out, err = lind_command(tmp_path, "inspect", app)
    assert "  host: Lind isolates itself first (namespaces user, pid; no capabilities)" in out
    assert lind_env(tmp_path, hook, *lind, app)[:2] == (0, GRANTED)
    assert lind_env(tmp_path, hook, *lind, "--isolate", app)[0] == 128 + 31
    untouched(tmp_path)


@pytest.mark.parametrize("host, said", [
    ("namespaces = ['pid']", 'namespaces: "user" is needed (an unprivileged process makes the '
                             'others inside it)'),
    ("namespaces = ['user', 'cgroup']", "namespaces: unknown 'cgroup' (known: user, mount, pid, "
                                        "ipc, uts, net)"),
    ("seccomp = 'yes'", "seccomp 'yes': true or false"),
])
def test_host_options_that_make_no_sense_are_refused(host, said):
    with pytest.raises(PolicyError) as refused:
        parse_policy(f"version = 1\n[host]\nisolate = true\n{host}\n", "p.toml")
    assert str(refused.value) == f"p.toml:4: {said}"


# A user namespace of its own, where no further one may be made: the kernel refuses
# --isolate's first layer there (the host's own limit stays as it is).
NO_NAMESPACES = """\
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
uid, gid = os.getuid(), os.getgid()
assert libc.unshare(0x10000000) == 0
for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
    with open(f"/proc/self/{name}", "w") as f:
        f.write(text)
with open("/proc/sys/user/max_user_namespaces", "w") as f:
    f.write("0")
os.execv(sys.executable, [sys.executable, "-m", "lind", *sys.argv[1:]])
"""


def test_a_layer_the_kernel_refuses_is_said_in_one_line(app, tmp_path):
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-c", NO_NAMESPACES,
                            "run", "--isolate", app)
    assert (rc, out) == (125, "")
    assert err == ("lind: --isolate: user namespace: No space left on device "
                   "(--isolate=best-effort goes on without it)\n")
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-c", NO_NAMESPACES,
                            "run", "--isolate=best-effort", app)
    assert (rc, out) == (0, GRANTED)
    assert err == "lind: --isolate: not applied: user namespace: No space left on device\n"


NATIVE_POLICY = """\
version = 1
[filesystem]
mounts = [{ host = "data", path = "/data" }, { host = "out", path = "/out", mode = "rw" }]
tmp = ["/scratch"]
[network]
mode = "none"
[syscalls]
deny = { unlink = "errno EACCES", unlinkat = "errno EACCES", ptrace = "kill" }
[resources]
memory = "200M"
wall_time = 5
[identity]
hostname = "sandbox"
uid = 0
"""

NATIVE_SCRIPT = """\
hostname; id -u; echo "pid $$"; test -e /proc/{host_pid} && echo seen || echo hidden
cat /data/in.txt
touch /data/x 2>&1 | sed 's/.*: //'
echo w > /out/f && cat /out/f
rm /out/f 2>&1 | sed 's/.*: //'
touch /scratch/a && ls /scratch
ls {tmp} 2>&1 | sed 's/.*: //'
python3 -c 'import socket; socket.create_connection(("1.1.1.1", 80), timeout=2)' 2>&1 | tail -1
python3 -c 'b = bytearray(300 << 20)' 2>&1 | tail -1
"""


def test_lind_isolate_runs_a_native_program_under_its_policy(tmp_path):
    """Native programs get the policy through the kernel: its mounts (read-only refused),
    a private tmp, no network, denied unlink, a memory limit, its hostname and uid, a
    pid namespace where it is the first process after Lind's init; nothing else of the
    host is there."""
    here = tmp_path / "app"
    (here / "data").mkdir(parents=True)
    (here / "out").mkdir()
    (here / "data" / "in.txt").write_text("in\n")
    (here / "policy.toml").write_text(NATIVE_POLICY)
    (tmp_path / "canary.txt").write_bytes(CANARY)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "secret.txt").write_bytes(CANARY)
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-m", "lind", "isolate",
                            "--policy", here / "policy.toml", "--", "/bin/sh", "-c",
                            NATIVE_SCRIPT.format(tmp=tmp_path, host_pid=os.getpid()))
    assert (rc, err) == (0, ""), (rc, out, err)
    assert out.splitlines() == [
        "sandbox", "0", "pid 2", "hidden", "in", "Read-only file system", "w", "Permission denied",
        "a", "No such file or directory", "OSError: [Errno 101] Network is unreachable",
        "MemoryError"]
    assert sorted(p.name for p in (here / "out").iterdir()) == ["f"]
    assert sorted(p.name for p in (here / "data").iterdir()) == ["in.txt"]
    untouched(tmp_path)
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-m", "lind", "isolate",
                            "--policy", here / "policy.toml", "--", "sleep", "60")
    assert (rc, err) == (124, "lind: sleep: timed out after 5 s\n")
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-m", "lind", "isolate",
                            "--policy", here / "policy.toml", "--", "python3", "-c",
                            "import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0); print('after')")
    assert (rc, out) == (128 + 31, "")
    assert err == ("lind: python3: killed by SIGSYS: the isolation's seccomp filter refused "
                   "a system call\n")


HOST_WIDE = """\
import os
for path in ("/proc/sys/kernel/printk_ratelimit", "/proc/sys/vm/overcommit_ratio"):
    value = open(path).read()
    try:
        with open(path, "w") as f:      # the value it has: harmless where it is allowed
            f.write(value)
        print("wrote", path)
    except OSError as exc:
        print(exc.strerror)
for name in ("null", "zero", "full", "random", "urandom"):
    path = "/dev/" + name
    try:
        os.chmod(path, os.stat(path).st_mode & 0o7777)    # its own mode: harmless too
        print("changed", path)
    except OSError as exc:
        print(exc.strerror)
with open("/dev/null", "w") as f:
    f.write("still a device")
print(open("/dev/zero", "rb").read(2))
import ctypes
user_keyring = ctypes.CDLL(None, use_errno=True).syscall(250, 0, ctypes.c_long(-4), 0)
print("keyctl", user_keyring, os.strerror(ctypes.get_errno()) if user_keyring < 0 else "")
for name in ("keys", "timer_list", "slabinfo", "iomem", "zoneinfo"):
    print(name, len(open("/proc/" + name).read()))
"""


def test_an_isolated_program_run_by_root_changes_no_host_setting_or_device(tmp_path):
    """Run by host root, `lind isolate` maps the program to host uid 0 in its user
    namespace, which file modes alone let write sysctls (kernel.core_pattern: a program
    run as root at the next crash) and change the host's device nodes it binds (the
    /dev/zero found at 0777). /proc's host-wide parts and the devices are read-only
    mounts: their settings and inodes stay the host's, the devices work. Host root's
    keyrings (kept by host uid) and /proc's root-only files are out of its reach too."""
    devices = {n: os.stat(f"/dev/{n}") for n in ("null", "zero", "full", "random", "urandom")}
    (tmp_path / "canary.txt").write_bytes(CANARY)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "secret.txt").write_bytes(CANARY)
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-m", "lind", "isolate", "--",
                            "python3", "-c", HOST_WIDE)
    assert (rc, err) == (0, ""), (rc, out, err)
    assert out.splitlines() == ["Read-only file system"] * 7 + ["b'\\x00\\x00'"] + [
        "keyctl -1 Operation not permitted", "keys 0", "timer_list 0", "slabinfo 0", "iomem 0",
        "zoneinfo 0"]
    for name, before in devices.items():
        after = os.stat(f"/dev/{name}")
        assert (after.st_mode, after.st_uid, after.st_ctime_ns) == (
            before.st_mode, before.st_uid, before.st_ctime_ns), name
    untouched(tmp_path)


def test_links_in_a_shipped_root_lead_nowhere_outside_it(tmp_path):
    """A policy's root directory (the program author's) with links out of it on the way
    to a tmp directory or a mount: `lind isolate` made the directories they led to on the
    host, as root, and mounted over them. Each place is found inside the new root now;
    and one that cannot be made stops the run even with --isolate=best-effort, which
    went on in the host's files."""
    here = tmp_path / "app"
    rootfs = here / "rootfs"
    for name in ("usr", "tmp", "dev", "proc"):
        (rootfs / name).mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (rootfs / "out").symlink_to(outside)                       # absolute: its host target
    (rootfs / "up").symlink_to("../../../../../../../../" + str(outside).lstrip("/"))
    (tmp_path / "canary.txt").write_bytes(CANARY)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "secret.txt").write_bytes(CANARY)
    for guest in ("/out/made", "/up/made"):
        (here / "policy.toml").write_text(
            f'version = 1\n[filesystem]\nroot = "rootfs"\ntmp = ["{guest}"]\n')
        rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-m", "lind", "isolate",
                                "--policy", here / "policy.toml", "--", "/bin/true")
        assert rc != 0 and "symbolic link to nothing in the new root" in err, (rc, err)
        assert list(outside.iterdir()) == [], guest
    # A root that cannot be made (its /proc a file) is never skipped, best effort or not:
    # the program ran in the host's own files.
    (rootfs / "proc").rmdir()
    (rootfs / "proc").write_text("not a directory\n")
    (here / "policy.toml").write_text('version = 1\n[filesystem]\nroot = "rootfs"\n')
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-m", "lind", "isolate",
                            "--policy", here / "policy.toml", "--isolate=best-effort", "--",
                            "/bin/sh", "-c", "echo ran")
    assert (rc, out) == (125, ""), (rc, out, err)
    assert "proc in the new root: Not a directory" in err, err
    untouched(tmp_path)


SELF_ISOLATING = """\
import os, sys
import lind
lind.isolate(os.path.join(os.path.dirname(os.path.abspath(__file__)), "policy.toml"))
print("pid", os.getpid(), "args", sys.argv[1:])
print("canary seen:", os.path.exists(sys.argv[1]))
with open("/out/note.txt", "w") as f:
    f.write("from the isolated program\\n")
try:
    import socket
    socket.create_connection(("1.1.1.1", 80), timeout=2)
except OSError as exc:
    print("network:", exc.strerror)
"""


def test_a_python_program_isolates_itself(tmp_path):
    """lind.isolate(policy) at the top of a script: it runs again inside the layers
    (pid 2, after Lind's init; the policy's mount, no network, the host's files out of
    sight) with its arguments."""
    here = tmp_path / "app"
    (here / "out").mkdir(parents=True)
    (here / "app.py").write_text(SELF_ISOLATING)
    (here / "policy.toml").write_text(
        'version = 1\n[filesystem]\nmounts = [{ host = "out", path = "/out", mode = "rw" }]\n')
    (tmp_path / "canary.txt").write_bytes(CANARY)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "secret.txt").write_bytes(CANARY)
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, here / "app.py",
                            tmp_path / "canary.txt")
    assert (rc, err) == (0, ""), (rc, out, err)
    assert out.splitlines() == [f"pid 2 args ['{tmp_path / 'canary.txt'}']", "canary seen: False",
                                "network: Network is unreachable"]
    assert (here / "out" / "note.txt").read_text() == "from the isolated program\n"
    untouched(tmp_path)


def test_a_native_program_carries_its_policy_in_an_elf_note(builds, tmp_path):
    """`lind policy embed` writes an ELF note (the program still runs as before, readelf
    reads it), `lind inspect` shows it, and `lind isolate -- ./program` applies it."""
    program = tmp_path / "hostname"
    shutil.copy(builds.native("isolation/hostname"), program)
    before = subprocess.run([program], capture_output=True, text=True).stdout.split(", pid")[0]
    (tmp_path / "p.toml").write_text('version = 1\n[identity]\nhostname = "carried"\n')
    for _ in range(2):               # a second embedding replaces the first
        rc, said, _ = lind_command(tmp_path, "policy", "embed", program, tmp_path / "p.toml")
        assert rc == 0
    assert module.policy_text(program) == (tmp_path / "p.toml").read_text()
    assert subprocess.run([program], capture_output=True, text=True).stdout.startswith(before)
    rc, out, err = lind_command(tmp_path, "inspect", program)
    assert said.splitlines() == [line.strip() for line in out.splitlines()[2:]]   # as applied
    assert rc == 0 and out.splitlines()[1:] == [
        "policy (embedded, version 1):",
        "  files: the system's programs and libraries and the working directory, read-only; "
        "a private /tmp", "  network: none (no Internet sockets)", "  system calls: all",
        "  identity: hostname carried"], out
    rc, out, err = lind_command(tmp_path, "isolate", "--", "./hostname", cwd=tmp_path)
    assert (rc, out, err) == (0, "hostname carried, pid 2\n", "")


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


@pytest.mark.parametrize(("payload", "said"), [
    (b"a = " + b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
    (b"version = 1\n" + b"#" * (2 << 20), "bytes: a policy is at most 1048576"),
    # refused by its size before it is decoded: a section of a program's whole size was
    # decoded first (a 256 MiB one with one character past U+FFFF: a 1 GiB str)
    (b"version = 1\n" + b"#" * (2 << 20) + b"\xff", "bytes: a policy is at most 1048576"),
    (b"version = 1\n\xff\xfe", "the embedded policy is not UTF-8"),
    (b"version = 1\n[syscalls]\ndeny = ['exit']\n", "exit always passes, so a cage can end"),
], ids=["nested", "too-large", "too-large-undecoded", "not-utf8", "exit-denied"])
def test_a_hostile_embedded_policy_is_refused_in_one_line(builds, tmp_path, payload, said):
    """The section is the program's to fill: whatever it holds, `lind run` and `lind
    inspect` refuse it with one line (exit 2 and 1), no traceback, nothing run."""
    module_file = tmp_path / "hostile.wasm"
    name = b"lind.policy"
    section = _leb(len(name)) + name + payload
    module_file.write_bytes(builds.wasm("isolation/probe").read_bytes() + b"\0"
                            + _leb(len(section)) + section)
    rc, out, err = lind_command(tmp_path, "run", module_file)
    assert (rc, out) == (2, "") and said in err and len(err.splitlines()) == 1, err
    rc, out, err = lind_command(tmp_path, "inspect", module_file)
    assert rc in (1, 2) and said in err and len(err.splitlines()) == 1, err


def test_process_count_and_cpu_time_in_a_cage(builds, tmp_path):
    """processes = 4: the program and three children, then fork is EAGAIN (children that
    ended count no more); cpu_time = 1: SIGXCPU after a second of CPU (its default ends
    the program), SIGKILL a second later for one that handles it; the CPU time is all
    the threads' (a second thread spinning while the first waits is stopped too)."""
    program = tmp_path / "limits.wasm"
    shutil.copy(builds.wasm("isolation/limits"), program)
    (tmp_path / "p.toml").write_text("version = 1\n[resources]\nprocesses = 4\ncpu_time = 1\n")
    assert lind_command(tmp_path, "policy", "embed", program, tmp_path / "p.toml")[0] == 0
    rc, out, err = lind_command(tmp_path, "run", program, "fork")
    assert (rc, out, err) == (0, "RLIMIT_CPU 1 2\nforked 3, then Resource temporarily "
                                 "unavailable; reaped 3\nfork after they ended: ok\n", "")
    rc, out, err = lind_command(tmp_path, "run", program, "spin")
    assert (rc, out, err) == (128 + 24, "RLIMIT_CPU 1 2\n", f"lind: {program}: killed by SIGXCPU\n")
    rc, out, err = lind_command(tmp_path, "run", program, "spin", "handle")
    assert (rc, out, err) == (128 + 9, "RLIMIT_CPU 1 2\nSIGXCPU\n",
                              f"lind: {program}: killed by SIGKILL\n")
    rc, out, err = lind_command(tmp_path, "run", program, "spin-thread", timeout=30)
    assert (rc, out, err) == (128 + 24, "RLIMIT_CPU 1 2\n", f"lind: {program}: killed by SIGXCPU\n")


def test_file_size_in_a_cage_and_natively(builds, tmp_path):
    """file_size = 64: the program starts with RLIMIT_FSIZE 64 (its writes cut there, its
    stdout too, then EFBIG); `lind inspect` says so; a native program under `lind
    isolate` is held by the kernel's own RLIMIT_FSIZE."""
    program = tmp_path / "fsize.wasm"
    shutil.copy(builds.wasm("posix/file_size_limit"), program)
    (tmp_path / "p.toml").write_text("version = 1\n[filesystem]\nroot = 'root'\n"
                                     "[resources]\nfile_size = 64\n")
    assert lind_command(tmp_path, "policy", "embed", program, tmp_path / "p.toml")[0] == 0
    rc, out, err = lind_command(tmp_path, "inspect", program)
    assert "  files it writes: at most 64 bytes each (EFBIG and SIGXFSZ past it)" in out.splitlines()
    root = tmp_path / "root"
    root.mkdir()
    rc, out, err = lind_command(tmp_path, "run", program)
    assert (rc, err) == (0, "")
    assert out.startswith("unlimited at start: 0\nsetrlimit -1 22 caught 0\n") and len(out) == 64
    assert (root / "big").stat().st_size == 64
    (tmp_path / "n.toml").write_text("version = 1\n[resources]\nfile_size = '1K'\n")
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-m", "lind", "isolate", "--policy",
                            tmp_path / "n.toml", "--", "sh", "-c",
                            "head -c 5000 /dev/zero > /tmp/big; echo $?; wc -c < /tmp/big")
    assert (rc, out) == (0, f"{128 + 25}\n1024\n"), err


def test_stack_in_a_cage_and_natively(builds, tmp_path):
    """stack = "32M": RLIMIT_STACK's soft limit the program starts with (a cage's stack
    up to the region it was linked with; `lind inspect` says so); `--stack` may narrow
    it, not widen it; a native program under `lind isolate` gets the kernel's own."""
    program = tmp_path / "stack.wasm"
    shutil.copy(builds.wasm("limits/stack", f"-Wl,-z,stack-size={32 << 20}"), program)
    (tmp_path / "p.toml").write_text("version = 1\n[filesystem]\nroot = 'root'\n"
                                     "[resources]\nstack = '32M'\n")
    assert lind_command(tmp_path, "policy", "embed", program, tmp_path / "p.toml")[0] == 0
    rc, out, err = lind_command(tmp_path, "inspect", program)
    assert ("  stack: 32 MiB (RLIMIT_STACK; a cage's, at most the stack its program was "
            "linked with)") in out.splitlines(), out
    (tmp_path / "root").mkdir()
    rc, out, err = lind_command(tmp_path, "run", program, "limits")
    assert (rc, out, err) == (0, "soft 33554432 hard unlimited\n", "")
    rc, out, err = lind_command(tmp_path, "run", program, "wide", "10000", "2")
    assert (rc, out, err) == (0, "wide 10000\n", "")
    rc, out, err = lind_command(tmp_path, "run", "--stack", "1M", program, "limits")
    assert (rc, out) == (0, "soft 1048576 hard unlimited\n"), err
    rc, out, err = lind_command(tmp_path, "run", "--stack", "64M", program, "limits")
    assert rc != 0 and "stack 64 MiB (the policy says 32 MiB)" in err, err
    (tmp_path / "n.toml").write_text("version = 1\n[resources]\nstack = '200K'\n")
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-m", "lind", "isolate", "--policy",
                            tmp_path / "n.toml", "--", "sh", "-c", "ulimit -s")
    assert (rc, out) == (0, "200\n"), err


def test_native_cpu_time_and_what_a_native_program_cannot_get(tmp_path):
    (tmp_path / "cpu.toml").write_text("version = 1\n[resources]\ncpu_time = 1\n")
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-m", "lind", "isolate",
                            "--policy", tmp_path / "cpu.toml", "--", "sh", "-c", "while :; do :; done")
    assert rc == 128 + 24, (rc, out, err)
    (tmp_path / "procs.toml").write_text("version = 1\n[resources]\nprocesses = 4\n")
    rc, out, err = lind_env(tmp_path, _env(), sys.executable, "-m", "lind", "isolate",
                            "--policy", tmp_path / "procs.toml", "--", "sh", "-c",
                            "for i in 1 2 3 4 5 6; do sleep 1 & done 2>/dev/null; "
                            "echo $(jobs -p | wc -l); wait")
    try:
        cgroup.create(cgroup.limit_files(None, 5)).rmdir()
    except cgroup.Unavailable as exc:      # this machine: no pids controller in cgroup v2
        assert (rc, out) == (125, "")
        assert err == ("lind: isolate: a process count needs a cage (lind run) or a cgroup "
                       f"for the native program, and {exc.strerror}\n")
    else:
        assert (rc, out) == (0, "3\n"), err     # sh and three sleeps: pids.max 5 with init


def test_a_policy_grants_nothing_beyond_what_ships_with_its_program(app, tmp_path):
    """A directory beside the program that is a symbolic link out of it is refused at
    start; the host's network is the person's to grant (--net host), not the policy's."""
    (app.parent / "escape").symlink_to(tmp_path / "other")
    (tmp_path / "escape.toml").write_text(
        "version = 1\n[filesystem]\nmounts = [{ host = 'escape', path = '/x', mode = 'rw' }]\n")
    assert lind_command(tmp_path, "policy", "embed", app, tmp_path / "escape.toml")[0] == 0
    rc, out, err = lind_command(tmp_path, "run", app)
    assert (rc, out) == (2, "")
    assert err == (f"lind: {app}: its policy's 'escape' leads out of the program's directory "
                   f"({tmp_path / 'other'})\n")
    rc, out, err = lind_command(tmp_path, "run", "--isolate", app)
    assert (rc, out) == (2, "") and "leads out of the program's directory" in err
    (app.parent / "escape").unlink()
    rc, out, err = lind_command(tmp_path, "run", app)
    assert (rc, out, err) == (2, "", f"lind: {app}: its policy's 'escape' ({app.parent / 'escape'}) "
                                     "is not a directory beside the program\n")
    # the program's own directory holds whatever was put beside it (~/Downloads):
    # a policy's root = "." made all of it the cage's, read-write (red-team pass)
    (app.parent / "escape").symlink_to(".")
    rc, out, err = lind_command(tmp_path, "run", app)
    assert (rc, out, err) == (2, "", f"lind: {app}: its policy's 'escape' is the program's "
                                     "own directory, not one inside it\n")
    (app.parent / "escape").unlink()
    (tmp_path / "host.toml").write_text("version = 1\n[network]\nmode = 'host'\n")
    assert lind_command(tmp_path, "policy", "embed", app, tmp_path / "host.toml")[0] == 0
    rc, out, err = lind_command(tmp_path, "run", app)
    assert (rc, out, err) == (2, "", f"lind: {app}: its policy asks for the host's network, "
                                     "which only the person running it can grant: --net host\n")
    rc, out, err = lind_command(tmp_path, "run", "--net", "host", app)
    assert rc == 0 and "socket: ok" in out, (rc, out, err)
    rc, out, err = lind_command(tmp_path, "isolate", "--policy", tmp_path / "host.toml", "--", "true")
    assert (rc, out) == (2, "") and "only the person running it can grant: --net host" in err
    assert lind_command(tmp_path, "isolate", "--net", "host", "--policy", tmp_path / "host.toml",
                        "--", "true")[0] == 0
    untouched(tmp_path)


def test_lind_run_cannot_give_a_policy_the_isolation_it_asks_for(app, tmp_path):
    """lind.run runs cages in the caller's own process, which it does not isolate: a
    policy asking for it is refused there (override_policy runs it and says so);
    `lind run` gives it."""
    (tmp_path / "isolated.toml").write_text("version = 1\n[host]\nisolate = true\n")
    assert lind_command(tmp_path, "policy", "embed", app, tmp_path / "isolated.toml")[0] == 0
    with pytest.raises(lind.PolicyViolation, match="no host isolation"):
        lind.run([app], capture_output=True)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert lind.run([app], capture_output=True, override_policy=True).returncode == 0
    assert any("no host isolation" in str(w.message) for w in seen)
    rc, out, err = lind_command(tmp_path, "run", app)
    assert (rc, err) == (0, ""), err


def test_cgroup_files_and_where_they_go(tmp_path):
    """The pure part of the cgroup layer, on a fake tree: the own cgroup from
    /proc/self/cgroup and mountinfo, the controllers asked of the parent, the limits
    written (memory.swap.max only where the kernel has it)."""
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cgroup").write_text("4:memory:/x\n0::/user.slice/lind.scope\n")
    (proc / "mountinfo").write_text(
        "24 1 0:22 / /sys/fs/cgroup/v1 rw - cgroup cgroup rw,memory\n"
        f"25 1 0:23 /user.slice {tmp_path}/cg rw,nosuid - cgroup2 cgroup2 rw\n")
    (tmp_path / "cg" / "lind.scope").mkdir(parents=True)
    assert cgroup.own_cgroup(proc) == tmp_path / "cg" / "lind.scope"
    (proc / "cgroup").write_text("4:memory:/x\n")
    with pytest.raises(cgroup.Unavailable, match="in no cgroup v2 hierarchy"):
        cgroup.own_cgroup(proc)

    assert cgroup.limit_files(64 << 20, 5) == {"memory.max": str(64 << 20),
                                               "memory.swap.max": "0", "pids.max": "5"}
    assert cgroup.limit_files(None, None) == {}
    base = tmp_path / "base"
    base.mkdir()
    (base / "cgroup.controllers").write_text("cpu memory\n")
    (base / "cgroup.subtree_control").write_text("cpu\n")
    with pytest.raises(cgroup.Unavailable, match=f"subtree {base} offers no pids controller"):
        cgroup.create(cgroup.limit_files(1 << 20, 3), base)
    made = cgroup.create(cgroup.limit_files(1 << 20, None), base)
    assert made == base / f"lind-{os.getpid()}"
    assert (made / "memory.max").read_text() == "1048576"
    assert not (made / "memory.swap.max").exists()
    assert (base / "cgroup.subtree_control").read_text() == "+memory"   # what the kernel is told
