"""The start-up server behind `lind run` (src/lind/cli/server.py): a run it takes is the
run `lind run` would have made in its own process, it ends with the `lind` that asked
for it, it serves only the identity that started it, and no cage can reach it.
(test_cli.py runs each of its tests through a server too.)"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CANARY, is_compile_server
from test_attacks import attack, make_root, results, untouched

from lind.cli import launch

LIND = [sys.executable, "-m", "lind"]


def _status() -> list[tuple[int, str, int]]:
    """`lind server status` as (pid, identity, runs taken), one per server."""
    out = subprocess.run([*LIND, "server", "status"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    if out == "no server running\n":
        return []
    return [(int(pid), key, int(runs)) for pid, key, runs, _ in map(str.split, out.splitlines())]


def _all_children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            if int(entry.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.parent.name))
    return kids


def _children(pid: int) -> list[int]:
    """The server's runs and spare (not its compile server)."""
    return [kid for kid in _all_children(pid) if not is_compile_server(kid)]


def test_runs_compile_through_the_server_s_compile_server(builds, tmp_path, servers):
    """The server starts one compile server, which its runs share: a program no cache
    holds is compiled by a fork of it (its reaped children's page faults grow), not
    by a Python each run would start."""
    subprocess.run([*LIND, "run", str(builds.wasm("args_env"))], capture_output=True,
                   timeout=120, check=True)
    (server, _, _), = _status()
    compile_server, = (kid for kid in _all_children(server) if is_compile_server(kid))
    before = _children_faults(compile_server)
    new = tmp_path / "new.wasm"      # a custom section more: a program no cache holds
    new.write_bytes(builds.wasm("args_env").read_bytes() + b"\0\x0a\x04test" + os.urandom(5))
    done = subprocess.run([*LIND, "run", str(new), "9"], capture_output=True, timeout=120)
    assert done.returncode == 9 and b"argv[1]=9\n" in done.stdout, done.stderr
    assert _children_faults(compile_server) > before
    assert [kid for kid in _all_children(server) if is_compile_server(kid)] == [compile_server]


def _children_faults(pid: int) -> int:
    """cminflt: the minor page faults of pid's children it has waited for."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[8])


def _runs_taken() -> int:
    return sum(runs for _, _, runs in _status())


def test_a_run_through_the_server_is_the_run_lind_makes_itself(builds, tmp_path, servers):
    """Relative paths from the caller's directory, the files the program makes (under
    the caller's umask), the program's status and output: the same with and without
    the server, and the server did take the run."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.txt").write_text("from the host\n")
    prog = builds.wasm("mounts")
    seen = {}
    for how in ("server", "in-process"):
        root = make_root(tmp_path, f"root-{how}")
        env = dict(os.environ, LIND_NO_SERVER="1") if how == "in-process" else None
        before = _runs_taken()
        proc = subprocess.run([*LIND, "run", "--root", root.name, "--mount", "data:/data:ro",
                               str(prog)], cwd=tmp_path, capture_output=True, umask=0o077,
                              env=env, timeout=120)
        assert _runs_taken() == before + (how == "server"), how
        made = root / "root-file.txt"
        seen[how] = (proc.returncode, proc.stdout, proc.stderr, stat.S_IMODE(made.stat().st_mode))
    assert seen["server"] == seen["in-process"]
    assert seen["server"][0] == 0 and b"read: from the host\n" in seen["server"][1]


def test_the_program_gets_the_callers_stdin_and_exit_status(builds, tmp_path, servers):
    proc = subprocess.run([*LIND, "run", str(builds.wasm("args_env")), "7", "x"],
                          input=b"", capture_output=True, timeout=120)
    assert proc.returncode == 7 and b"argv[2]=x\n" in proc.stdout
    usage = subprocess.run([*LIND, "run", "--no-such-option"], capture_output=True,
                           timeout=60)
    assert usage.returncode == 2 and b"unrecognized arguments" in usage.stderr
    assert b"Traceback" not in usage.stderr


def _waiting_run(builds, tmp_path, *args) -> tuple[subprocess.Popen, int]:
    """`lind run` of host_signals through the server, once the program is ready: the
    client and the server's child running it."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen([*LIND, "run", str(builds.wasm("posix/host_signals")), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout.readline() == b"ready\n"
    (server, _, _), = _status()
    child, = _children(server)
    return proc, child


def test_a_run_ends_with_the_lind_that_asked_for_it(builds, tmp_path, servers):
    """SIGKILL of the client (which no handler sees) ends the run, as it ends a run
    in lind's own process; the server goes on."""
    proc, child = _waiting_run(builds, tmp_path)
    assert os.path.exists(f"/proc/{child}")
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{child}"), "the run outlived its lind"
    assert len(_status()) == 1


def test_a_run_killed_in_the_server_ends_its_lind_by_the_same_signal(builds, tmp_path, servers):
    """The server's child running it killed by SIGKILL: `lind run` dies of SIGKILL too,
    as the run in its own process would (it raised EINVAL setting SIGKILL's handler)."""
    proc, child = _waiting_run(builds, tmp_path)
    os.kill(child, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    assert b"Traceback" not in err


def test_stopping_the_server_lets_a_run_finish(builds, tmp_path, servers):
    """`lind server stop`: no new runs, the running one ends normally with its status
    (signals still reach it through its client), then the server is gone."""
    proc, _ = _waiting_run(builds, tmp_path, "handle")
    subprocess.run([*LIND, "server", "stop"], check=True, timeout=60)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGWINCH):
        proc.send_signal(sig)
        assert proc.stdout.readline() == f"got {int(sig)}\n".encode()
    assert proc.wait(timeout=30) == 0
    assert proc.stderr.read() == b""
    deadline = time.monotonic() + 30
    while _status() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _status() == []


def test_another_identity_gets_another_server(builds, servers):
    """A caller with lower limits (or other credentials, cgroup, namespaces...) is not
    served by a server that has more: it starts its own."""
    import resource

    def lower() -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 512), min(hard, 512)))

    assert len(_status()) == 1
    subprocess.run([*LIND, "server", "start"], preexec_fn=lower, check=True, timeout=120)
    assert len(_status()) == 2
    proc = subprocess.run([*LIND, "run", str(builds.wasm("args_env")), "3"],
                          preexec_fn=lower, capture_output=True, timeout=120)
    assert proc.returncode == 3
    assert sorted(runs for _, _, runs in _status()) == [0, 1]


@pytest.mark.parametrize("how", ["group-writable", "another-users"])
def test_no_server_where_its_directory_is_not_private(builds, tmp_path, monkeypatch, how):
    """Another user who could write the directory could stand in for a server and take
    the caller's stdio: Lind then runs the program itself and starts none."""
    monkeypatch.delenv("LIND_NO_SERVER", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = tmp_path / f"lind-servers-{os.geteuid()}"
    folder.mkdir(mode=0o700)
    if how == "group-writable":
        folder.chmod(0o770)
    else:
        os.chown(folder, 65534, 65534)
    proc = subprocess.run([*LIND, "run", str(builds.wasm("args_env")), "4"],
                          capture_output=True, timeout=120)
    assert proc.returncode == 4
    time.sleep(0.5)
    assert list(folder.iterdir()) == []
    status = subprocess.run([*LIND, "server", "status"], capture_output=True, text=True,
                            timeout=60)
    assert status.returncode == 2 and "no private directory" in status.stderr


def test_a_cage_cannot_reach_a_server_or_make_it_write_through_its_files(
        builds, tmp_path, servers, canary):
    """A cage shown the servers' directory (a mount of XDG_RUNTIME_DIR): connecting to a
    server by its abstract name finds nothing (a cage's abstract names are its
    Runtime's), and symlinks it puts where a server makes its files do not make the
    next server write the host file they name."""
    root = make_root(tmp_path)
    out = tmp_path / "attack.out"
    with open(tmp_path / "attack.in", "wb+") as scratch, open(out, "wb") as sink:
        proc = subprocess.run([*LIND, "run", "--root", str(root), "--mount", f"{servers}:/srv",
                               str(builds.wasm(attack("server_reach"))), "/srv", str(canary),
                               launch.address(str(servers), "")[1:]], stdin=scratch,
                              stdout=sink, stderr=scratch,
                              timeout=120)
    text = out.read_text()
    assert proc.returncode == 0, text
    assert "keys 1\n" in text
    got = results("\n".join(line.split(" ", 1)[1] for line in text.splitlines()
                            if line.startswith(("connect", "plant"))))
    key = next(iter(k for k in got if k not in ("log", "failed")))
    assert got[key][0] == -1, "a cage connected to the server"
    assert got["log"] == got["failed"] == (0, 0)          # planted, as a cage may
    subprocess.run([*LIND, "server", "stop"], check=True, timeout=60)
    deadline = time.monotonic() + 30
    while _status() and time.monotonic() < deadline:
        time.sleep(0.05)
    subprocess.run([*LIND, "server", "start"], check=True, timeout=120)   # through them
    proc = subprocess.run([*LIND, "run", str(builds.wasm("args_env")), "5"],
                          capture_output=True, timeout=120)
    assert proc.returncode == 5 and len(_status()) == 1
    untouched(canary)
    assert canary.read_bytes() == CANARY
    assert not (servers / f"{key}.log").is_symlink()


# A process of the server's user that the kernel allows less: it finds the server's name
# in /proc/net/unix and asks for a run that mounts a directory it cannot see. The request
# was made beforehand (request.bin: header and fields); its fds are its own stdio and cwd.
ASK_FOR_A_RUN = """\
import ctypes, os, socket, sys
if sys.argv[1] == "seccomp":       # a filter that allows everything: allowed less all the same
    from lind.isolation import host
    program = host.seccomp_program({}, host.SECCOMP_RET_ALLOW)
    buffer = ctypes.create_string_buffer(program)
    fprog = (ctypes.c_ushort * 4)(len(program) // 8, 0, 0, 0)
    prog = ctypes.create_string_buffer(bytes(fprog) + ctypes.addressof(buffer).to_bytes(8, "little"))
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(38, 1, 0, 0, 0) == 0 and libc.prctl(22, 2, prog, 0, 0) == 0
name = next(line.split()[-1] for line in open("/proc/net/unix") if sys.argv[2] in line)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(b"\\0" + name[1:].encode())
request = open("request.bin", "rb").read()
cwd = os.open(".", os.O_PATH | os.O_DIRECTORY)
s.sendmsg([request[:22]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           b"".join(fd.to_bytes(4, "little") for fd in (0, 1, 2, cwd)))])
try:
    s.sendall(request[22:])
    print("server said", s.recv(5)[:1])
except OSError as exc:
    print("server said", exc.strerror)
"""


@pytest.mark.parametrize("how", ["seccomp", "isolated"])
def test_a_process_allowed_less_cannot_have_the_server_run_for_it(builds, tmp_path, servers,
                                                                  canary, how):
    """The socket's name is no secret (/proc/net/unix lists it) and its key is the
    client's word: a process of the same user under a seccomp filter, or inside `lind
    isolate` with the host's network, asked the server to run a program with a mount of
    a directory it cannot reach, and got it run, as the user outside (under `lind
    isolate`, as host root). The server reads each client's identity itself."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "file.txt").write_bytes(CANARY)
    app = tmp_path / "app"
    app.mkdir()
    argv = ["run", "--root", str(make_root(tmp_path)), "--mount", f"{victim}:/v", "--",
            str(builds.wasm(attack("writes"))), "/v"]
    data = launch.encode_request(argv)
    (app / "request.bin").write_bytes(launch.PROTOCOL + launch.RUN + len(data).to_bytes(4, "little")
                                      + (7).to_bytes(4, "little") + data)
    (app / "ask.py").write_text(ASK_FOR_A_RUN)
    (app / "policy.toml").write_text('version = 1\n[network]\nmode = "host"\n')
    name = launch.address(str(servers), "")[1:].decode()
    runs = _runs_taken()
    command = ([sys.executable, "ask.py", how, name] if how == "seccomp" else
               [*LIND, "isolate", "--net", "host", "--policy", "policy.toml", "--", "python3",
                "ask.py", how, name])
    with open(tmp_path / "ask.in", "wb+") as scratch, open(tmp_path / "ask.out", "wb+") as out:
        proc = subprocess.run(command, cwd=app, stdin=scratch, stdout=out, stderr=out,
                              timeout=120)
        out.seek(0)
        said = out.read().decode()
    assert proc.returncode == 0, said
    assert said.splitlines()[-1] in ("server said b''", "server said Connection reset by peer",
                                     "server said Broken pipe"), said     # closed, no pid
    assert _runs_taken() == runs
    assert [p.name for p in victim.iterdir()] == ["file.txt"]
    assert (victim / "file.txt").read_bytes() == CANARY
    untouched(canary)


# Eight connections to the server that send the first byte of a request, then nothing
# more for argv[2] seconds.
SLOW_CLIENT = """\
import socket, sys, time
name = next(line.split()[-1] for line in open("/proc/net/unix") if sys.argv[1] in line)
conns = []
for _ in range(8):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(b"\\0" + name[1:].encode())
    s.send(b"l")
    conns.append(s)
print("connected", flush=True)
time.sleep(int(sys.argv[2]))
"""


def test_a_client_that_sends_slowly_holds_up_no_run(builds, tmp_path, servers):
    """The server read each request whole before it looked at anything else, waiting
    up to 10 s for each byte: any process of the user that opened a few connections and
    sent a byte now and then held every `lind run` of that user (29 s for hello, for
    ever with a byte every few seconds; 10 s a connection since this session's first
    fix, so 80 s for these eight). Requests are read as they come now."""
    name = launch.address(str(servers), "")[1:].decode()
    with open(tmp_path / "slow.in", "wb+") as scratch, open(tmp_path / "slow.err", "wb") as err:
        slow = subprocess.Popen([sys.executable, "-c", SLOW_CLIENT, name, "40"],
                                stdin=scratch, stdout=subprocess.PIPE, stderr=err)
    try:
        assert slow.stdout.readline() == b"connected\n"
        proc = subprocess.run([*LIND, "run", str(builds.wasm("args_env")), "3"],
                              capture_output=True, timeout=120)
        assert proc.returncode == 3, proc.stderr
        assert slow.poll() is None, "the run waited until the slow client was done"
    finally:
        slow.kill()
        slow.wait()
    assert _runs_taken() >= 1


def test_a_server_gone_before_the_run_started_leaves_it_to_lind(builds, tmp_path, monkeypatch):
    """A server that takes the request and closes without starting the run (it failed,
    or is stopping): the program runs once, in lind's own process."""
    import socket
    import threading

    monkeypatch.delenv("LIND_NO_SERVER", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = launch.server_dir()
    assert folder is not None
    fake = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fake.bind(launch.address(folder, launch.identity()))
    fake.listen(8)
    taken = []

    def serve() -> None:
        conn, _ = fake.accept()
        taken.append(conn.recv(1 << 16))
        conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        proc = subprocess.run([*LIND, "run", str(builds.wasm("args_env")), "3", "once"],
                              capture_output=True, timeout=120)
    finally:
        thread.join(timeout=30)
        fake.close()
    assert taken and taken[0].startswith(launch.PROTOCOL + launch.RUN)
    assert proc.returncode == 3 and proc.stdout.count(b"argv[2]=once\n") == 1, proc.stderr


def _spare(server: int) -> int:
    """The server's one child while it has no run: the spare that takes the next run."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = _children(server)
        if len(children) == 1:
            return children[0]
        time.sleep(0.05)
    raise AssertionError(f"no spare: {_children(server)}")


def test_a_run_is_taken_by_the_spare_made_before_it(builds, tmp_path, servers):
    """While it has no run, the server keeps a spare child that has made the engine and
    the rest of what every run makes first: the next run is that child, and is the run
    lind makes itself (a wasm trap stays the cage's SIGSEGV: the engine's trap handlers
    outlive the caller's signal dispositions the run takes). A second run at the same
    time gets a child forked for it; a spare that dies (the OOM killer, say) is replaced,
    but not for ever; `lind server stop` ends the spare."""
    (server, _, _), = _status()
    spare = _spare(server)
    proc, child = _waiting_run(builds, tmp_path, "handle")
    assert child == spare
    beside = subprocess.run([*LIND, "run", str(builds.wasm("args_env")), "4", "beside"],
                            capture_output=True, timeout=120)
    assert beside.returncode == 4 and b"argv[2]=beside\n" in beside.stdout, beside.stderr
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
        proc.send_signal(sig)
        assert proc.stdout.readline() == f"got {int(sig)}\n".encode()
    assert proc.wait(timeout=30) == 0 and proc.stderr.read() == b""
    trap = subprocess.run([*LIND, "run", str(builds.wasm("traps")), "segv"],
                          capture_output=True, timeout=120)
    assert trap.returncode == 128 + signal.SIGSEGV and b"killed by SIGSEGV" in trap.stderr
    spare = _spare(server)
    os.kill(spare, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while _children(server) in ([], [spare]) and time.monotonic() < deadline:
        time.sleep(0.05)
    replaced = _spare(server)
    assert replaced != spare
    done = subprocess.run([*LIND, "run", str(builds.wasm("args_env")), "5"],
                          capture_output=True, timeout=120)
    assert done.returncode == 5, done.stderr
    # Spares that die in a row (one that crashed as it started would be made for ever):
    # after three, runs are forked as they come, and one more spare is tried after each.
    for _ in range(3):
        lost = _spare(server)
        os.kill(lost, signal.SIGKILL)
        while os.path.exists(f"/proc/{lost}") and time.monotonic() < deadline + 60:
            time.sleep(0.05)
    time.sleep(1)
    assert _children(server) == []
    done = subprocess.run([*LIND, "run", str(builds.wasm("args_env")), "6"],
                          capture_output=True, timeout=120)
    assert done.returncode == 6, done.stderr
    last = _spare(server)
    subprocess.run([*LIND, "server", "stop"], check=True, timeout=60)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{last}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{last}")
