"""A policy carried inside a WebAssembly module, as a custom section named `lind.policy`
(and, through elf.py, inside a native ELF program).

Custom sections are ignored by every runtime, so a module keeps running elsewhere. The
section holds the policy's TOML text as written (UTF-8), so anyone can read it back
(`lind inspect`, or any wasm tool that dumps custom sections). The module's sections are
read with the toolchain's reader, the one Lind uses everywhere.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from lind.cage.program_file import read_program
from lind.isolation import elf
from lind.toolchain.asyncify import (
    MAX_SECTIONS,
    AsyncifyError,
    encode_leb128,
    leb128,
    sections,
    with_custom_section,
)

if TYPE_CHECKING:      # policy.py is imported only for programs that carry one
    from lind.isolation.policy import Policy

SECTION = "lind.policy"
_CUSTOM = 0


class NotAModule(ValueError):
    """The file is neither a WebAssembly module nor an ELF program Lind can read (or it
    is cut short)."""


def is_elf(path: str | os.PathLike[str]) -> bool:
    return read_program(path, 4) == elf.MAGIC


def _policy_section(wasm: bytes) -> tuple[int, int] | None:
    """Where the policy's text lies in `wasm` (None: no such section)."""
    try:
        for count, (kind, start, end) in enumerate(sections(wasm), 1):
            if count > MAX_SECTIONS:     # none Lind runs (loader): a walk of them all
                raise NotAModule(f"more than {MAX_SECTIONS:,} sections")   # took minutes
            if kind == _CUSTOM:
                length, pos = leb128(wasm, start)
                if pos + length > end:
                    raise NotAModule("a custom section's name runs past the section")
                if wasm[pos:pos + length] == SECTION.encode():
                    return pos + length, end
    except AsyncifyError as exc:
        raise NotAModule(f"{exc}") from None
    except IndexError:
        raise NotAModule("cut short inside a section header") from None
    return None


def policy_text(path: str | os.PathLike[str]) -> str | None:
    """The policy text embedded in the module (or ELF program) at `path` (None: it
    carries none)."""
    wasm = read_program(path)
    if wasm[:4] == elf.MAGIC:
        try:
            found = elf.policy_note(wasm)
        except (elf.NotElf, struct.error) as exc:
            raise NotAModule(f"{exc}") from None
    else:
        found = _policy_section(wasm)
    if found is None:
        return None
    from lind.isolation.policy import MAX_SIZE, PolicyError

    source = f"{path} ({SECTION})"
    if found[1] - found[0] > MAX_SIZE:   # before decoding it: the program's to fill
        raise PolicyError(source, f"{found[1] - found[0]} bytes: a policy is at most {MAX_SIZE}")
    try:
        return wasm[found[0]:found[1]].decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(source, "the embedded policy is not UTF-8") from None


def embedded_policy(path: str | os.PathLike[str]) -> Policy | None:
    """The policy the module at `path` carries, checked as a policy file would be."""
    text = policy_text(path)
    if text is None:
        return None
    from lind.isolation.policy import parse_policy

    return parse_policy(text, f"{os.fspath(path)} ({SECTION})")


def embed(path: str | os.PathLike[str], policy: Policy) -> None:
    """Put `policy` in the module (or ELF program) at `path`, replacing any it carried;
    the file is replaced whole (a reader never sees half a program)."""
    path = Path(path)
    data = path.read_bytes()
    if data[:4] == elf.MAGIC:
        try:
            out = elf.with_policy(data, policy.text)
        except elf.NotElf as exc:
            raise NotAModule(f"{exc}") from None
    else:
        _policy_section(data)                        # NotAModule if it cannot be read
        kept = bytearray(data[:8])
        for kind, start, end in sections(data):
            if kind == _CUSTOM:
                length, pos = leb128(data, start)
                if data[pos:pos + length] == SECTION.encode():
                    continue
            kept += bytes([kind]) + encode_leb128(end - start) + data[start:end]
        out = with_custom_section(bytes(kept), SECTION, policy.text.encode())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(out)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
