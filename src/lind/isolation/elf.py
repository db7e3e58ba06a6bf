"""A policy carried inside a native program: an ELF note section `.lind.policy`.

Section headers are for tools, not for the loader, so the program runs as before. The
note's name is "Lind", its type 1, its descriptor the policy's TOML text. Embedding
appends the note, a section-name table with its name, and a new section header table
(the old headers kept in place and order, so no section's index changes), then points
the ELF header at them. 64-bit little-endian ELF only (x86_64 Linux programs).
"""

from __future__ import annotations

import struct

SECTION = ".lind.policy"
MAGIC = b"\x7fELF"
_NOTE_NAME, _NOTE_TYPE = b"Lind\0", 1
_SHT_NOTE = 7
_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")          # Elf64_Ehdr
_SECTION = struct.Struct("<IIQQQQIIQQ")               # Elf64_Shdr


class NotElf(ValueError):
    """Not a 64-bit little-endian ELF file with section headers (or cut short)."""


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _parse(data: bytes) -> tuple[list, list[list], int, bytes]:
    """(ELF header fields, section headers as lists, index of the name table, its bytes)."""
    if len(data) < _HEADER.size or data[:4] != MAGIC or data[4] != 2 or data[5] != 1:
        raise NotElf("not a 64-bit little-endian ELF file")
    header = list(_HEADER.unpack_from(data))
    shoff, shentsize, shnum, shstrndx = header[6], header[11], header[12], header[13]
    if not shoff or shentsize != _SECTION.size or not 0 < shstrndx < shnum \
            or shoff + shnum * _SECTION.size > len(data):
        raise NotElf("no section headers Lind can read")
    sections = [list(_SECTION.unpack_from(data, shoff + i * _SECTION.size)) for i in range(shnum)]
    names = sections[shstrndx]
    if names[4] + names[5] > len(data):
        raise NotElf("the section-name table runs past the end of the file")
    return header, sections, shstrndx, data[names[4]:names[4] + names[5]]


def _name(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    return table[offset:end if end >= 0 else len(table)].decode("utf-8", "replace")


def _policy_index(sections: list[list], table: bytes) -> int | None:
    return next((i for i, s in enumerate(sections)
                 if s[1] == _SHT_NOTE and _name(table, s[0]) == SECTION), None)


def policy_note(data: bytes) -> tuple[int, int] | None:
    """Where the policy text embedded in the ELF program `data` lies (None: it carries
    none)."""
    _, sections, _, table = _parse(data)
    index = _policy_index(sections, table)
    if index is None:
        return None
    offset, size = sections[index][4], sections[index][5]
    note = data[offset:offset + size]
    namesz, descsz, kind = struct.unpack_from("<III", note)
    start = 12 + len(_pad4(note[12:12 + namesz]))
    if note[12:12 + namesz] != _NOTE_NAME or kind != _NOTE_TYPE or start + descsz > len(note):
        raise NotElf(f"{SECTION} is not a Lind policy note")
    return offset + start, offset + start + descsz


def with_policy(data: bytes, text: str) -> bytes:
    """The ELF program `data` carrying the policy `text` (in place of any it carried)."""
    out = bytearray(data)
    header, sections, shstrndx, table = _parse(data)
    desc = text.encode()
    note = struct.pack("<III", len(_NOTE_NAME), len(desc), _NOTE_TYPE) + _pad4(_NOTE_NAME) + _pad4(desc)
    index = _policy_index(sections, table)
    if index is None:              # a new header, named in a longer name table
        name_at = len(table)
        table += SECTION.encode() + b"\0"
        sections.append([name_at, _SHT_NOTE, 0, 0, 0, 0, 0, 0, 4, 0])
        index = len(sections) - 1
    out += b"\0" * (-len(out) % 8)
    sections[index][4:6] = [len(out), len(note)]
    out += note
    sections[shstrndx][4:6] = [len(out), len(table)]
    out += table + b"\0" * (-len(table) % 8)
    header[6], header[12] = len(out), len(sections)
    out += b"".join(_SECTION.pack(*s) for s in sections)
    out[:_HEADER.size] = _HEADER.pack(*header)
    return bytes(out)
