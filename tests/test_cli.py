"""`lind run` as a person uses it: statuses, messages, mounts, bad input."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from conftest import is_compile_server, left_in

import lind

LIND = [sys.executable, "-m", "lind"]


@pytest.fixture(autouse=True, params=["in-process", "server"])
def launch(request):
    """Each test twice: `lind run` in the process it starts, and handed to a start-up
    server (whatever a person sees must be the same)."""
    if request.param == "server":
        request.getfixturevalue("servers")
    return request.param


def _running_cages(proc: subprocess.Popen, launch: str) -> int:
    """The pid of the process whose threads run the cages of `lind run` PROC: PROC
    itself, or the server's child it handed the run to."""
    if launch == "in-process":
        return proc.pid
    status = subprocess.run([*LIND, "server", "status"], capture_output=True, text=True,
                            timeout=60, check=True).stdout
    servers = {int(line.split()[0]) for line in status.splitlines()}
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) in servers and not is_compile_server(int(stat.parent.name)):
                children.append(int(stat.parent.name))
    assert len(children) == 1, children
    return children[0]


def lind_run(*args, **kw):
    return subprocess.run([*LIND, "run", *map(str, args)], capture_output=True, timeout=120, **kw)


def test_exit_status_and_output(builds):
    proc = lind_run("--env", "GREETING=cli", builds.wasm("args_env"), "5", "x")
    assert proc.returncode == 5
    assert b"argv[2]=x\n" in proc.stdout and b"GREETING=cli\n" in proc.stdout


def test_a_program_named_by_a_relative_path_in_its_root_finds_itself(builds, tmp_path):
    """argv[0] is the relative path the program was named by, as a shell passes it, when
    that path leads to the same file from the cage's working directory: libuv's test
    runner realpath()s its argv[0] and got ENOENT for the bare name Lind gave."""
    (tmp_path / "sub").mkdir()
    shutil.copy(builds.wasm("self_path"), tmp_path / "sub" / "self_path.wasm")
    shutil.copy(builds.native("self_path"), tmp_path / "sub" / "self_path")
    native = subprocess.run(["sub/self_path"], cwd=tmp_path, capture_output=True, timeout=60)
    caged = lind_run("--root", ".", "--cwd", "/", "sub/self_path.wasm", cwd=tmp_path)
    assert caged.returncode == 0, caged.stderr
    assert caged.stdout == native.stdout == (b"argv[0] relative: yes\n"
                                             b"realpath(argv[0]) is /proc/self/exe: yes\n")


def test_signal_gives_128_plus_n(builds):
    proc = lind_run(builds.wasm("traps"), "segv")
    assert proc.returncode == 128 + 11
    assert b"killed by SIGSEGV" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_missing_program(tmp_path):
    proc = lind_run(tmp_path / "nope.wasm")
    assert proc.returncode == 127
    assert proc.stderr.count(b"\n") == 1 and b"No such file" in proc.stderr


def test_not_a_module(tmp_path):
    bogus = tmp_path / "bogus.wasm"
    bogus.write_text("#!/bin/sh\necho hi\n")
    proc = lind_run(bogus)
    assert proc.returncode == 126
    assert b"not a WebAssembly module" in proc.stderr and b"Traceback" not in proc.stderr


def test_unknown_imports(tmp_path):
    mod = tmp_path / "foreign.wasm"
    mod.write_bytes(wasmtime.wat2wasm(
        '(module (import "env" "launch_missiles" (func)) (memory (export "memory") 1)'
        ' (func (export "_start")))'))
    proc = lind_run(mod)
    assert proc.returncode == 126
    assert b"env.launch_missiles" in proc.stderr and b"Traceback" not in proc.stderr


def test_root_and_readonly_mount(builds, tmp_path):
    root, data = tmp_path / "root", tmp_path / "data"
    root.mkdir()
    data.mkdir()
    (data / "in.txt").write_text("from the host\n")
    (root / "data").mkdir()                      # what the mount hides from the cage
    (root / "data" / "in.txt").write_text("under the mount\n")
    proc = lind_run("--root", root, "--mount", f"{data}:/data:ro", builds.wasm("mounts"))
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr
    assert "read: from the host\n" in out
    for op in ("create", "append", "mkdir", "unlink"):
        assert f"{op}: Read-only file system" in out
    assert "rename out: Read-only file system" in out or "rename out: Cross-device link" in out
    assert "root write: ok" in out
    assert (root / "root-file.txt").exists()
    assert sorted(p.name for p in data.iterdir()) == ["in.txt"]


def test_writable_mount(builds, tmp_path):
    root, data = tmp_path / "root", tmp_path / "data"
    root.mkdir()
    data.mkdir()
    (data / "in.txt").write_text("rw\n")
    proc = lind_run("--root", root, "--mount", f"{data}:/data", builds.wasm("mounts"))
    assert b"create: ok" in proc.stdout
    assert (data / "out.txt").read_text() == "written\n"
    assert b"rename out: Cross-device link" in proc.stdout


def test_default_root_is_empty_and_private(builds):
    proc = lind_run(builds.wasm("mounts"))
    assert b"read: failed" in proc.stdout
    assert b"root write: ok" in proc.stdout


def test_ctypes_fallback_trampoline_gives_the_same_results(builds, tmp_path):
    """Without the C trampoline (no compiler at install time) programs behave the same:
    both trampolines give what the gcc build gives (test_threei checks that "c" is
    really the C one)."""
    for name in ("files", "dirs", "opens"):
        (tmp_path / name).mkdir()
        native = subprocess.run([builds.native(name)], cwd=tmp_path / name, env={},
                                capture_output=True, timeout=60)
        assert native.returncode == 0, native.stdout
        for mode in ("c", "ctypes"):
            root = tmp_path / f"{name}-{mode}"
            root.mkdir()
            env = {**os.environ, "LIND_TRAMPOLINE": mode}
            proc = lind_run("--root", root, builds.wasm(name), env=env)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert proc.stdout == native.stdout, mode


def _lind_run_waiting(builds, tmp_path, *args):
    """`lind run` of host_signals in a private TMPDIR (where its temporary root goes),
    once the program says it is ready."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen([*LIND, "run", str(builds.wasm("posix/host_signals")), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout.readline() == b"ready\n"
    return proc


def test_signals_sent_to_lind_run_reach_the_programs_handlers(builds, tmp_path):
    proc = _lind_run_waiting(builds, tmp_path, "handle")
    for sig in (signal.SIGTERM, signal.SIGWINCH, signal.SIGHUP):
        proc.send_signal(sig)
        assert proc.stdout.readline() == f"got {int(sig)}\n".encode()
    assert proc.wait(timeout=30) == 0
    assert proc.stderr.read() == b""
    assert left_in(tmp_path) == []            # the temporary root is gone


def test_a_signal_the_kernel_gives_another_thread_still_reaches_the_program(builds, tmp_path,
                                                                          launch):
    """The kernel may hand a signal sent to `lind run` to any of its threads; Python runs
    the handler on the main thread only once that runs again. Sent to a thread that is
    not the main one (tgkill, as the kernel would pick it under load), it still reaches
    the program (it once waited until some other signal woke the main thread). Through
    a server, the client passes signals on with kill(2): the same holds for its child."""
    import ctypes

    proc = _lind_run_waiting(builds, tmp_path, "handle")
    try:
        pid = _running_cages(proc, launch)
        others = [int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid]
        assert others
        tgkill = ctypes.CDLL(None, use_errno=True).syscall
        for sig in (signal.SIGTERM, signal.SIGWINCH, signal.SIGHUP):
            assert tgkill(234, pid, others[0], sig) == 0       # SYS_tgkill
            assert select.select([proc.stdout], [], [], 30)[0], f"signal {sig} never arrived"
            assert proc.stdout.readline() == f"got {int(sig)}\n".encode()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


@pytest.mark.parametrize(("sig", "message"), [(signal.SIGINT, b""),
                                              (signal.SIGTERM, b"killed by SIGTERM")])
def test_ctrl_c_or_kill_of_lind_run_ends_the_program_by_default(builds, tmp_path, sig, message):
    """No Python traceback: the program dies of the signal, lind exits 128+N, quietly for
    Ctrl-C as a shell is, and the temporary root is removed."""
    proc = _lind_run_waiting(builds, tmp_path)
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 128 + sig
    err = proc.stderr.read()
    assert message in err and b"Traceback" not in err
    assert left_in(tmp_path) == []


def _ignoring_and_blocking() -> None:
    """As a shell starts a background job (SIGINT, SIGQUIT ignored) under nohup (SIGHUP
    ignored), with SIGUSR2 blocked besides."""
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])


def test_a_program_started_with_signals_ignored_or_blocked_starts_so_and_may_catch_them(
        builds, tmp_path):
    """execve keeps ignored and blocked signals: the cage's first program starts with
    those `lind run` was started with (it started with all at their defaults), and a
    signal ignored by `lind run`'s starter still reaches a handler the program sets (the
    client never passed it on). Compared with the native build started the same way."""
    outputs = []
    env = dict(os.environ, TMPDIR=str(tmp_path))
    for command in ([builds.native("posix/inherited_signals")],
                    [*LIND, "run", builds.wasm("posix/inherited_signals")]):
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, preexec_fn=_ignoring_and_blocking)
        try:
            lines = []
            while (line := proc.stdout.readline()) not in (b"ready\n", b""):
                lines.append(line)
            for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
                proc.send_signal(sig)
                assert select.select([proc.stdout], [], [], 30)[0], f"signal {sig} never came"
                lines.append(proc.stdout.readline())
            assert proc.wait(timeout=30) == 0, proc.stderr.read()
        finally:
            proc.kill()
        outputs.append(b"".join(lines).decode())
    assert outputs[0] == ("signal 1 ignored 1 blocked 0\nsignal 2 ignored 1 blocked 0\n"
                          "signal 3 ignored 1 blocked 0\nsignal 12 ignored 0 blocked 1\n"
                          "got 2\ngot 3\ngot 1\n")
    assert outputs[1] == outputs[0]


def _on_a_terminal(command: list) -> tuple[bytes, bool]:
    """Run `command` with a new pty as its stdio: what it printed, and whether the
    terminal's settings are as before it ran."""
    import pty
    import termios

    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    subprocess.run([str(c) for c in command], stdin=slave, stdout=slave, stderr=slave,
                   timeout=120, check=True)
    restored = termios.tcgetattr(slave) == before
    os.close(slave)
    out = b""
    with contextlib.suppress(OSError):        # EIO once the output is drained
        while chunk := os.read(master, 4096):
            out += chunk
    os.close(master)
    return out.replace(b"\r", b""), restored


def test_raw_mode_on_a_terminal_works_and_lind_run_restores_the_terminal(builds):
    native, native_restored = _on_a_terminal([builds.native("posix/terminal")])
    caged, restored = _on_a_terminal([*LIND, "run", builds.wasm("posix/terminal")])
    assert caged == native == (b"isatty 1\nttyname under /dev\nraw 0\nnow raw 1\nflush 0\n"
                               b"winsz 0\n")
    assert not native_restored and restored


def test_terminal_settings_read_back_as_on_linux(builds):
    """termios fields, control characters, speed and window size set through each
    ioctl come back as Linux gives them back."""
    native, _ = _on_a_terminal([builds.native("posix/terminal_settings")])
    caged, _ = _on_a_terminal([*LIND, "run", builds.wasm("posix/terminal_settings")])
    assert b"TIOCGWINSZ: 0; 33 x 77, 640 x 480 pixels" in native
    assert caged == native


def test_version():
    proc = subprocess.run([*LIND, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == f"lind {lind.__version__}\n"


def test_a_fifo_named_as_program_or_argument_never_holds_lind(builds, tmp_path):
    """Lind looks at the files a command line names (is it a module? what policy does
    it carry?): a FIFO nobody writes must not keep it waiting in open(2)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = lind_run(fifo, stdin=subprocess.DEVNULL)
    assert (proc.returncode, proc.stderr) == (126, f"lind: {fifo}: Permission denied\n".encode())
    proc = lind_run(builds.wasm("args_env"), fifo, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and str(fifo).encode() in proc.stdout
    proc = subprocess.run([*LIND, "inspect", fifo], capture_output=True, timeout=30)
    assert (proc.returncode, proc.stderr) == (2, f"lind: {fifo}: Permission denied\n".encode())


@pytest.mark.parametrize("args", [[], ["--root", "/"], ["--"]])
def test_lind_run_without_a_program_says_what_it_needs(args):
    proc = subprocess.run([*LIND, "run", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == ("lind run: error: no program to run: lind run "
                                            "[OPTIONS] PROGRAM.wasm [ARGS...] (PROGRAM.wasm "
                                            "as built by lind cc)")


@pytest.mark.parametrize("debug", [False, True])
def test_a_bug_in_lind_is_one_line_and_LIND_DEBUG_shows_the_traceback(tmp_path, debug):
    """The lind executable's entry point around a command that fails as no input should
    make it fail (a bug of Lind's own, stood in for by a main that raises)."""
    script = ("import lind.cli.main as m\n"
              "def broken(): raise KeyError('no such table entry')\n"
              "m.main = broken\n"
              "m.console()\n")
    env = {**os.environ, "LIND_DEBUG": "1"} if debug else {
        k: v for k, v in os.environ.items() if k != "LIND_DEBUG"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    if debug:
        assert proc.returncode == 1
        assert "Traceback (most recent call last)" in proc.stderr
        assert "in broken" in proc.stderr and "KeyError: 'no such table entry'" in proc.stderr
    else:
        assert (proc.returncode, proc.stdout) == (70, "")
        assert proc.stderr == ("lind: internal error, a bug in Lind: KeyError: 'no such table "
                               "entry' (please report it with what LIND_DEBUG=1 prints)\n")


@pytest.mark.parametrize("option", ["--root", "--mount"])
def test_a_root_or_mount_that_is_no_directory_is_a_usage_error(builds, tmp_path, option):
    afile = tmp_path / "afile"
    afile.write_text("x")
    value = str(afile) if option == "--root" else f"{tmp_path / 'missing'}:/m"
    proc = lind_run(option, value, builds.wasm("posix/host_signals"))
    assert proc.returncode == 2
    assert proc.stderr.decode().count("\n") == 1 and b"not a directory" in proc.stderr


def test_timeout_option_stops_the_run_with_124(builds, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = lind_run("--timeout", "0.5", builds.wasm("posix/host_signals"), env=env)
    assert proc.returncode == 124
    assert proc.stdout == b"ready\n"
    assert proc.stderr.endswith(b"timed out after 0.5 s\n") and b"Traceback" not in proc.stderr
    assert left_in(tmp_path) == []
    bad = lind_run("--timeout", "0", builds.wasm("posix/host_signals"))
    assert bad.returncode == 2 and b"--timeout" in bad.stderr


def test_cache_info_and_clear(builds, tmp_path):
    env = dict(os.environ, LIND_CACHE=str(tmp_path / "cache"))
    ran = subprocess.run([*LIND, "run", str(builds.wasm("args_env"))], capture_output=True,
                         timeout=120, env=env)
    assert ran.returncode == 0
    cache = subprocess.run([*LIND, "cache", "info"], capture_output=True, text=True, env=env)
    assert cache.returncode == 0
    assert cache.stdout.startswith(f"{tmp_path / 'cache' / 'modules'}: 1 compiled modules, ")
    assert len(list((tmp_path / "cache" / "modules").glob("*.cwasm"))) == 1
    cleared = subprocess.run([*LIND, "cache", "clear"], capture_output=True, text=True, env=env)
    assert cleared.returncode == 0 and cleared.stdout.startswith("lind: freed ")
    assert list((tmp_path / "cache" / "modules").glob("*.cwasm")) == []
    bad = subprocess.run([*LIND, "cache", "wipe"], capture_output=True, text=True, env=env)
    assert (bad.returncode, bad.stderr) == (2, "usage: lind cache info|clear\n")


@pytest.mark.parametrize(("size", "cap"), [("2G", 2048), ("512M", 512), (str(3 << 30), 3072),
                                           ("lots", 1024)])
def test_cache_size_is_read_as_memory_sizes_are(tmp_path, size, cap):
    """$LIND_CACHE_SIZE takes K, M or G as --memory does: '2G' was ignored (1 GiB kept)."""
    env = dict(os.environ, LIND_CACHE=str(tmp_path / "cache"), LIND_CACHE_SIZE=size)
    info = subprocess.run([*LIND, "cache", "info"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert info.returncode == 0 and f"(cap {cap} MiB," in info.stdout, info.stdout


def test_grates_lists_and_explains_each_grate():
    listing = subprocess.run([*LIND, "grates"], capture_output=True, text=True)
    names = [line.split()[0] for line in listing.stdout.splitlines()]
    assert "seccomp" in names and "strace" in names
    for line in listing.stdout.splitlines():       # a whole sentence, not a docstring's line
        assert line.endswith("."), line
    for name in names:
        full = subprocess.run([*LIND, "grates", name], capture_output=True, text=True)
        assert full.returncode == 0 and full.stdout.startswith(f"{name} (")
        assert len(full.stdout.splitlines()) > 2, full.stdout      # more than the summary
    policy = subprocess.run([*LIND, "grates", "seccomp"], capture_output=True, text=True).stdout
    assert "deny CALL... [: ACTION]" in policy
    unknown = subprocess.run([*LIND, "grates", "nope"], capture_output=True, text=True)
    assert (unknown.returncode, unknown.stderr) == (
        2, "lind: no grate named 'nope' (lind grates lists them)\n")
    piped = subprocess.run(f"{' '.join(LIND)} grates strace | head -1", shell=True,
                           capture_output=True, text=True)
    assert piped.stdout == "strace (c grate)\n" and "Traceback" not in piped.stderr


def test_inspect_of_a_file_that_is_no_module_names_it_once(tmp_path):
    junk = tmp_path / "notwasm.wasm"
    junk.write_text("not wasm\n")
    proc = subprocess.run([*LIND, "inspect", junk], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (2, f"lind: {junk}: not a WebAssembly module\n")
