"""lind.run takes what subprocess.run takes, and answers as it does: each case runs the
same program natively through subprocess.run and in a cage through lind.run."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest

import lind

DATA = "alpha\r\nbeta\ngamma\n"


def both(builds, tmp_path, **kw):
    native = subprocess.run([str(builds.native("stdin_echo"))], timeout=60, cwd=tmp_path, **kw)
    caged = lind.run(str(builds.wasm("stdin_echo")), root=tmp_path, timeout=60, **kw)
    return native, caged


@pytest.mark.parametrize("mode", [{"text": True}, {"universal_newlines": True},
                                  {"encoding": "utf-8"}, {"errors": "replace"}])
def test_text_mode_decodes_and_translates_newlines(builds, tmp_path, mode):
    native, caged = both(builds, tmp_path, input=DATA, capture_output=True, **mode)
    assert isinstance(caged.stdout, str) and isinstance(caged.stderr, str)
    assert (caged.stdout, caged.stderr) == (native.stdout, native.stderr)
    assert caged.stdout == "1: alpha\n2: beta\n3: gamma\n"     # \r\n became \n


def test_bytes_mode_keeps_bytes_and_refuses_text_input(builds, tmp_path):
    native, caged = both(builds, tmp_path, input=DATA.encode(), capture_output=True)
    assert caged.stdout == native.stdout == b"1: alpha\r\n2: beta\n3: gamma\n"
    with pytest.raises(TypeError):
        lind.run(str(builds.wasm("stdin_echo")), input="text", capture_output=True)


def test_a_pipe_given_input_holds_it_before_any_pump():
    from lind.api import _Pipe
    small = _Pipe(feed=b"abc")
    empty = _Pipe(feed=b"")
    for p in (small, empty):
        os.set_blocking(p.read_fd, False)         # data or its end, or BlockingIOError
    assert os.read(small.read_fd, 10) == b"abc" and os.read(small.read_fd, 10) == b""
    assert os.read(empty.read_fd, 10) == b""
    big = _Pipe(feed=b"y" * 300_000)
    assert 0 < len(big.feed) < 300_000            # what did not fit waits for the pump
    for p in (small, empty, big):
        os.close(p.read_fd)
    os.close(big.write_fd)


def test_stderr_to_stdout_and_devnull(builds, tmp_path):
    native, caged = both(builds, tmp_path, input=b"x\n", stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    assert caged.stderr is None and native.stderr is None
    assert sorted(caged.stdout.splitlines()) == sorted(native.stdout.splitlines())
    assert b"lines=1 tty=0" in caged.stdout
    native, caged = both(builds, tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    assert caged.stdout is None and caged.stderr == native.stderr == b"lines=0 tty=0\n"


def test_streams_as_files_and_fds(builds, tmp_path):
    (tmp_path / "in.txt").write_text("one\ntwo\n")
    with open(tmp_path / "in.txt", "rb") as fin, open(tmp_path / "out.txt", "wb") as fout:
        result = lind.run([builds.wasm("stdin_echo")], stdin=fin, stdout=fout.fileno(),
                          stderr=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 0
    assert (tmp_path / "out.txt").read_text() == "1: one\n2: two\n"


def test_programs_that_cannot_start_raise_what_subprocess_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        subprocess.run([str(tmp_path / "missing")])
    with pytest.raises(FileNotFoundError) as missing:
        lind.run(str(tmp_path / "missing.wasm"))
    assert missing.value.errno == errno.ENOENT
    junk = tmp_path / "junk.wasm"
    junk.write_text("not a module\n")
    with pytest.raises(OSError) as bad:
        lind.run([junk])
    assert bad.value.errno == errno.ENOEXEC and "not a WebAssembly module" in str(bad.value)


@pytest.mark.parametrize("backend", ["host", "portable", "cooperative"])
def test_list_arguments_given_one_item_or_a_pair_say_what_they_take(builds, tmp_path, backend):
    """A bare string for mounts=, grates= or publish= was taken a character at a time
    ("bad mount 'd'", "unknown grate 's'"), a (host, guest) mount an AttributeError
    ('tuple' object has no attribute 'split')."""
    (tmp_path / "data").mkdir()
    for mounts, said in [(f"{tmp_path / 'data'}:/data", "mounts is a list, not one item"),
                         ([(str(tmp_path / "data"), "/data")], "a mount is \"HOST:/GUEST")]:
        with pytest.raises(TypeError, match=said):
            lind.run([builds.wasm("args_env")], mounts=mounts, backend=backend,
                     capture_output=True)
    done = lind.run([builds.wasm("args_env")], mounts=[lind.MountSpec(str(tmp_path / "data"),
                    "/data")], backend=backend, capture_output=True)
    assert done.returncode == 0, done.stderr
    for name, one in [("grates", "strace"), ("publish", "8080:80")]:   # "unknown grate 's'"
        if backend != "cooperative" or name == "grates":
            with pytest.raises(TypeError, match=f"{name} is a list, not one item"):
                lind.run([builds.wasm("args_env")], backend=backend, **{name: one})


def test_an_argument_or_variable_with_a_null_byte_raises_as_for_subprocess(builds, tmp_path):
    """A C string ends at its first NUL: refused before anything starts (no cage, no
    directory, no process slot kept), as subprocess refuses it."""
    with pytest.raises(ValueError, match="embedded null byte"):
        subprocess.run([str(builds.native("stdin_echo")), "a\0b"])
    for args, env in ((["a\0b"], None), (["a"], {"K": "v\0w"}), ([], {"K\0": "v"})):
        with lind.Runtime(max_cages=1) as rt:
            closed = {"stdin": None, "stdout": None, "stderr": None}
            with pytest.raises(ValueError, match="embedded null byte"):
                rt.spawn(builds.wasm("stdin_echo"), args, env=env, root=tmp_path, **closed)
            rt.spawn(builds.wasm("stdin_echo"), root=tmp_path, **closed)   # its one slot is free
    assert lind.run([builds.wasm("stdin_echo"), "fine"], root=tmp_path, input=b"ok",
                    capture_output=True, timeout=60).stdout == b"1: ok"


def test_a_variable_name_with_an_equals_sign_raises_as_for_subprocess(builds, tmp_path):
    with pytest.raises(ValueError, match="illegal environment variable name"):
        subprocess.run([str(builds.native("stdin_echo"))], env={"A=B": "c"})
    with pytest.raises(ValueError, match="illegal environment variable name"):
        lind.run([builds.wasm("stdin_echo")], root=tmp_path, env={"A=B": "c"})


def test_a_working_directory_that_is_not_there_raises(builds, tmp_path):
    with pytest.raises(FileNotFoundError):
        subprocess.run([str(builds.native("stdin_echo"))], cwd=tmp_path / "nope")
    with pytest.raises(FileNotFoundError):
        lind.run([builds.wasm("stdin_echo")], root=tmp_path, cwd="/nope")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        lind.run([builds.wasm("stdin_echo")], root=tmp_path, cwd="/file")
    assert lind.run([builds.wasm("stdin_echo")], cwd="/dev", stdin=subprocess.DEVNULL,
                    capture_output=True, timeout=60).returncode == 0
    cli = subprocess.run([sys.executable, "-m", "lind", "run", "--root", str(tmp_path),
                          "--cwd", "/nope", str(builds.wasm("stdin_echo"))],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2                          # a usage error, as a bad --root
    assert cli.stderr == "lind: working directory /nope: No such file or directory\n"


def test_a_runtime_as_a_context_manager_ends_its_cages(builds, tmp_path, no_cage_left):
    with lind.Runtime() as rt:
        cages = [rt.spawn(builds.wasm("traps"), ["spin"], root=str(tmp_path)) for _ in range(3)]
        assert all(c.wait(0.2) is None for c in cages)     # spinning when the block ends
    assert [c.returncode for c in cages] == [-9, -9, -9]
    no_cage_left()


# ------------------------------------------------------------------ lind.Popen

def test_popen_communicate_matches_subprocess(builds, tmp_path):
    native = subprocess.Popen([str(builds.native("stdin_echo"))], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with lind.Popen(builds.wasm("stdin_echo"), stdin=lind.PIPE, stdout=lind.PIPE,
                    stderr=lind.PIPE, text=True, root=tmp_path) as caged:
        assert caged.pid > 0
        got = caged.communicate(DATA, timeout=60)
    assert got == native.communicate(DATA, timeout=60)
    assert caged.returncode == native.returncode == 0


def test_popen_pipes_signals_and_waits(builds, tmp_path, no_cage_left):
    """Read the program's stdout as it goes, send it signals its handlers take, and
    terminate (SIGTERM handled), kill, wait with a timeout and poll as subprocess does."""
    with lind.Popen([builds.wasm("posix/host_signals"), "handle"], stdout=lind.PIPE,
                    stdin=lind.DEVNULL, root=tmp_path) as p:
        assert p.stdout.readline() == b"ready\n"
        p.send_signal(signal.SIGUSR1)
        assert p.stdout.readline() == b"got 10\n"
        p.terminate()                                   # handled: it goes on
        assert p.stdout.readline() == b"got 15\n"
        assert p.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            p.wait(timeout=0.2)
        p.send_signal(signal.SIGHUP)                    # the third: it exits
        assert p.wait(timeout=60) == 0
    assert p.stdout.closed
    with lind.Popen([builds.wasm("traps"), "spin"], root=tmp_path) as spinner:
        assert spinner.poll() is None
        spinner.kill()
    assert spinner.returncode == -signal.SIGKILL
    with lind.Popen([builds.wasm("traps"), "spin"], root=tmp_path) as spinner:
        spinner.terminate()
    assert spinner.returncode == -signal.SIGTERM
    no_cage_left()


def test_popen_communicate_timeout_keeps_what_was_read(builds, tmp_path):
    with lind.Popen([builds.wasm("posix/host_signals")], stdout=lind.PIPE, stdin=lind.DEVNULL,
                    root=tmp_path) as p:
        with pytest.raises(subprocess.TimeoutExpired) as late:
            p.communicate(timeout=0.5)
        assert late.value.stdout == b"ready\n"
        p.kill()
        out, err = p.communicate(timeout=60)
    assert (out, err, p.returncode) == (b"ready\n", None, -signal.SIGKILL)


def test_create_subprocess_exec_runs_many_cages_on_one_event_loop(builds, tmp_path):
    """asyncio's create_subprocess_exec, in cages: streams, communicate, wait, signals;
    and forty cages waited for at once by one event loop without a thread each."""
    async def main() -> None:
        p = await lind.create_subprocess_exec(builds.wasm("stdin_echo"), stdin=lind.PIPE,
                                              stdout=lind.PIPE, stderr=lind.PIPE, root=tmp_path)
        out, err = await p.communicate(b"a\nb\n")
        assert (out, err, p.returncode) == (b"1: a\n2: b\n", b"lines=2 tty=0\n", 0)

        q = await lind.create_subprocess_exec(builds.wasm("posix/host_signals"), "handle",
                                              stdin=lind.DEVNULL, stdout=lind.PIPE, root=tmp_path)
        assert await q.stdout.readline() == b"ready\n"
        for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGHUP):
            q.send_signal(sig)
            assert await q.stdout.readline() == f"got {sig}\n".encode()
        assert await q.wait() == 0

        threads = threading.active_count()
        spinners = [await lind.create_subprocess_exec(builds.wasm("traps"), "spin", root=tmp_path)
                    for _ in range(40)]
        waits = [asyncio.ensure_future(s.wait()) for s in spinners]
        await asyncio.sleep(0.2)
        assert not any(w.done() for w in waits)
        assert threading.active_count() <= threads + 40 + 2     # the cages' own, no waiters
        for s in spinners:
            s.kill()
        assert await asyncio.gather(*waits) == [-signal.SIGKILL] * 40

    asyncio.run(main())


def test_pass_fds_gives_the_program_those_descriptors_as_subprocess_does(builds, tmp_path):
    """pass_fds: a file for writing, a pipe's read end and a file for reading and writing
    reach the program at the same numbers with their access modes, and no other host
    descriptor does; the native build run by subprocess.run says the same."""
    def run(runner, program):
        out_file = tmp_path / f"{runner.__module__}.out"
        both = tmp_path / f"{runner.__module__}.both"
        both.write_bytes(b"")
        r, w = os.pipe()
        os.write(w, b"through the pipe\n")
        os.close(w)
        with open(out_file, "wb") as out, open(both, "r+b") as rw, open(both, "rb") as stray:
            fds = [out.fileno(), r, rw.fileno()]
            try:
                result = runner([program, *map(str, fds), f"!{stray.fileno()}"],
                                capture_output=True, pass_fds=fds)
            finally:
                os.close(r)
            roles = {f"fd {fd}": f"fd <{i}>" for i, fd in enumerate(fds)}
            roles[f"fd {stray.fileno()}"] = "fd <stray>"

        def by_role(data: bytes) -> str:     # the numbers differ between the two runs
            text = data.decode()
            for number, role in roles.items():
                text = text.replace(number + ":", role + ":").replace(number + " ", role + " ")
                text = text.replace(number + "\n", role + "\n")
            return text

        return (result.returncode, by_role(result.stdout), by_role(out_file.read_bytes()),
                by_role(both.read_bytes()))

    caged = run(lind.run, str(builds.wasm("posix/pass_fds")))
    native = run(subprocess.run, str(builds.native("posix/pass_fds")))
    assert caged == native
    assert caged[1].splitlines() == [
        "fd <0>: write", "fd <1>: read", "fd <1>: read 17: through the pipe",
        "fd <2>: read-write", "fd <2>: read 0: ", "fd <stray> (not passed): Bad file descriptor"]
    assert caged[2:] == ("written to fd <0>\n", "written to fd <2>\n")


def test_sockets_handed_over_are_sockets_as_for_subprocess(builds):
    """A connected socket as stdin and a listening one in pass_fds (an inetd-style
    service): recv, send, write, shutdown, getsockname, SO_TYPE and accept work on them
    as natively, and waits on them end at a signal; the host's ends see the same."""
    def run(runner, program):
        ours, theirs = socket.socketpair()
        listener = socket.create_server(("127.0.0.1", 0))
        client = socket.create_connection(listener.getsockname())
        with ours, theirs, listener, client:
            ours.sendall(b"ping")
            client.sendall(b"hi")
            result = runner([program, str(listener.fileno())], stdin=theirs,
                            capture_output=True, pass_fds=[listener.fileno()], timeout=30)
            theirs.close()
            ours.settimeout(10)
            answer = b""
            while chunk := ours.recv(64):
                answer += chunk
        return result.returncode, result.stdout.decode(), result.stderr, answer

    caged = run(lind.run, str(builds.wasm("posix/inherited_sockets")))
    native = run(subprocess.run, str(builds.native("posix/inherited_sockets")))
    assert caged == native
    assert native[0] == 0 and native[3] == b"pong!"
    lines = native[1].splitlines()
    assert "stdin access mode 2 0" in lines and "got \"ping\"" in lines
    assert "client said \"hi\"" in lines
    assert lines[-1] == "blocking accept, nobody waiting, a signal -1 4"


@pytest.mark.parametrize("bad", [[1], [-1], [999]])
def test_pass_fds_refuses_what_cannot_be_passed(builds, bad):
    with pytest.raises((ValueError, OSError)):
        lind.run([str(builds.wasm("posix/pass_fds"))], pass_fds=bad)


_FORK_AFTER_A_RUN = r"""
import os, sys
import lind
program = sys.argv[1]
first = lind.run([program, "a", "b"], capture_output=True, timeout=60)
pid = os.fork()          # cages ran here: their host threads are parked now
if pid == 0:
    code = 3
    try:
        again = lind.run([program, "c"], capture_output=True, timeout=20)
        code = 0 if b"argv[1]=c\n" in again.stdout else 4
    finally:
        os._exit(code)
_, status = os.waitpid(pid, 0)
print(first.returncode, os.waitstatus_to_exitcode(status))
"""


def test_a_process_forked_after_runs_can_run_cages(builds, tmp_path):
    """A program that ran cages and then forks (multiprocessing's default on Linux) runs
    cages in the child too: the parent's parked host threads are not there, and no task
    waits for them."""
    proc = subprocess.run([sys.executable, "-c", _FORK_AFTER_A_RUN, str(builds.wasm("args_env"))],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "0 0\n"), proc.stderr
