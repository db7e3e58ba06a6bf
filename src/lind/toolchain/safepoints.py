"""Signal safepoints at the top of every loop of a program that can fork or longjmp.

The host runs signal handlers when a system call returns and, for code that makes none
(a `while (!done);` loop), from its epoch tick -- a host frame in the middle of the
program, which Asyncify cannot unwind through, so a handler called that way cannot
fork or setjmp. In a program `lind cc` instruments with Asyncify, each loop therefore
starts with

    if (__lind_signal_pending) __lind_safepoint();

(the word the host sets while a caught signal waits, and the guest libc's entry that
runs the handlers), so handlers run from the program's own frames, where Asyncify can
unwind. The check is one load and one branch per iteration; the host's tick still
covers code that loops by recursion.

This rewrites the code section of a linked module directly: every instruction is
decoded only to find `loop` and step over immediates. A module with an instruction
this decoder does not know is left as it is (SafepointError).
"""

from __future__ import annotations

from lind.toolchain.asyncify import (
    encode_leb128,
    exported_constant,
    leb128,
    module_exports,
    sections,
    with_custom_section,
)

SAFEPOINT = "__lind_safepoint"
#: the custom section that says a module has them
SAFEPOINTS_INSERTED = "lind.safepoints"
PENDING_WORD = "__lind_signal_pending"


class SafepointError(ValueError):
    """The module cannot be given safepoints (an unknown instruction, no libc entry)."""


# Opcodes whose immediate is one LEB number (an index, a label, a constant).
_ONE_LEB = {0x07, 0x08, 0x09, 0x0C, 0x0D, 0x10, 0x12, 0x14, 0x15, 0x18, 0x20, 0x21, 0x22,
            0x23, 0x24, 0x25, 0x26, 0x3F, 0x40, 0x41, 0x42, 0xD2, 0xD4, 0xD6}
_NO_IMMEDIATE = {0x00, 0x01, 0x05, 0x0A, 0x0B, 0x0F, 0x19, 0x1A, 0x1B, 0xD1, 0xD3, 0xD5,
                 *range(0x45, 0xC5)}
_VALTYPES = {0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F, 0x6E, 0x6D, 0x6C, 0x6B, 0x6A,
             0x69, 0x71, 0x72, 0x73, 0x74}


def _valtype(code: bytes, at: int) -> int:
    """Step over a value type (a reference type may carry a heap type)."""
    if code[at] in (0x63, 0x64):
        return leb128(code, at + 1, signed=True)[1]
    if code[at] not in _VALTYPES:
        raise SafepointError(f"unknown value type {code[at]:#x}")
    return at + 1


def _blocktype(code: bytes, at: int) -> int:
    if code[at] == 0x40:
        return at + 1
    if code[at] in _VALTYPES or code[at] in (0x63, 0x64):
        return _valtype(code, at)
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
    raise SafepointError(f"unknown instruction {prefix:#x} {sub}")


def _instrument_body(code: bytes, check: bytes) -> bytes:
    """One function body (locals, then code) with `check` after every loop's start."""
    out = bytearray()
    count, at = leb128(code, 0)
    for _ in range(count):
        at = _valtype(code, leb128(code, at)[1])
    out += code[:at]
    while at < len(code):
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
                at = _valtype(code, at)
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
            raise SafepointError(f"unknown instruction {op:#x}")
        out += code[start:at]
        if op == 0x03:
            out += check
    if at != len(code):
        raise SafepointError("an instruction runs past its function")
    return bytes(out)


def insert(wasm: bytes) -> bytes:
    """`wasm` with the safepoint check at the top of every loop (see the module doc)."""
    wasm = bytes(wasm)
    kind, function = module_exports(wasm).get(SAFEPOINT, (None, None))
    word = exported_constant(wasm, PENDING_WORD)
    if kind != 0 or word is None:
        raise SafepointError(f"the module does not export {SAFEPOINT} and {PENDING_WORD}")
    # i32.const word; i32.load; if; call __lind_safepoint; end
    check = (b"\x41" + encode_leb128(word, signed=True) + b"\x28\x02\x00" + b"\x04\x40"
             + b"\x10" + encode_leb128(function) + b"\x0b")
    out = bytearray(wasm[:8])
    for section, pos, end in sections(wasm):
        if section == 10:
            count, p = leb128(wasm, pos)
            body = bytearray(encode_leb128(count))
            for _ in range(count):
                size, p = leb128(wasm, p)
                new = _instrument_body(wasm[p:p + size], check)
                body += encode_leb128(len(new)) + new
                p += size
            out += bytes([section]) + encode_leb128(len(body)) + body
        else:
            out += bytes([section]) + encode_leb128(end - pos) + wasm[pos:end]
    return with_custom_section(bytes(out), SAFEPOINTS_INSERTED)
