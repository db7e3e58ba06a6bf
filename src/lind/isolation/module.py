"""A policy carried inside a WebAssembly module, as a custom section named `lind.policy`
(and, through elf.py, inside a native ELF program).

Custom sections are ignored by every runtime, so a module keeps running elsewhere. The
section holds the policy's TOML text as written (UTF-8), so anyone can read it back
(`lind inspect`, or any wasm tool that dumps custom sections).
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from lind.isolation import elf

if TYPE_CHECKING:      # policy.py is imported only for programs that carry one
    from lind.isolation.policy import Policy

SECTION = "lind.policy"
_MAGIC = b"\0asm\x01\0\0\0"
_CUSTOM = 0


class NotAModule(ValueError):
    """The file is not a WebAssembly module (or is cut short)."""


def _leb_u32(read: BinaryIO) -> int:
    value = shift = 0
    for _ in range(5):
        byte = read.read(1)
        if not byte:
            raise NotAModule("cut short inside a section header")
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
    raise NotAModule("a section size longer than 32 bits")


def _leb_bytes(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _sections(f: BinaryIO) -> Iterator[tuple[int, str | None, int, int]]:
    """(id, custom name or None, start of the whole section, end) for each section,
    seeking past the contents."""
    if f.read(8) != _MAGIC:
        raise NotAModule("not a WebAssembly module (no \\0asm version 1 header)")
    size_of_file = os.fstat(f.fileno()).st_size
    while True:
        start = f.tell()
        kind = f.read(1)
        if not kind:
            return
        size = _leb_u32(f)
        body = f.tell()
        end = body + size
        if end > size_of_file:
            raise NotAModule("cut short: a section runs past the end of the file")
        name = None
        if kind[0] == _CUSTOM:
            length = _leb_u32(f)
            if f.tell() + length > end:
                raise NotAModule("a custom section's name runs past the section")
            name = f.read(length).decode("utf-8", "replace")
        yield kind[0], name, start, end
        f.seek(end)


def is_elf(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == elf.MAGIC


def policy_text(path: str | os.PathLike[str]) -> str | None:
    """The policy text embedded in the module (or ELF program) at `path` (None: it
    carries none)."""
    if is_elf(path):
        try:
            return elf.policy_text(path)
        except (elf.NotElf, UnicodeDecodeError, struct.error) as exc:
            raise NotAModule(f"{exc}") from None
    with open(path, "rb") as f:
        for kind, name, start, end in _sections(f):
            if kind == _CUSTOM and name == SECTION:
                f.seek(start + 1)
                _leb_u32(f)
                f.seek(_leb_u32(f), os.SEEK_CUR)
                raw = f.read(end - f.tell())
                try:
                    return raw.decode("utf-8")
                except UnicodeDecodeError:
                    from lind.isolation.policy import PolicyError

                    raise PolicyError(f"{path} ({SECTION})", "the embedded policy is not UTF-8") from None
    return None


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
    if is_elf(path):
        try:
            return elf.embed(path, policy.text)
        except elf.NotElf as exc:
            raise NotAModule(f"{exc}") from None
    path = Path(path)
    kept = []
    with open(path, "rb") as f:
        for kind, name, start, end in _sections(f):
            if not (kind == _CUSTOM and name == SECTION):
                kept.append((start, end))
        f.seek(0)
        data = f.read()
    name = SECTION.encode()
    payload = _leb_bytes(len(name)) + name + policy.text.encode()
    out = bytearray(_MAGIC)
    for start, end in kept:
        out += data[start:end]
    out += bytes([_CUSTOM]) + _leb_bytes(len(payload)) + payload
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(out)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
