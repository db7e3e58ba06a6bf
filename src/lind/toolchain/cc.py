"""`lind cc` and `lind c++`: C and C++ compiler drivers for Lind cages.

Used like cc and c++:

    lind cc [-O2] [-g] [-I..] [-D..] [-L..] [-l..] [-c] SRC... [-o OUT]
    lind c++ [the same options] SRC... [-o OUT]

Compiling runs zig's clang for wasm32 against the lind guest sysroot
(musl for the wasm32-lind architecture, see sysroot.py); linking runs
wasm-ld with the sysroot's start file and libraries and produces one
WebAssembly module whose only imports come from module "lind".

Like cc, the default is no optimisation (-O0) and no debug info; -O and -g
work as usual.  Without -o a program is written to `a.out` (a .wasm file).

C and C++ are compiled with setjmp and longjmp as WebAssembly exceptions
(sjlj.py): they cost about what a call and a throw cost, and need nothing of the
host.

A program that uses fork, vfork, clone or daemon imports
lind.syscall_unwind (exec, posix_spawn, system and popen do not: exec
replaces the instance, and a spawned child starts the program afresh); after
linking, such a program is instrumented with Binaryen's Asyncify for that import
(asyncify.instrument_for_lind), in the functions its call graph says can reach it
(callgraph.py), its mutable globals are exported as
lind_global_<index>, and Binaryen optimises it at the -O level given.
Asyncify cannot instrument exception handling, so such a program is linked
again with its objects' Asyncify-compiled twins, where setjmp and longjmp
unwind and rewind the stack through the host (see sjlj.py; `--setjmp=asyncify`
compiles that way from the start).  Every other program comes out of wasm-ld
untouched but for signal safepoints in its loops when it uses setjmp.  Every
program has each mutable global that nothing exports yet exported as
lind_reset_<index>, so that the runtime can start it afresh in an instance an
ended process of it left (cage/instance_pool.py).

C++ (sources named .cc .cpp .cxx .C .c++, or any source under `lind c++`,
which also compiles .c files as C++ as c++ does) is compiled against LLVM's
libc++ with exceptions as WebAssembly exception handling, and a program
with a C++ source, or linked by `lind c++`, gets libc++, libc++abi and
libunwind (libcxx.py builds them on first use).  Binaryen's Asyncify cannot
instrument code that uses exception handling, so a C++ program that also
forks is refused with a message, unless it is built with -fno-exceptions: then
it is linked with a libc++ built without exceptions, where what would throw
aborts.

Libraries that are part of libc on Linux (-lc -lm -lpthread -lrt -ldl
-lutil -lcrypt -lxnet -lresolv) are accepted and ignored: libc.a has it all.
-lstdc++ -lc++ -lc++abi -lsupc++ link the C++ library.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import asyncify as _asyncify
from . import callgraph as _callgraph
from . import libcxx as _libcxx
from . import safepoints as _safepoints
from . import sjlj as _sjlj
from . import sysroot as _sysroot
from . import zig
from .wasm_code import UnknownInstruction

HELP = """\
usage: lind cc [options] SRC... [-o OUT.wasm]

Compiles C for Lind cages (wasm32, musl for Lind) and links one WebAssembly module.
C++ sources (.cc .cpp .cxx .C .c++) are compiled against libc++ and the program is
linked with it; `lind c++` does the same for every source, .c files included.

  -o FILE       the program (default a.out); with -c, -S or -E what that step makes
  -c, -S, -E    stop after compiling, at assembly, after preprocessing
  -O0..-O3, -Os, -Oz
                optimisation (default -O0); programs that fork are
                instrumented with Asyncify and optimised at that level too
  -g            debug information (kept in the module)
  -I DIR, -D NAME[=V], -U NAME, -include FILE, -x LANG
                as cc; assert() stays on unless -DNDEBUG is given
  -L DIR, -lNAME, -Wl,OPT, -Xlinker OPT
                as cc; -lc -lm -lpthread -lrt -ldl -lutil -lcrypt -lxnet -lresolv are in
                libc.a already (a libNAME.a of your own in a -L dir is linked instead)
  -nostartfiles, -nodefaultlibs, -nostdlib, -nostdlib++
                as cc
  -fno-exceptions
                C++ without exceptions (and a libc++ without them): needed by a C++
                program that forks or uses setjmp, which Asyncify instruments
  --setjmp=asyncify
                C's setjmp/longjmp through the host (Asyncify) rather than as
                WebAssembly exceptions (the default, much faster): needed only by
                a plain longjmp out of a fault's handler (SIGSEGV...); sigsetjmp
                and siglongjmp always go through the host
  --suspendable
                every system call instrumented with Asyncify, so that the cooperative
                runtime (Lind in the browser) can set the cage aside on any call that
                must wait: cages may then answer each other back and forth over pipes
                there. Compute is slower; setjmp goes through the host
  --policy FILE embed the isolation policy FILE in the program (`lind inspect` shows
                it, `lind run` applies it)
  --help-clang  the options of the clang underneath; other options are passed to it

Predefined: __lind__, __linux__, __unix__, __wasm32__.
"""

#: Stack region of a cage's main thread: Linux's default RLIMIT_STACK (the cage's
#: limit may make the stack smaller when the program starts, never larger)
STACK_SIZE = 8 << 20

LIBC_PARTS = {"c", "m", "pthread", "rt", "dl", "util", "crypt", "xnet", "resolv"}
#: C++ runtime libraries a build may name: they mean "link the C++ library"
CXX_LIB_PARTS = {"stdc++", "c++", "c++abi", "supc++"}

#: options whose value is the next argument when not attached
_COMPILE_ARG_OPTS = {
    "-I",
    "-D",
    "-U",
    "-include",
    "-imacros",
    "-isystem",
    "-idirafter",
    "-iquote",
    "-iprefix",
    "-iwithprefix",
    "-x",
    "-MF",
    "-MT",
    "-MQ",
    "-Xclang",
    "-std",
    "-arch",
}
_LINK_ARG_OPTS = {"-L", "-l", "-Xlinker", "-e", "-u"}

_CXX_SUFFIXES = {".cc", ".cpp", ".cxx", ".C", ".c++", ".ii"}
_SOURCE_SUFFIXES = {".c", ".i", ".s", ".S", *_CXX_SUFFIXES}
_STOP_BEFORE_LINK = {"-c", "-S", "-E", "-M", "-MM", "-fsyntax-only"}


class CompileError(RuntimeError):
    """Raised by compile_program(); .output holds what the compiler printed."""

    def __init__(self, message: str, output: str = "", returncode: int = 1) -> None:
        super().__init__(message)
        self.output = output
        self.returncode = returncode


@dataclass
class _Command:
    compile_opts: list[str] = field(default_factory=list)
    #: sources to compile, and their position among the link items
    sources: list[str] = field(default_factory=list)
    #: for each source, whether it is C++ (by its -x language or its name)
    cxx_sources: list[bool] = field(default_factory=list)
    #: `lind c++`: .c files are C++ too, and a link gets the C++ library
    cxx_driver: bool = False
    links_cxx: bool = False          # -lstdc++, -lc++ ...
    no_exceptions: bool = False      # -fno-exceptions (the last of -f[no-]exceptions)
    nostdlibxx: bool = False         # -nostdlib++
    #: objects, archives, -l/-L and linker options, in command-line order;
    #: a source is recorded as ("src", index)
    link_items: list[tuple[str, str | int]] = field(default_factory=list)
    output: str | None = None
    stop: str | None = None  # -c, -S, -E ...
    nostartfiles: bool = False
    nodefaultlibs: bool = False
    info_only: bool = False  # --version, -v without inputs, -###
    has_debug: bool = False
    #: the last -O option (clang's rule), as Binaryen (optimize, shrink) levels
    binaryen_levels: tuple[int, int] = (0, 0)
    #: --setjmp=asyncify: C's setjmp through Asyncify, not WebAssembly exceptions
    setjmp_asyncify: bool = False
    #: --suspendable: Asyncify on every call (see asyncify.SUSPENDABLE_IMPORTS)
    suspendable: bool = False


def _parse(argv: Sequence[str], cxx_driver: bool = False) -> _Command:
    cmd = _Command(cxx_driver=cxx_driver)
    args = list(argv)
    language: str | None = None     # the last -x: files after it are sources of that language
    i = 0
    while i < len(args):
        a = args[i]

        def take_value(opt: str = a) -> str:
            nonlocal i
            if i + 1 >= len(args):
                raise CompileError(f"{_prog(cxx_driver)}: missing argument to '{opt}'")
            i += 1
            return args[i]

        if a == "-o":
            cmd.output = take_value()
        elif a.startswith("-o") and len(a) > 2:
            cmd.output = a[2:]
        elif a in _STOP_BEFORE_LINK:
            cmd.stop = a
            cmd.compile_opts.append(a)
        elif a in ("--version", "-###", "--help-clang", "-print-search-dirs", "-dumpversion"):
            if a == "--help-clang":
                a = "--help"
            cmd.info_only = True
            cmd.compile_opts.append(a)
        elif a == "-l" or a.startswith("-l"):
            lib = take_value() if a == "-l" else a[2:]
            # a part of libc on Linux: libc.a has it, unless the user's -L dirs hold one
            kind = "libc-part" if lib in LIBC_PARTS | CXX_LIB_PARTS else "opt"
            cmd.link_items.append((kind, "-l" + lib))
            cmd.links_cxx = cmd.links_cxx or lib in CXX_LIB_PARTS
        elif a == "-L":
            cmd.link_items.append(("opt", "-L" + take_value()))
        elif a.startswith("-L"):
            cmd.link_items.append(("opt", a))
        elif a.startswith("-Wl,"):
            cmd.link_items.extend(("opt", x) for x in a[4:].split(",") if x)
        elif a == "-Xlinker":
            cmd.link_items.append(("opt", take_value()))
        elif a in ("-e", "-u"):
            cmd.link_items.append(("opt", a))
            cmd.link_items.append(("opt", take_value()))
        elif a == "-nostartfiles":
            cmd.nostartfiles = True
        elif a in ("-nodefaultlibs", "-nolibc"):
            cmd.nodefaultlibs = True
        elif a == "-nostdlib":
            cmd.nostartfiles = cmd.nodefaultlibs = True
        elif a in ("-static", "-rdynamic", "-no-pie", "-pie", "-s"):
            pass  # a cage is always one static module
        elif a == "-shared":      # (libtool's link of a .so: the linker's error named main)
            raise CompileError(f"{_prog(cxx_driver)}: -shared: a cage's program is one static "
                               "module, there are no shared libraries (autoconf: "
                               "./configure --disable-shared)")
        elif a == "-pthread":
            cmd.compile_opts.append("-D_REENTRANT")
        elif a in _COMPILE_ARG_OPTS:
            value = take_value()
            cmd.compile_opts += [a, value]
            if a == "-x":
                language = value
        elif a.startswith("-x") and len(a) > 2:
            cmd.compile_opts.append(a)
            language = a[2:]
        elif a == "-":  # source on standard input (with -x)
            cmd.link_items.append(("src", len(cmd.sources)))
            cmd.sources.append(a)
            cmd.cxx_sources.append(_is_cxx(a, language, cxx_driver))
        elif a == "-nostdlib++":
            cmd.nostdlibxx = True
        elif a.startswith("--setjmp="):
            if a not in ("--setjmp=asyncify", "--setjmp=exceptions"):
                raise CompileError(f"{_prog(cxx_driver)}: {a}: expected --setjmp=asyncify "
                                   "or --setjmp=exceptions")
            cmd.setjmp_asyncify = a == "--setjmp=asyncify"
        elif a == "--suspendable":
            cmd.suspendable = True
        elif a.startswith("-"):
            if a.startswith("-g"):
                cmd.has_debug = a != "-g0"
            elif a.startswith("-O"):
                cmd.binaryen_levels = _binaryen_levels(a)
            elif a in ("-fno-exceptions", "-fexceptions"):
                cmd.no_exceptions = a == "-fno-exceptions"
            cmd.compile_opts.append(a)
        else:
            suffix = Path(a).suffix
            if suffix in _SOURCE_SUFFIXES or language not in ("none", None):
                cmd.link_items.append(("src", len(cmd.sources)))
                cmd.sources.append(a)
                cmd.cxx_sources.append(_is_cxx(a, language, cxx_driver))
            else:
                cmd.link_items.append(("file", a))
        i += 1
    cmd.setjmp_asyncify = cmd.setjmp_asyncify or cmd.suspendable   # Binaryen reads no EH
    return cmd


def _is_cxx(src: str, language: str | None, cxx_driver: bool) -> bool:
    """Whether a source is C++: its -x language if one is given, else its name
    (a .c file too under `lind c++`)."""
    if language not in ("none", None):
        return language.startswith("c++")
    suffix = Path(src).suffix
    return suffix in _CXX_SUFFIXES or (cxx_driver and suffix == ".c")


def _binaryen_levels(opt: str) -> tuple[int, int]:
    """Binaryen's (optimize, shrink) levels for a clang -O option."""
    level = opt[2:]
    if level.isdigit():
        return (min(int(level), 3), 0)
    return {"": (1, 0), "g": (1, 0), "s": (2, 1), "z": (2, 2), "fast": (3, 0)}.get(level, (0, 0))


def _compile_base(sysroot: Path, debug: bool = False) -> list[str]:
    return [
        str(zig.zig_exe()),
        "cc",
        "-target",
        _sysroot.TARGET,
        *_sysroot.guest_include_flags(sysroot),
        *_sysroot.GUEST_DEFINES,
        # zig's clang defaults differ from cc's: no debug info unless -g
        # (and zig does not let a later -g undo -g0, so only without -g),
        # no UBSan runtime checks (there is no UBSan runtime for cages).
        *([] if debug else ["-g0"]),
        "-fno-sanitize=all",
        *_sysroot.THREAD_CFLAGS,
        # zig's clang defines NDEBUG from -O1 up; cc never does, so assert() stays on
        # unless the user's own -DNDEBUG (which comes later) turns it off.
        "-UNDEBUG",
    ]


def link_flags() -> list[str]:
    """wasm-ld options every cage program gets."""
    return [
        # the memory is the host's: one shared memory all threads of a cage import
        "--import-memory=lind,memory",
        "--shared-memory",
        f"--max-memory={1 << 32}",
        "--export=__stack_pointer",              # a new thread's starts where clone says
        "--export=__heap_base",
        "--export=__data_end",
        "--export-if-defined=pass_fptr_to_wt",   # a grate's dispatcher (lind_syscall.h)
        "-z",
        f"stack-size={STACK_SIZE}",
        "--stack-first",
        "--gc-sections",
        # the host runs signal handlers in code that makes no system calls through it,
        # and reads a handler's real type from the table (SA_SIGINFO or not)
        "--export-if-defined=__lind_deliver_signals",
        "--export-if-defined=__lind_safepoint",        # loops' safepoints (safepoints.py)
        "--export-if-defined=__lind_signal_pending",
        "--export-table",
        # function pointers are table indices: keep 1 free, it is SIG_IGN (0 is SIG_DFL)
        "--table-base=2",
    ]


def _run(argv: list[str], capture: bool) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv,
        env=zig.zig_env(),
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        text=True,
    )


def _driver(argv: Sequence[str], capture: bool, cxx: bool = False) -> tuple[int, str]:
    """Run one `lind cc` (or, with `cxx`, `lind c++`) command; returns (status,
    captured output)."""
    cmd = _parse(argv, cxx)
    prog = _prog(cxx)
    output_parts: list[str] = []
    missing = [src for src in cmd.sources if src != "-" and not os.path.exists(src)]
    missing += [f for kind, f in cmd.link_items if kind == "file" and not os.path.exists(f)]
    if missing:
        return 1, "".join(f"{prog}: {f}: No such file or directory\n" for f in missing)

    def run(args: list[str]) -> int:
        r = _run(args, capture)
        if capture and r.stdout:
            output_parts.append(r.stdout)
        return r.returncode

    def run_c(base: list[str], sjlj: list[str], rest: list[str]) -> int:
        """Compile with `sjlj` flags after the `base` ones, or without them where LLVM's
        lowering cannot go (a source that takes setjmp's address)."""
        if not sjlj:
            return run(base + rest)
        colour = ["-fcolor-diagnostics"] if not capture and sys.stderr.isatty() else []
        r = subprocess.run(base + sjlj + colour + rest, env=zig.zig_env(), capture_output=True)
        if r.returncode != 0 and _sjlj.UNSUPPORTED.encode() in r.stderr:
            return run(base + rest)
        if capture:
            output_parts.append((r.stdout + r.stderr).decode(errors="replace"))
        else:    # as the compiler wrote them: -E output on stdout, diagnostics on stderr
            sys.stdout.buffer.write(r.stdout)
            sys.stdout.flush()
            sys.stderr.buffer.write(r.stderr)
            sys.stderr.flush()
        return r.returncode

    if not cmd.sources and not cmd.link_items:
        if cmd.info_only or "-v" in cmd.compile_opts:
            return run([str(zig.zig_exe()), "cc", "-target", _sysroot.TARGET, *cmd.compile_opts]), "".join(
                output_parts
            )
        return 1, f"{prog}: no input files\n"

    root = _sysroot.ensure_sysroot()
    exceptions = not cmd.no_exceptions
    base = _compile_base(root, cmd.has_debug)
    cxx_base = base + _libcxx.compile_flags(root, exceptions=exceptions)

    if cmd.stop or cmd.info_only:
        out = ["-o", cmd.output] if cmd.output else []
        srcs = [arg for n in range(len(cmd.sources)) for arg in _source_args(cmd, n)]
        cxx_any = cmd.cxx_driver or any(cmd.cxx_sources)
        sjlj = _sjlj_flags(cmd)
        status = run_c(cxx_base if cxx_any else base, sjlj, cmd.compile_opts + srcs + out)
        if status == 0 and sjlj and cmd.stop == "-c" and not cmd.info_only:
            for n, src in enumerate(cmd.sources):
                obj = cmd.output if cmd.output else f"{Path(src).stem}.o"
                if src != "-" and os.path.exists(obj):
                    status = status or _attach_twin(
                        cmd, n, cxx_base if cmd.cxx_sources[n] else base, obj, run)
        return status, "".join(output_parts)

    # Compile and link.
    output = cmd.output or "a.out"
    with tempfile.TemporaryDirectory(prefix="lind-cc-") as tmp:
        objects: list[str] = []
        for n, src in enumerate(cmd.sources):
            obj = os.path.join(tmp, f"{n}-{Path(src).stem or 'stdin'}.o")
            source_base = cxx_base if cmd.cxx_sources[n] else base
            status = run_c(source_base, _sjlj_flags(cmd),
                           cmd.compile_opts + ["-c", *_source_args(cmd, n), "-o", obj])
            if status == 0 and src != "-":
                status = _attach_twin(cmd, n, source_base, obj, run)
            if status != 0:
                return status, "".join(output_parts)
            objects.append(obj)

        head, tail = _sysroot.link_inputs(root)
        if ((cmd.cxx_driver or cmd.links_cxx or any(cmd.cxx_sources)) and not cmd.nodefaultlibs
                and not cmd.nostdlibxx):
            tail = _libcxx.link_inputs(_libcxx.ensure_libcxx(root, exceptions=exceptions)) + tail
        # A partial link (-r) makes an object file: no program options.
        ld = [str(zig.zig_exe()), "wasm-ld", *([] if _relocatable(cmd) else link_flags())]
        if not cmd.has_debug:
            ld.append("--strip-debug")
        if not cmd.nostartfiles:
            ld += head
        search = [v[2:] for k, v in cmd.link_items if k == "opt" and str(v).startswith("-L")]
        inputs: list[str] = []
        for kind, value in cmd.link_items:
            if kind == "libc-part" and not any(
                    os.path.exists(os.path.join(d, f"lib{str(value)[2:]}.a")) for d in search):
                continue      # -lm, -lstdc++...: in the sysroot, unless the user has their own
            inputs.append(objects[value] if kind == "src" else value)  # type: ignore[index]
        tail = tail if not cmd.nodefaultlibs else []
        # bitcode (-flto) is compiled here: setjmp lowered as in a C object, unless the
        # program turns out to fork (then it is linked again without the lowering)
        lto = (_sjlj.LTO_LINK_FLAGS if not cmd.setjmp_asyncify and not _relocatable(cmd)
               and _sjlj.has_bitcode(inputs, search) else [])
        status = run(ld + lto + inputs + tail + ["-o", output])
        if status == 0 and (_relocatable(cmd) or _needs_twins(output)):
            twins = _sjlj.asyncify_inputs(inputs, search, tmp)
            if twins is not None and _relocatable(cmd):
                # an object again: its twin is the partial link of the inputs' twins
                status = run(ld + twins + tail + ["-o", os.path.join(tmp, "twin.o")])
                if status == 0:
                    Path(output).write_bytes(_asyncify.without_custom_section(
                        Path(output).read_bytes(), _sjlj.ASYNCIFY_OBJECT))
                    _sjlj.attach_twin(output, os.path.join(tmp, "twin.o"))
            elif twins is not None or lto:   # it forks, and setjmps: all the Asyncify way
                status = run(ld + (twins or inputs) + tail + ["-o", output])
        if status != 0:
            return status, "".join(output_parts)
        return _post_link(cmd, output, output_parts, prog), "".join(output_parts)


def _prog(cxx: bool) -> str:
    return "lind c++" if cxx else "lind cc"


def _sjlj_flags(cmd: _Command) -> list[str]:
    """Flags that make setjmp and longjmp WebAssembly exceptions (unless
    --setjmp=asyncify)."""
    return [] if cmd.setjmp_asyncify else _sjlj.SJLJ_CFLAGS


def _attach_twin(cmd: _Command, n: int, base: list[str], obj: str, run) -> int:
    """When the object `obj` uses setjmp as exceptions, compile source n again the
    Asyncify way (with the same `base`: C's or C++'s) and keep that inside it, for a
    program that turns out to fork."""
    if cmd.setjmp_asyncify or not _sjlj.uses_wasm_sjlj(Path(obj).read_bytes()):
        return 0
    with tempfile.TemporaryDirectory(prefix="lind-cc-twin-") as tmp:
        twin = os.path.join(tmp, "twin.o")
        opts = [o for o in cmd.compile_opts if o != "-c"]
        status = run(base + opts + ["-c", *_source_args(cmd, n), "-o", twin])
        if status == 0:
            _sjlj.attach_twin(obj, twin)
        return status


def _needs_twins(output: str) -> bool:
    """Whether a linked program needs Asyncify but uses exception handling (setjmp
    as exceptions, or C++ exceptions, which nothing can replace)."""
    try:
        wasm = Path(output).read_bytes()
        return _asyncify.needs_asyncify(wasm) and _asyncify.uses_exception_handling(wasm)
    except (OSError, _asyncify.AsyncifyError):
        return False


def _source_args(cmd: _Command, n: int) -> list[str]:
    """A source as the compiler gets it: a .c file that is C++ (`lind c++`)
    says so with -x."""
    src = cmd.sources[n]
    if cmd.cxx_sources[n] and Path(src).suffix == ".c":
        return ["-x", "c++", src, "-x", "none"]
    return [src]


def _relocatable(cmd: _Command) -> bool:
    return any(v in ("-r", "--relocatable") for k, v in cmd.link_items if k == "opt")


def _post_link(cmd: _Command, output: str, messages: list[str], prog: str) -> int:
    """Instrument a linked program that can unwind (see the module doc), export every
    mutable global (so a kept instance can start it afresh), and mark it as keeping
    page 0 unused (the stack-first layout puts only the stack's far end there), so that
    a null pointer dereference in it is SIGSEGV."""
    if _relocatable(cmd):
        return 0  # an object file: the final program gets instrumented
    try:
        wasm = _asyncify.without_custom_section(Path(output).read_bytes(),
                                                _sjlj.ASYNCIFY_OBJECT)
        if _asyncify.needs_asyncify(wasm) or cmd.suspendable:
            if _asyncify.uses_exception_handling(wasm):
                what = "--suspendable" if cmd.suspendable else "a program that forks"
                messages.append(
                    f"{prog}: {output}: {what} cannot use C++ "
                    "exceptions, or setjmp compiled as exceptions without lind cc, in a cage "
                    "(Binaryen's Asyncify, which lets it fork, does not handle WebAssembly "
                    "exception handling); build it with -fno-exceptions (C++) or "
                    "--setjmp=asyncify\n")
                with contextlib.suppress(OSError):
                    os.unlink(output)
                return 1
            with contextlib.suppress(_safepoints.SafepointError):   # then the tick alone
                wasm = _safepoints.insert(wasm)
            opt, shrink = cmd.binaryen_levels
            try:     # otherwise every function that makes an indirect call is instrumented
                only = _callgraph.functions_reaching(
                    wasm, _asyncify.unwind_imports(cmd.suspendable))
            except (UnknownInstruction, _asyncify.AsyncifyError, IndexError):
                only = None
            wasm = _asyncify.instrument_for_lind(wasm, optimize_level=opt, shrink_level=shrink,
                                                 suspendable=cmd.suspendable, only=only)
        elif _sjlj.uses_wasm_sjlj(wasm):
            # a longjmp out of a signal handler must start in the program's own frames
            with contextlib.suppress(_safepoints.SafepointError):
                wasm = _safepoints.insert(wasm)
        wasm = _asyncify.with_mutable_globals_exported(wasm)
        lowest = _asyncify.lowest_data_address(wasm)
        if (lowest is not None and lowest >= _asyncify.NULL_PAGE_SIZE
                and _asyncify.NULL_PAGE_UNUSED not in _asyncify.custom_section_names(wasm)):
            wasm = _asyncify.with_custom_section(wasm, _asyncify.NULL_PAGE_UNUSED)
    except (OSError, _asyncify.AsyncifyError) as exc:
        messages.append(f"{prog}: Asyncify failed on {output}: {exc}\n")
        with contextlib.suppress(OSError):
            os.unlink(output)
        return 1
    tmp = f"{output}.lind-tmp"
    with open(tmp, "wb") as f:
        f.write(wasm)
    os.chmod(tmp, os.stat(output).st_mode & 0o7777)
    os.replace(tmp, output)
    return 0


def main(argv: Sequence[str], cxx: bool = False) -> int:
    """Entry point of `lind cc` (and of `lind c++` with `cxx`); diagnostics go to
    stderr, never a traceback for a user error."""
    if "--help" in argv or "-h" in argv:
        print(HELP.replace("lind cc", _prog(cxx)), end="")
        return 0
    try:
        status, text = _driver(argv, capture=False, cxx=cxx)
    except CompileError as exc:
        print(exc, file=sys.stderr)
        return 1
    except _sysroot.SysrootBuildError as exc:
        print(f"{_prog(cxx)}: could not build the guest libraries: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if text:
        print(text, end="", file=sys.stderr)
    return status


def linked_module(argv: Sequence[str], cxx: bool = False) -> str | None:
    """The module a `lind cc` command line links (None if it stops before linking)."""
    cmd = _parse(argv, cxx_driver=cxx)
    if cmd.stop or cmd.info_only:
        return None
    return cmd.output or "a.out"


def compile_program(
    sources: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    extra_flags: Sequence[str] = (),
    cxx: bool = False,
) -> None:
    """Compile and link C sources (C++ with `cxx`, as `lind c++`) into one cage
    module; raise CompileError (with the compiler's output) on failure."""
    argv = [*map(str, extra_flags), *map(str, sources), "-o", str(output)]
    status, text = _driver(argv, capture=True, cxx=cxx)
    if status != 0:
        raise CompileError(f"{_prog(cxx)} failed (status {status}):\n{text}", text, status)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
