"""Grates shipped with Lind, by name, and how a list of grates becomes a stack.

A Python grate is a class in this package; a C grate is a source file in `c/`,
built with `lind cc` on first use and cached like any program. Both are named the
same way: `NAME[:ARGS]`, ARGS being the grate's own option string.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lind.grates import Grate
from lind.grates.clamp import Clamp, ClampedGrate, ClampEnd, ClampStart
from lind.grates.tee import Tee, TeeBranch, TeeEnd, TeeStart

# name -> "module:Class" of a Python grate; each class has from_args(text) -> Grate.
PYTHON_GRATES: dict[str, str] = {
    "aquarium": "lind.grates.aquarium:Aquarium",
    "chroot": "lind.grates.fsview:Chroot",
    "clamp": "lind.grates.clamp:Clamp",
    "fsview": "lind.grates.fsview:FSView",
    "imfs": "lind.portable.files:MemoryFiles",
    "netfilter": "lind.grates.netfilter:NetFilter",
    "readonly": "lind.grates.readonly:ReadOnly",
    "seccomp": "lind.grates.seccomp:Seccomp",
    "tee": "lind.grates.tee:Tee",
}
C_SOURCES = Path(__file__).parent / "c"


# Shipped C grates' options whose value is a file written for the person running Lind:
# a host path, opened by Lind and handed to the grate as /dev/fd/N (see strace.c).
HOST_OUTPUT_OPTIONS: dict[str, str] = {"strace": "-o"}


@dataclass(frozen=True)
class WasmGrate:
    """A grate that is a cage program: it runs the program named after its arguments.
    `output` is the option of `args` that names a host file (HOST_OUTPUT_OPTIONS)."""

    path: str
    args: tuple[str, ...] = ()
    output: str | None = None

    def with_output_fd(self, fd: int) -> tuple[list[str], str | None]:
        """The arguments with the host file's name replaced by /dev/fd/`fd`, and that
        name (None when the option is not given)."""
        args = list(self.args)
        for i, arg in enumerate(args):
            if arg == "--":
                break
            if self.output is not None and arg == self.output and i + 1 < len(args):
                host, args[i + 1] = args[i + 1], f"/dev/fd/{fd}"
                return args, host
            if self.output is not None and arg.startswith(self.output) and arg != self.output:
                host, args[i] = arg[len(self.output):], f"{self.output}/dev/fd/{fd}"
                return args, host
        return args, None


def host_outputs(specs: Sequence[Grate | str]) -> list[str]:
    """The host files the shipped grates of `specs` write: strace's `-o FILE`,
    aquarium's `report=FILE` (what `--isolate` must keep writable)."""
    files = []
    for spec in specs:
        if not isinstance(spec, str):
            continue
        name, _, args = spec.partition(":")
        host = None
        if name in HOST_OUTPUT_OPTIONS:
            try:
                words = tuple(shlex.split(args))
            except ValueError:
                continue                    # resolve() says what is wrong with it
            host = WasmGrate(name, words, HOST_OUTPUT_OPTIONS[name]).with_output_fd(0)[1]
        elif name == "aquarium":
            host = next((item.removeprefix("report=") for item in args.split(",")
                         if item.startswith("report=")), None)
        if host:
            files.append(host)
    return files


@dataclass
class Stack:
    """What to start: the command line, and where each Python grate attaches."""

    argv: list[str]
    root: list[Grate] = field(default_factory=list)                 # on the first cage
    # program -> the grates to attach at each of its execs, in the order they happen
    at_exec: dict[str, list[list[Grate]]] = field(default_factory=dict)
    outputs: dict[int, str] = field(default_factory=dict)   # first cage's fd -> host file


def shipped() -> list[str]:
    c = sorted(p.stem for p in C_SOURCES.glob("*.c")) if C_SOURCES.is_dir() else []
    return sorted(set(PYTHON_GRATES) | set(c))


def resolve(spec: Grate | str) -> Grate | WasmGrate:
    """A Grate object as it is; "NAME[:ARGS]" of a shipped grate; a .wasm grate path."""
    if isinstance(spec, Grate):
        return spec
    name, _, args = spec.partition(":")
    if name in PYTHON_GRATES:
        module, _, cls = PYTHON_GRATES[name].partition(":")
        return getattr(importlib.import_module(module), cls).from_args(args)
    source = C_SOURCES / f"{name}.c"
    if source.is_file():
        return WasmGrate(str(build_c_grate(source)), tuple(shlex.split(args)),
                         HOST_OUTPUT_OPTIONS.get(name))
    if name.endswith(".wasm") and os.path.isfile(name):
        return WasmGrate(name, tuple(shlex.split(args)))
    if name.endswith(".wasm") or os.sep in name:      # a file meant, not a shipped name
        why = "not a file" if os.path.exists(name) else "No such file or directory"
        raise ValueError(f"grate {name}: {why} (a grate is a shipped name or a .wasm file)")
    raise ValueError(f"unknown grate {name!r} (shipped: {', '.join(shipped())})")


def build_c_grate(source: Path) -> Path:
    """The .wasm of a shipped C grate, built once per version of its source and libc."""
    from lind.cage.loader import cache_dir
    from lind.toolchain import cc
    from lind.toolchain.sysroot import sysroot_key

    # The guest libc is linked in: a grate built against an older one is stale; so is one
    # built with an older header of its directory.
    headers = b"".join(h.read_bytes() for h in sorted(source.parent.glob("*.h")))
    digest = hashlib.sha256(source.read_bytes() + headers + sysroot_key().encode()).hexdigest()[:16]
    out = cache_dir().parent / "grates" / f"{source.stem}-{digest}.wasm"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        status = cc.main(["-O2", str(source), "-o", str(tmp)])
        if status != 0:
            raise RuntimeError(f"building grate {source.stem} failed (status {status})")
        os.replace(tmp, out)
    return out


def stack_grates(argv: Sequence[str], grates: Sequence[Any], first_fd: int = 3) -> Stack:
    """Order grates so the first named sees the program's calls first.

    Wasm grates run the rest of the command line, so the one nearest the program
    comes last in argv. A Python grate sits on the table of whichever program is just
    above it: the program itself, or the nearest wasm grate named before it. A clamp
    (`Clamp`, or a "clamp:COND" followed by its grates as a list or between "%{" and
    "%}") puts its grates in the same places, routed through it, and marks where its
    part of the process tree begins and ends; a tee ("tee:POLICY" and two such groups)
    places its stacks the same way, A below B, and marks where each begins and ends.
    Host files the grates write get the first cage's fds from `first_fd` up.
    """
    command = list(argv)
    placed = _Placement(first_fd)
    placed.place(_tree(grates), 0, ())
    programs = [command[0], *(placed.paths[::-1])]    # by placement: the program first
    lowest = len(programs) - 1                        # runs first, as the first cage
    root = placed.groups.get(lowest, [])
    at_exec: dict[str, list[list[Grate]]] = {}
    for index in range(lowest - 1, -1, -1):           # in the order they are exec'd
        at_exec.setdefault(programs[index], []).append(placed.groups.get(index, []))
    return Stack(placed.prefix + command, root, at_exec, placed.outputs)


def _tree(specs: Sequence[Any]) -> list[Grate | WasmGrate]:
    """Grates resolved, each clamp with its own grates and each tee with its two stacks
    (given inside it, as the lists that follow it, or between "%{" and "%}")."""
    levels: list[list[Grate | WasmGrate]] = [[]]
    filled: dict[int, int] = {}         # id of a clamp or tee -> its groups given so far
    for spec in specs:
        current = levels[-1]
        if spec in ("%{", "%}") or isinstance(spec, (list, tuple)):
            if spec == "%}":
                if len(levels) == 1:
                    raise ValueError("%} without a %{ before it")
                levels.pop()
                continue
            owner = current[-1] if current else None
            groups = _groups(owner) if isinstance(owner, Grate) else []
            done = filled.get(id(owner), 0)
            if done >= len(groups):
                raise ValueError("%{ (or a list of grates) must follow a clamp (one group) or "
                                 "a tee (two) still wanting it, e.g. clamp:/tmp %{ imfs strace %}")
            filled[id(owner)] = done + 1
            if spec == "%{":
                levels.append(groups[done])
            else:
                groups[done].extend(_tree(spec))
            continue
        layer = resolve(spec)
        if isinstance(layer, Clamp):      # a fresh one: routes belong to one run
            layer = Clamp(layer.condition, _tree(layer.grates))
            filled[id(layer)] = 1 if layer.grates else 0
        elif isinstance(layer, Tee):
            layer = Tee(_tree(layer.a), _tree(layer.b), layer.policy, layer.report)
            filled[id(layer)] = 2 if layer.a or layer.b else 0
        current.append(layer)
    if len(levels) > 1:
        raise ValueError("%{ without a %} after it")
    for layer in _all(levels[0]):
        if isinstance(layer, Tee) and filled.get(id(layer), 2) < 2:
            raise ValueError(f"tee:{layer.policy} wants two stacks after it: "
                             "%{ A... %} %{ B... %} (either may be empty)")
    return levels[0]


def _all(layers: Sequence[Any]) -> list[Any]:
    """Every layer of a tree of grates, those inside clamps and tees included."""
    found = []
    for layer in layers:
        found.append(layer)
        if isinstance(layer, Grate):
            for group in _groups(layer):
                found += _all(group)
    return found


def _groups(layer: Grate) -> list[list]:
    """The stacks a clamp or tee holds, to be given after it in a list of grates."""
    if isinstance(layer, Clamp):
        return [layer.grates]
    if isinstance(layer, Tee):
        return [layer.a, layer.b]
    return []


class _Placement:
    """Where each layer goes: wasm grates into the command line, Python grates (and a
    clamp's marks) onto the table of the program just above them."""

    def __init__(self, first_fd: int) -> None:
        self.first_fd = first_fd
        self.prefix: list[str] = []
        self.paths: list[str] = []      # the wasm grates' programs, top first
        # Python grates and marks, by the program they attach to: 0 for the program
        # itself, N for the Nth wasm grate placed (one program may be named twice).
        self.groups: dict[int, list[Grate]] = {}
        self.outputs: dict[int, str] = {}

    def place(self, layers: Sequence[Grate | WasmGrate], above: int,
              clamps: tuple[Clamp, ...]) -> int:
        """Place `layers` (top first) below the program `above`, inside `clamps`
        (outermost first); the program now lowest."""
        for layer in layers:
            if isinstance(layer, WasmGrate):
                fd = self.first_fd + len(self.outputs)
                args, host = layer.with_output_fd(fd)
                if host is not None:
                    self.outputs[fd] = host
                self.prefix = [layer.path, *args, *self.prefix]
                self.paths.append(layer.path)
                above = len(self.paths)
            elif isinstance(layer, Clamp):
                if not layer.grates:
                    raise ValueError(f"{layer} wants its grates: clamp:/DIR=GRATE, or "
                                     f"%{{ GRATES %}} after it")
                self.groups.setdefault(above, []).append(ClampEnd(layer))
                above = self.place(layer.grates, above, (*clamps, layer))
                self.groups.setdefault(above, []).append(ClampStart(layer))
            elif isinstance(layer, Tee):         # A's grates below B's, as A, then B
                self.groups.setdefault(above, []).append(TeeEnd(layer, clamps))
                above = self.place(layer.b, above, clamps)
                self.groups.setdefault(above, []).append(TeeBranch(layer))
                above = self.place(layer.a, above, clamps)
                self.groups.setdefault(above, []).append(TeeStart(layer))
            else:
                for clamp in reversed(clamps):      # the innermost clamp's routes first
                    layer = ClampedGrate(clamp, layer)
                self.groups.setdefault(above, []).append(layer)
        return above


def _documentation(name: str) -> tuple[str, str]:
    """A shipped grate's language and its documentation (docstring or leading comment)."""
    if name in PYTHON_GRATES:
        module, _, cls = PYTHON_GRATES[name].partition(":")
        return "python", inspect.getdoc(getattr(importlib.import_module(module), cls)) or ""
    text = (C_SOURCES / f"{name}.c").read_text()
    if not text.startswith("/*"):
        return "c", ""
    comment = text.split("*/", 1)[0].splitlines()
    return "c", "\n".join(line.strip().removeprefix("/*").removeprefix("*").removeprefix(" ")
                          for line in comment).strip()


def describe(name: str | None = None) -> str:
    """One line per shipped grate (name, language, what it does); or, for `name`, its
    whole documentation. KeyError for a name that is not shipped."""
    if name is not None:
        if name not in shipped():
            raise KeyError(name)
        kind, doc = _documentation(name)
        return f"{name} ({kind} grate)\n\n{doc}"
    lines = []
    for grate in shipped():
        kind, doc = _documentation(grate)
        summary = " ".join(doc.split("\n\n", 1)[0].split())   # the first paragraph, whole
        lines.append(f"{grate:<10} {kind:<7} {summary}")
    return "\n".join(lines)
