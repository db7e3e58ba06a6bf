"""The `lind` command: `lind cc` and `lind c++` compile C and C++ for cages, `lind run` runs them."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import errno
import functools
import os
import shutil
import signal
import subprocess
import sys
import termios
import threading
import warnings
from collections.abc import Iterator
from typing import NoReturn

from lind.hostdirs import UnsafeCache

USAGE = """usage: lind cc [cc options] SRC... -o OUT.wasm
       lind c++ [c++ options] SRC... -o OUT.wasm
       lind run [--root DIR] [--mount HOST:GUEST[:ro]]... [--env K=V]... [--cwd DIR]
                [--user UID[:GID]] [--hostname NAME] [--net private|host|none]
                [--publish HOSTPORT:CAGEPORT]... [--grate NAME[:ARGS]]...
                [--grate clamp:COND %{ --grate NAME[:ARGS]... %}]...
                [--memory SIZE] [--stack SIZE] [--timeout SECONDS] [--isolate[=best-effort]]
                [--override-policy] [--] PROGRAM [ARGS...]
       lind run GRATE.wasm [GRATE ARGS...] ... PROGRAM.wasm [ARGS...]
       lind isolate [--policy POLICY.toml] [--net host] [--isolate=best-effort] -- COMMAND [ARGS...]
       lind inspect [--json] PROGRAM.wasm
       lind policy check POLICY.toml
       lind policy embed PROGRAM.wasm POLICY.toml
       lind grates [NAME]
       lind grates --path NAME
       lind cache info|clear
       lind server start|stop|status
       lind bench [NAMES...] [--quick] [--reps N] [--retries N] [--backend B] [--fallback]
                  [--out FILE.md]
       lind serve-web [--port N] [--host ADDR] [--out DIR] [--build-only]
       lind --version
"""


def _hold_closed_stdio() -> list[int]:
    """The stdio fds Lind was started without, each held by /dev/null until the program
    starts, so that none of Lind's own files (its root, the module) takes that number
    and becomes the program's stdin or stdout; the program then starts without them,
    as a native one would."""
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
            null = os.open(os.devnull, os.O_RDONLY)
            if null != fd:
                os.dup2(null, fd, inheritable=False)
                os.close(null)
    return closed


_RUN_FLAGS = {"--isolate", "--isolate=best-effort", "--override-policy", "-h", "--help"}


def _clamp_marks(argv: list[str]) -> list[str]:
    """`%{` and `%}` among lind run's options (around the --grate options a clamp
    routes) as the --grate entries stack_grates reads; the program's own arguments
    are left alone."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in ("%{", "%}"):
            out.append(f"--grate={token}")
            i += 1
            continue
        if token == "--" or not token.startswith("-"):
            return out + argv[i:]
        out.append(token)
        i += 1
        if "=" not in token and token not in _RUN_FLAGS and i < len(argv):
            out.append(argv[i])         # the option's value
            i += 1
    return out


def _grates(argv: list[str]) -> int:
    """`lind grates [NAME]`, and `lind grates --path NAME`: the .wasm of a C grate, to run
    it as a program (lind run $(lind grates --path ns) ...)."""
    from lind.grates.registry import C_SOURCES, build_c_grate, describe

    path = argv[:1] == ["--path"]
    names = argv[1:] if path else argv
    if len(names) > 1 or (path and not names):
        print("usage: lind grates [NAME]\n       lind grates --path NAME", file=sys.stderr)
        return 2
    if path:
        source = C_SOURCES / f"{names[0]}.c"
        if not source.is_file():
            print(f"lind: no C grate named {names[0]!r} (lind grates lists them)", file=sys.stderr)
            return 2
        print(build_c_grate(source))
        return 0
    try:
        print(describe(*names))
    except KeyError:
        print(f"lind: no grate named {names[0]!r} (lind grates lists them)", file=sys.stderr)
        return 2
    return 0


@functools.cache
def run_parser() -> argparse.ArgumentParser:
    """`lind run`'s options: made once a process (the start-up server's spare makes it
    before its run comes)."""
    from lind.cage.options import DEFAULT_HOSTNAME, DEFAULT_USER

    parser = argparse.ArgumentParser(
        prog="lind run", description="Run a program in a cage. Exit status is the program's; "
        "a cage killed by signal N exits 128+N.")
    parser.add_argument("--root", help="host directory the cage sees as / "
                        "(default: a new empty directory, removed afterwards); with "
                        "--backend portable also a .zip archive, copied into memory")
    parser.add_argument("--backend", choices=("host", "portable", "cooperative"),
                        default="host",
                        help="where files live: the host's, under --root (default), or "
                        "Lind's own in memory, filled from --root and the mounts, so "
                        "no host file changes (portable); cooperative: that and the "
                        "browser's runtime, every cage on one thread with no host call "
                        "(see README, Lind in the browser)")
    parser.add_argument("--save", metavar="DIR_OR_ZIP",
                        help="with --backend portable or cooperative: write the files the "
                        "run left to this directory, or .zip archive")
    parser.add_argument("--mount", action="append", default=[], metavar="HOST:GUEST[:ro]",
                        help="show a host directory inside the cage; :ro refuses writes")
    parser.add_argument("--env", action="append", default=[], metavar="K=V",
                        help="environment variable for the program (the host's is not passed)")
    parser.add_argument("--cwd", default="/", help="working directory inside the cage")
    uid, gid = DEFAULT_USER
    parser.add_argument("--user", metavar="UID[:GID]",
                        help=f"the ids the program sees (default {uid}:{gid}); files of the "
                        "user running lind show as owned by it, other owners as 65534")
    parser.add_argument("--hostname",
                        help=f"the node name uname reports (default {DEFAULT_HOSTNAME})")
    parser.add_argument("--net", choices=["private", "host", "none"],
                        help="the network the program sees: private (default: a loopback "
                        "only its own processes share), host (the host's, as an unprivileged "
                        "process), none (no Internet sockets)")
    parser.add_argument("--publish", action="append", default=[], metavar="HOSTPORT:CAGEPORT",
                        help="with --net private: forward 127.0.0.1:HOSTPORT on the host to "
                        "CAGEPORT in the cage, as docker run -p")
    parser.add_argument("--grate", action="append", default=[], metavar="NAME[:ARGS]",
                        help="put a grate between the program and the microvisor; the first "
                        "named sees the program's calls first (`lind grates` lists them); "
                        "--grate clamp:COND %%{ --grate A --grate B %%} routes only the calls "
                        "matching COND through A and B (`lind grates clamp`)")
    parser.add_argument("--memory", metavar="SIZE",
                        help="memory limit of the program and all its children together, "
                        "e.g. 512M (K, M, G suffixes); growth past it fails with ENOMEM")
    parser.add_argument("--stack", metavar="SIZE",
                        help="RLIMIT_STACK's soft limit, e.g. 32M (as ulimit -s; Linux's 8M "
                        "without it): the program's stack, at most the region it was linked "
                        "with (lind cc -Wl,-z,stack-size=N)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="kill the program and its children after SECONDS; exit status 124, "
                        "as timeout(1)")
    parser.add_argument("--isolate", action="store_const", const="yes",
                        help="before any cage starts, put Lind itself in new namespaces, a "
                        "minimal file system and a seccomp filter (a second wall around every "
                        "cage); a layer the kernel refuses stops the run")
    parser.add_argument("--isolate=best-effort", dest="isolate", action="store_const",
                        const="best-effort", help="the same, going on past layers the kernel "
                        "refuses (each said in one line)")
    parser.add_argument("--override-policy", action="store_true",
                        help="let the options above ask for more than the program's embedded "
                        "policy grants (each widening is reported); without it they may only "
                        "narrow it")
    parser.add_argument("program", nargs="?", help="the .wasm file built by `lind cc`")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program")
    return parser


def _run(argv: list[str]) -> int:
    """`lind run`: the options are checked, and --isolate's layers entered, before
    wasmtime and the microvisor load (a fork then copies little)."""
    closed_stdio = _hold_closed_stdio()
    from lind.cage.options import MountSpec
    from lind.microvisor.limits import parse_size
    from lind.microvisor.network import parse_publish

    parser = run_parser()
    opts = parser.parse_args(_clamp_marks(argv))
    if opts.program is None:
        parser.error("no program to run: lind run [OPTIONS] PROGRAM.wasm [ARGS...] "
                     "(PROGRAM.wasm as built by lind cc)")
    if opts.program == "--":
        if not opts.args:
            parser.error("no program after --")
        opts.program, *opts.args = opts.args
    env = {}
    for item in opts.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--env wants K=V, got {item!r}")
        env[key] = value
    try:
        memory = parse_size(opts.memory) if opts.memory is not None else None
        stack = parse_size(opts.stack) if opts.stack is not None else None
        if opts.backend == "cooperative" and stack is not None:
            raise ValueError("--stack: not with --backend cooperative (its stacks are the "
                             "browser runtime's)")
        mounts = [MountSpec.parse(m) for m in opts.mount]
        in_memory = opts.backend in ("portable", "cooperative")
        if opts.root is not None and not os.path.isdir(opts.root):
            if not in_memory:
                raise ValueError(f"--root {opts.root}: not a directory")
            import zipfile

            if not zipfile.is_zipfile(opts.root):
                raise ValueError(f"--root {opts.root}: neither a directory nor a zip archive")
        if opts.save is not None and not in_memory:
            raise ValueError("--save keeps the files of --backend portable or cooperative; "
                             "the host back end writes to its --root as it goes")
        for m in mounts:
            if not os.path.isdir(m.host):
                raise ValueError(f"--mount {m.host}: not a directory")
        publish = [parse_publish(spec) for spec in opts.publish]
        if publish and opts.net not in (None, "private"):
            raise ValueError("--publish needs --net private")
        if opts.timeout is not None and not opts.timeout > 0:
            raise ValueError(f"--timeout {opts.timeout:g}: not a positive number of seconds")
        if opts.backend == "cooperative" and opts.isolate:
            raise ValueError("--isolate: not with --backend cooperative (its cages make no "
                             "host call to wall in)")
        refused = None if opts.backend == "cooperative" else _isolate_if_asked(opts, mounts,
                                                                               memory)
    except OSError as exc:
        print(f"lind: {exc.strerror or exc}", file=sys.stderr)
        return 125
    except ValueError as exc:
        print(f"lind: {exc}", file=sys.stderr)
        return 2
    if refused is not None:
        print(f"lind: {refused} (--isolate=best-effort goes on without it)", file=sys.stderr)
        return 125
    return _run_program(opts, mounts=mounts, env=env, memory=memory, stack=stack,
                        publish=publish, closed_stdio=closed_stdio)


def _run_program(opts: argparse.Namespace, *, mounts: list, env: dict[str, str],
                 memory: int | None, stack: int | None, publish: list,
                 closed_stdio: list[int]) -> int:
    import lind
    from lind.api import default_runtime
    from lind.cage.loader import ProgramError

    for fd in closed_stdio:     # closed again: the program inherits them closed
        os.close(fd)
    runtime = default_runtime()
    runtime.tree_cages = runtime.max_cages     # its one tree shares with no other
    try:
        with _terminal_restored(), warnings.catch_warnings():
            warnings.simplefilter("always", lind.PolicyOverridden)
            warnings.showwarning = _say_overridden
            result = lind.run([opts.program, *opts.args], root=opts.root, mounts=mounts,
                              env=env, cwd=opts.cwd, stdin=None, stdout=None, stderr=None,
                              grates=opts.grate, memory=memory, user=opts.user,
                              hostname=opts.hostname, forward_signals=True,
                              timeout=opts.timeout, net=opts.net, publish=publish,
                              override_policy=opts.override_policy, backend=opts.backend,
                              save=opts.save, stack=stack)
    except subprocess.TimeoutExpired as exc:
        print(f"lind: {opts.program}: timed out after {exc.timeout:g} s", file=sys.stderr)
        return 124
    except ProgramError as exc:
        print(f"lind: {exc}", file=sys.stderr)
        return exc.status
    except OSError as exc:       # the cage could not start: its working directory, ...
        print(f"lind: {exc.strerror or exc}", file=sys.stderr)
        return 2 if exc.errno in (errno.ENOENT, errno.ENOTDIR) or isinstance(exc, UnsafeCache) else 125
    except ValueError as exc:
        print(f"lind: {exc}", file=sys.stderr)
        return 2
    if result.returncode < 0:
        sig = -result.returncode
        name = _signal_name(sig)
        why = f" ({result.trap})" if result.trap else ""
        if sig not in (signal.SIGPIPE, signal.SIGINT):   # quiet, as shells are about these
            print(f"lind: {opts.program}: killed by {name}{why}", file=sys.stderr)
        return 128 + sig
    return result.returncode


def _signal_name(sig: int) -> str:
    return signal.Signals(sig).name if sig in signal.valid_signals() else f"signal {sig}"


def _isolate_if_asked(opts: argparse.Namespace, mounts: list, memory: int | None) -> str | None:
    """`--isolate` or the policy's [host] isolate: Lind enters the host layers now, keeping
    the directories this run uses (its program, root, mounts, the policy's). Returns
    why the kernel refused a layer, if it did (the host module loads only when asked)."""
    from pathlib import Path

    from lind.isolation.module import NotAModule, embedded_policy

    try:
        policy = embedded_policy(opts.program)
    except (OSError, NotAModule):
        policy = None          # lind.run says what is wrong with the program
    mode = opts.isolate or (policy.isolate if policy is not None else None)
    if mode is None:
        return None
    from lind.isolation import host

    here = Path(opts.program).resolve().parent
    binds = [host.Bind(os.path.abspath(p)) for p in (opts.program, *opts.args) if os.path.isfile(p)]
    if opts.root is not None:      # the portable back end only reads it
        binds.append(host.Bind(os.path.abspath(opts.root), writable=opts.backend == "host"))
    if opts.save is not None:      # where the portable back end writes the files back
        binds.append(host.Bind(os.path.dirname(os.path.abspath(opts.save)), writable=True))
    from lind.grates.registry import host_outputs

    for output in host_outputs(opts.grate):   # strace -o, aquarium's report: kept, not lost
        if os.path.isdir(os.path.dirname(os.path.abspath(output))):
            binds.append(host.Bind(os.path.dirname(os.path.abspath(output)), writable=True))
    binds += [host.Bind(os.path.abspath(m.host), writable=not m.readonly) for m in mounts]
    if policy is not None:
        from lind.isolation.policy import beside

        if policy.root is not None:
            binds.append(host.Bind(beside(here, policy.root, opts.program), writable=True))
        binds += [host.Bind(beside(here, m.host, opts.program), writable=not m.readonly)
                  for m in policy.mounts]
    # Lind keeps the host's network where the cages use it, or where it listens for
    # them (--publish); the cages' private network is the helper's namespace anyway.
    network = (opts.net or (policy.network if policy is not None else "private")) != "host" \
        and not opts.publish
    # The person's --isolate is all of the layers; a policy's [host] may ask for fewer.
    chosen = {} if opts.isolate or policy is None else {
        "namespaces": policy.host_namespaces, "seccomp": policy.host_seccomp}
    if memory is None and policy is not None:
        memory = policy.memory
    try:
        said = host.enter(binds, network=network, best_effort=mode == "best-effort",
                          allowed_calls=host.allowed_calls(), memory=memory, **chosen)
    except host.Refused as exc:
        return exc.strerror
    for line in said:
        if line.startswith("not applied"):
            print(f"lind: --isolate: {line}", file=sys.stderr)
    return None


def _say_overridden(message, category, *_: object) -> None:
    print(f"lind: {message}", file=sys.stderr)


@contextlib.contextmanager
def _terminal_restored() -> Iterator[None]:
    """A program may put the terminal it was given in raw mode (and die before undoing
    it): its settings come back as they were when the run ends, as a shell's do."""
    fd = next((fd for fd in (0, 1, 2) if os.isatty(fd)), None)
    saved = termios.tcgetattr(fd) if fd is not None else None
    try:
        yield
    finally:
        if saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _bench(argv: list[str]) -> int:
    """Benchmarks live in the checkout's benchmarks/ folder, beside their C programs."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "benchmarks" / "bench.py"
    if not script.exists():
        print("lind: bench needs a source checkout (benchmarks/bench.py not found)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(script.parent))    # its modules beside it (workloads.py)
    return runpy.run_path(str(script))["main"](argv)


def main(argv: list[str] | None = None) -> int:
    """`lind COMMAND ...`; Ctrl-C outside a program's run ends quietly with 130, as a
    command interrupted in a shell does (during a run the program gets SIGINT), and a
    closed output pipe with 141."""
    try:
        return _command(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except UnsafeCache as exc:  # lind cc, lind grates, ...: the toolchain's builds are there
        print(f"lind: {exc.strerror}", file=sys.stderr)
        return 2
    except BrokenPipeError:     # our reader went away (lind grates | head): quietly, as
        devnull = os.open(os.devnull, os.O_WRONLY)   # a C tool dies of SIGPIPE
        os.dup2(devnull, sys.stdout.fileno())         # (and no error flushing at exit)
        return 128 + signal.SIGPIPE


def console() -> NoReturn:
    """The `lind` executable: main(), then out without Python's teardown of every module
    and wasmtime object (30-40 ms of each run, all of it memory the kernel frees anyway).
    Output is flushed and the exit handlers run first; a thread that must finish (not a
    daemon) gets the ordinary exit. An exception Lind did not expect is a bug in Lind:
    one line and how to see more, exit 70 (EX_SOFTWARE); LIND_DEBUG=1 lets the
    traceback through."""
    try:
        status = main()
    except Exception as exc:
        if os.environ.get("LIND_DEBUG"):
            raise
        print(f"lind: internal error, a bug in Lind: {type(exc).__name__}: {exc} "
              "(please report it with what LIND_DEBUG=1 prints)", file=sys.stderr)
        status = 70
    for stream in (sys.stdout, sys.stderr):     # None when Lind was started without it
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.flush()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        sys.exit(status)
    atexit._run_exitfuncs()
    os._exit(status)


def _cache(argv: list[str]) -> int:
    """`lind cache info`: where compiled modules are kept, how many, how big, the cap;
    `lind cache clear`: delete them (they are compiled again on next use)."""
    from lind.cage import loader

    if argv == ["info"]:
        entries = loader.cache_entries()
        size = sum(e[1] for e in entries)
        print(f"{loader.cache_dir()}: {len(entries)} compiled modules, {size / 2**20:.1f} MiB "
              f"(cap {loader.disk_cache_limit() / 2**20:.0f} MiB, least recently used "
              "go first; $LIND_CACHE, $LIND_CACHE_SIZE)")
        return 0
    if argv == ["clear"]:
        print(f"lind: freed {loader.clear_cache() / 2**20:.1f} MiB")
        return 0
    print("usage: lind cache info|clear", file=sys.stderr)
    return 2


def _cc(argv: list[str], cxx: bool) -> int:
    """`lind cc`, and with `--policy FILE` that policy embedded in the program it links
    (checked before anything is compiled)."""
    from lind.toolchain import cc

    policy, rest = None, []
    args = iter(argv)
    for arg in args:
        if arg == "--policy" or arg.startswith("--policy="):
            path = arg.partition("=")[2] if "=" in arg else next(args, None)
            if not path:
                print("lind cc: --policy needs a file", file=sys.stderr)
                return 2
            from lind.isolation.policy import PolicyError, load_policy
            try:
                policy = load_policy(path)
            except PolicyError as exc:
                print(f"lind cc: {exc}", file=sys.stderr)
                return 1
        else:
            rest.append(arg)
    status = cc.main(rest, cxx=cxx)
    if status or policy is None:
        return status
    try:
        output = cc.linked_module(rest, cxx=cxx)
    except cc.CompileError:
        output = None
    if output is None:
        print("lind cc: --policy is embedded in a linked program; nothing was linked", file=sys.stderr)
        return 2
    from lind.isolation.module import embed

    embed(output, policy)
    return 0


def _isolate(argv: list[str]) -> int:
    """`lind isolate [--policy FILE] [--isolate=best-effort] -- COMMAND ARGS`: a native
    program under the host layers and the policy's rules (without one: a minimal file
    system, no network, every system call). `--python` and `--keep DIR` serve
    `lind.isolate` (this Python and Lind, and the script's directory, kept read-only)."""
    from lind.isolation import host
    from lind.isolation.policy import PolicyError, load_policy, parse_policy

    parser = argparse.ArgumentParser(
        prog="lind isolate", description="Run a native program in new namespaces, a minimal "
        "file system and a seccomp filter, under a policy's rules.")
    parser.add_argument("--policy", help="the policy file (default: no network, a minimal "
                        "file system, every system call)")
    parser.add_argument("--isolate=best-effort", dest="best_effort", action="store_true",
                        help="go on past layers the kernel refuses (each said in one line)")
    parser.add_argument("--net", choices=["host"], help="grant the host's network to a "
                        "policy that asks for it (a policy cannot grant it alone)")
    parser.add_argument("--python", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    opts = parser.parse_args(argv)
    command = opts.command[1:] if opts.command[:1] == ["--"] else opts.command
    if not command:
        parser.error("no command (lind isolate [--policy FILE] -- COMMAND [ARGS...])")
    try:
        program = shutil.which(command[0]) or command[0]
        carried = _native_policy(program) if opts.policy is None else None
        if opts.policy is not None:
            policy, base = load_policy(opts.policy), os.path.dirname(os.path.abspath(opts.policy))
        elif carried is not None:
            policy, base = carried, os.path.dirname(os.path.abspath(program))
        else:
            policy, base = parse_policy("version = 1\n", "<no policy>"), os.getcwd()
        host.run_native(command, policy, base, best_effort=opts.best_effort, python=opts.python,
                        keep=[host.Bind(os.path.abspath(d)) for d in opts.keep],
                        host_network=opts.net == "host")
    except PolicyError as exc:
        print(f"lind: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:       # PolicyViolation, a policy directory that is not there
        print(f"lind: isolate: {exc}", file=sys.stderr)
        return 2
    except host.Refused as exc:
        print(f"lind: isolate: {exc.strerror}", file=sys.stderr)
        return 125
    return 0       # not reached: run_native execs or exits


def _native_policy(program: str):
    """The policy an ELF program carries (None: none, or not a program Lind can read)."""
    from lind.isolation.module import NotAModule, embedded_policy, is_elf

    try:
        return embedded_policy(program) if is_elf(program) else None
    except (OSError, NotAModule):
        return None


def _inspect(argv: list[str]) -> int:
    """`lind inspect [--json] PROGRAM.wasm`: the embedded policy in words, the imports
    and the size."""
    import json

    from lind.cage.loader import ProgramError
    from lind.isolation.module import NotAModule, is_elf, policy_text
    from lind.isolation.policy import PolicyError, parse_policy

    as_json = "--json" in argv
    rest = [a for a in argv if a != "--json"]
    if len(rest) != 1 or rest[0].startswith("-"):
        print("usage: lind inspect [--json] PROGRAM.wasm", file=sys.stderr)
        return 2
    path = rest[0]
    try:
        native = is_elf(path)
        imports = [] if native else _imports(path)
        text = policy_text(path)
        policy = None if text is None else parse_policy(text, f"{path} (embedded)")
    except PolicyError as exc:
        print(f"lind: {exc}", file=sys.stderr)
        return 1
    except ProgramError as exc:             # its message names the program already
        print(f"lind: {exc}", file=sys.stderr)
        return 2
    except (OSError, NotAModule) as exc:
        print(f"lind: {path}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    size = os.path.getsize(path)
    if as_json:
        print(json.dumps({"module": path, "size": size, "imports": imports,
                          "policy": None if policy is None else policy.as_json(),
                          "policy_text": text}, indent=2))
        return 0
    if native:
        print(f"{path}: native program (ELF), {size} bytes; lind isolate applies its policy")
    else:
        print(f"{path}: WebAssembly module, {size} bytes, {len(imports)} imports "
              f"({', '.join(sorted({i['module'] for i in imports})) or 'none'})")
    if policy is None:
        print("policy: none embedded (" + ("lind isolate without --policy gives it a minimal "
              "file system, no network, every system call)" if native else "lind run uses its "
              "options alone: by default an empty private root, a private loopback network, "
              "every system call)"))
        return 0
    print("policy (embedded, version 1):")
    for line in policy.describe(native):
        print(f"  {line}")
    return 0


def _imports(path: str) -> list[dict[str, str]]:
    """The module's imports, as wasmtime reads them (the module must be valid)."""
    import wasmtime

    from lind.cage import loader

    module = loader.load(path)
    kinds = {wasmtime.FuncType: "func", wasmtime.MemoryType: "memory",
             wasmtime.TableType: "table", wasmtime.GlobalType: "global"}
    return [{"module": i.module, "name": i.name or "",
             "kind": kinds.get(type(i.type), type(i.type).__name__)} for i in module.imports]


def _policy(argv: list[str]) -> int:
    """`lind policy check POLICY`, `lind policy embed PROGRAM POLICY`."""
    from lind.isolation.module import NotAModule, embed, is_elf
    from lind.isolation.policy import PolicyError, load_policy

    if argv[:1] == ["check"] and len(argv) == 2:
        policy_file = argv[1]
    elif argv[:1] == ["embed"] and len(argv) == 3:
        policy_file = argv[2]
    else:
        print("usage: lind policy check POLICY.toml\n"
              "       lind policy embed PROGRAM.wasm POLICY.toml", file=sys.stderr)
        return 2
    native = False
    try:
        policy = load_policy(policy_file)
        if argv[0] == "embed":
            embed(argv[1], policy)
            native = is_elf(argv[1])        # said as lind inspect and lind isolate apply it
    except PolicyError as exc:
        print(f"lind: {exc}", file=sys.stderr)
        return 1
    except (OSError, NotAModule) as exc:
        print(f"lind: {argv[1]}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    for line in policy.describe(native):
        print(line)
    return 0


def _command(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        from lind import __version__

        print(f"lind {__version__}")
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command in ("cc", "c++"):
        return _cc(rest, cxx=command == "c++")
    if command == "inspect":
        return _inspect(rest)
    if command == "isolate":
        return _isolate(rest)
    if command == "policy":
        return _policy(rest)
    if command == "run":
        return _run(rest)
    if command == "bench":
        return _bench(rest)
    if command == "cache":
        return _cache(rest)
    if command == "grates":
        return _grates(rest)
    if command == "serve-web":
        from lind.cli import web

        return web.main(rest)
    print(f"lind: unknown command {command!r}\n{USAGE}", file=sys.stderr, end="")
    return 2


if __name__ == "__main__":
    sys.exit(main())
