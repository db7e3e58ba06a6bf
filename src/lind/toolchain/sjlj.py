"""setjmp and longjmp as WebAssembly exceptions, with Asyncify as the fallback.

`lind cc` compiles C and C++ with LLVM's wasm setjmp/longjmp lowering (SJLJ_CFLAGS): a
setjmp is a few stores and a longjmp one throw of the `__c_longjmp` tag, caught by
the function that called setjmp (runtime: guest/src/setjmp/wasm_sjlj.c). No host
call and no Asyncify, so a program that only setjmps is not instrumented at all.

A program that also forks (or uses sigsetjmp, which stays the host's so that a
siglongjmp out of a fault's handler works) needs Asyncify, and Binaryen cannot instrument
code that uses exception handling. So an object that uses the lowering carries the
same source compiled the Asyncify way (setjmp and longjmp as calls 1020/1021) in a
custom section, ASYNCIFY_OBJECT; when the linked program turns out to need
Asyncify, `lind cc` links again with those objects (`asyncify_inputs`), from plain
objects and from members of archives alike. The section never reaches a program.

Bitcode (-flto) needs no twin: LLVM lowers its setjmp when the linker compiles it, so
the link is given the lowering's flags (LTO_LINK_FLAGS), and a program that turns out
to fork is linked again without them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from . import asyncify as _asyncify
from . import zig

#: code compiled with these turns setjmp/longjmp calls into wasm exception handling
SJLJ_CFLAGS = [
    "-fwasm-exceptions",
    "-mexception-handling",
    "-mllvm",
    "-wasm-enable-sjlj",
    "-mllvm",
    "-wasm-use-legacy-eh=false",      # try_table: Wasmtime refuses the legacy encoding
    "-D__LIND_WASM_SJLJ__=1",         # <setjmp.h> makes _setjmp, _longjmp these two
]

#: the same lowering for bitcode (objects compiled with -flto), which LLVM compiles
#: to wasm in the linker
LTO_LINK_FLAGS = ["-mllvm", "-wasm-enable-sjlj", "-mllvm", "-wasm-use-legacy-eh=false",
                  "-mllvm", "-exception-model=wasm"]

#: what LLVM says (crashing) of a source its lowering cannot take: one that uses setjmp
#: other than by calling it (&setjmp); `lind cc` compiles that one the Asyncify way
UNSUPPORTED = "Indirect use of setjmp is not supported"

#: the custom section of an object holding its Asyncify-compiled twin
ASYNCIFY_OBJECT = "lind.asyncify-object"

_RUNTIME_SYMBOLS = (b"__wasm_setjmp", b"__wasm_longjmp")


def uses_wasm_sjlj(obj: bytes) -> bool:
    """Whether a compiled object or a linked program calls the lowering's runtime (its
    symbol table or name section names it), i.e. uses setjmp or longjmp as exceptions."""
    return obj.startswith(b"\0asm") and any(s in obj for s in _RUNTIME_SYMBOLS)


def attach_twin(obj: str, twin: str) -> None:
    """Store the Asyncify-compiled object `twin` inside `obj`."""
    data = Path(obj).read_bytes()
    Path(obj).write_bytes(_asyncify.with_custom_section(
        data, ASYNCIFY_OBJECT, Path(twin).read_bytes()))


def _twin(data: bytes) -> bytes | None:
    if not data.startswith(b"\0asm"):
        return None
    try:
        return _asyncify.custom_section(data, ASYNCIFY_OBJECT)
    except _asyncify.AsyncifyError:
        return None


def archive_members(data: bytes) -> list[tuple[str, bytes]]:
    """The (name, contents) of an ar archive's members (GNU or BSD names); of a damaged
    one, those before the damage (the linker says what is wrong with it)."""
    if not data.startswith(b"!<arch>\n"):
        return []
    members, long_names, pos = [], b"", 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("latin-1").rstrip()
        try:
            size = int(header[48:58].decode("latin-1").strip() or 0)
            length = int(name[3:]) if name.startswith("#1/") else 0
        except ValueError:
            break
        if size < 0 or length < 0:
            break
        body = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name in ("/", "/SYM64/", "__.SYMDEF", "__.SYMDEF SORTED"):
            continue
        if name == "//":
            long_names = body
            continue
        if name.startswith("#1/"):
            name, body = body[:length].decode("latin-1").rstrip("\0"), body[length:]
        elif name.startswith("/") and name[1:].isdigit():
            start = int(name[1:])
            end = long_names.find(b"/\n", start)
            name = long_names[start : end if end >= 0 else None].decode("latin-1")
        else:
            name = name.removesuffix("/")
        members.append((name, body))
    return members


def _input_file(arg: str, search: list[str]) -> str:
    """The file a linker argument names (an object, an archive, `-lNAME` found in
    `search`), or "" for an option or a library it does not find."""
    path = arg
    if arg.startswith("-l") and len(arg) > 2:
        found = [os.path.join(d, f"lib{arg[2:]}.a") for d in search]
        path = next((p for p in found if os.path.isfile(p)), "")
    elif arg.startswith("-"):
        path = ""
    return path if path and os.path.isfile(path) else ""


def _bitcode(data: bytes) -> bool:
    return data.startswith(b"BC\xc0\xde")


def has_bitcode(ld_args: list[str], search: list[str]) -> bool:
    """Whether an input of the link is LLVM bitcode, or an archive holding some."""
    for arg in ld_args:
        path = _input_file(arg, search)
        if path:
            data = Path(path).read_bytes()
            if _bitcode(data) or any(_bitcode(body) for _, body in archive_members(data)):
                return True
    return False


def asyncify_inputs(ld_args: list[str], search: list[str], work: str) -> list[str] | None:
    """`ld_args` with each object that has an Asyncify twin replaced by it, and each
    archive holding such members preceded by an archive of their twins (the linker
    then takes a member from the first archive that defines its symbols). None when
    no input has a twin."""
    out: list[str] = []
    changed = False
    for n, arg in enumerate(ld_args):
        path = _input_file(arg, search)
        if not path:
            out.append(arg)
            continue
        data = Path(path).read_bytes()
        twin = _twin(data)
        if twin is not None:
            name = os.path.join(work, f"twin-{n}-{Path(path).name}")
            Path(name).write_bytes(twin)
            out.append(name)
            changed = True
            continue
        twins = [t for _, body in archive_members(data) if (t := _twin(body)) is not None]
        if twins:
            folder = os.path.join(work, f"twins-{n}")
            os.makedirs(folder)
            files = []
            for k, body in enumerate(twins):   # numbered: a member's name may hold a `/`
                files.append(os.path.join(folder, f"{k}.o"))
                Path(files[-1]).write_bytes(body)
            archive = os.path.join(work, f"libtwins-{n}.a")
            subprocess.run([str(zig.zig_exe()), "ar", "rcs", archive, *files], check=True,
                           env=zig.zig_env(), capture_output=True)
            out.append(archive)
            changed = True
        out.append(arg)
    return out if changed else None
