"""Stepping through a WebAssembly code section instruction by instruction.

Only what the toolchain's own passes need (safepoints.py rewrites loops, callgraph.py
reads calls): each instruction's opcode and where its immediates end, for the
instructions clang and wasm-ld emit (MVP, bulk memory, atomics, SIMD, reference types,
exception handling). Anything else raises UnknownInstruction, so a pass can leave a
module it does not understand as it is.
"""

from __future__ import annotations

from collections.abc import Iterator

from lind.toolchain.asyncify import leb128


class UnknownInstruction(ValueError):
    """An instruction (or value type) this decoder does not know."""


# Opcodes whose immediate is one LEB number (an index, a label, a constant).
_ONE_LEB = {0x07, 0x08, 0x09, 0x0C, 0x0D, 0x10, 0x12, 0x14, 0x15, 0x18, 0x20, 0x21, 0x22,
            0x23, 0x24, 0x25, 0x26, 0x3F, 0x40, 0x41, 0x42, 0xD2, 0xD4, 0xD6}
_NO_IMMEDIATE = {0x00, 0x01, 0x05, 0x0A, 0x0B, 0x0F, 0x19, 0x1A, 0x1B, 0xD1, 0xD3, 0xD5,
                 *range(0x45, 0xC5)}
_VALTYPES = {0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F, 0x6E, 0x6D, 0x6C, 0x6B, 0x6A,
             0x69, 0x71, 0x72, 0x73, 0x74}

CALL, CALL_INDIRECT, RETURN_CALL, RETURN_CALL_INDIRECT = 0x10, 0x11, 0x12, 0x13
CALL_REF, RETURN_CALL_REF, REF_FUNC, LOOP, END = 0x14, 0x15, 0xD2, 0x03, 0x0B


def valtype_end(code: bytes, at: int) -> int:
    """Step over a value type (a reference type may carry a heap type)."""
    if code[at] in (0x63, 0x64):
        return leb128(code, at + 1, signed=True)[1]
    if code[at] not in _VALTYPES:
        raise UnknownInstruction(f"unknown value type {code[at]:#x}")
    return at + 1


def _blocktype(code: bytes, at: int) -> int:
    if code[at] == 0x40:
        return at + 1
    if code[at] in _VALTYPES or code[at] in (0x63, 0x64):
        return valtype_end(code, at)
    return leb128(code, at, signed=True)[1]      # a type index (s33)


def _memarg(code: bytes, at: int) -> int:
    align, at = leb128(code, at)
    if align & 0x40:                              # multi-memory: a memory index follows
        at = leb128(code, at)[1]
    return leb128(code, at)[1]


def _prefixed(code: bytes, prefix: int, at: int) -> int:
    """Step over the immediates of a 0xFC, 0xFD or 0xFE instruction (sub-opcode read)."""
    sub, at = leb128(code, at)
    if prefix == 0xFC:
        if sub <= 7 or sub in (11, 15, 16, 17):   # saturating truncations; one index
            return at if sub <= 7 else leb128(code, at)[1]
        if sub in (8, 10, 12, 14):               # two indices
            return leb128(code, leb128(code, at)[1])[1]
        if sub in (9, 13):
            return leb128(code, at)[1]
    elif prefix == 0xFD:
        if sub <= 11 or sub in (92, 93):
            return _memarg(code, at)
        if sub in (12, 13):                       # v128.const, i8x16.shuffle
            return at + 16
        if 21 <= sub <= 34:                       # lane index
            return at + 1
        if 84 <= sub <= 91:                       # load/store lane: memarg, lane
            return _memarg(code, at) + 1
        if sub <= 0x113:
            return at
    elif prefix == 0xFE:
        if sub == 3:                              # atomic.fence
            return at + 1
        if sub <= 0x4E:
            return _memarg(code, at)
    raise UnknownInstruction(f"unknown instruction {prefix:#x} {sub}")


def code_start(body: bytes) -> int:
    """Where a function body's instructions start (after its local declarations)."""
    count, at = leb128(body, 0)
    for _ in range(count):
        at = valtype_end(body, leb128(body, at)[1])
    return at


def instructions(code: bytes, at: int, end: int | None = None) -> Iterator[tuple[int, int, int]]:
    """(opcode, start, end) of each instruction from `at` to `end` (default: the end of
    `code`); `at` and the immediates follow the opcode byte, `start + 1`."""
    end = len(code) if end is None else end
    while at < end:
        op, start = code[at], at
        at += 1
        if op in _NO_IMMEDIATE:
            pass
        elif op in _ONE_LEB:
            at = leb128(code, at, signed=op in (0x41, 0x42))[1]
        elif op in (0x02, 0x03, 0x04, 0x06):
            at = _blocktype(code, at)
        elif op in (0x11, 0x13):                  # call_indirect: type, table
            at = leb128(code, leb128(code, at)[1])[1]
        elif op == 0x0E:                          # br_table: labels, default
            n, at = leb128(code, at)
            for _ in range(n + 1):
                at = leb128(code, at)[1]
        elif op == 0x1C:                          # select with types
            n, at = leb128(code, at)
            for _ in range(n):
                at = valtype_end(code, at)
        elif 0x28 <= op <= 0x3E:
            at = _memarg(code, at)
        elif op == 0x43:
            at += 4
        elif op == 0x44:
            at += 8
        elif op == 0xD0:                          # ref.null: heap type
            at = leb128(code, at, signed=True)[1]
        elif op == 0x1F:                          # try_table: type, catch clauses
            at = _blocktype(code, at)
            n, at = leb128(code, at)
            for _ in range(n):
                kind, at = code[at], at + 1
                if kind in (0, 1):
                    at = leb128(code, at)[1]
                at = leb128(code, at)[1]
        elif op in (0xFC, 0xFD, 0xFE):
            at = _prefixed(code, op, at)
        else:
            raise UnknownInstruction(f"unknown instruction {op:#x}")
        if at > end:
            raise UnknownInstruction("an instruction runs past its function")
        yield op, start, at


def constant_expression(data: bytes, at: int) -> tuple[list[int], int]:
    """The functions a constant expression (a global's value, an element) names with
    ref.func, and where it ends (after its `end`)."""
    named = []
    for op, start, after in instructions(data, at):
        if op == REF_FUNC:
            named.append(leb128(data, start + 1)[0])
        elif op == END:
            return named, after
    raise UnknownInstruction("a constant expression without its end")
