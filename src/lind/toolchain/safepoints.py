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
decoded (wasm_code.py) only to find `loop` and step over immediates. A module with an
instruction the decoder does not know is left as it is (SafepointError).
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
from lind.toolchain.wasm_code import LOOP, UnknownInstruction, code_start, instructions

SAFEPOINT = "__lind_safepoint"
#: the custom section that says a module has them
SAFEPOINTS_INSERTED = "lind.safepoints"
PENDING_WORD = "__lind_signal_pending"


class SafepointError(ValueError):
    """The module cannot be given safepoints (an unknown instruction, no libc entry)."""


def _instrument_body(body: bytes, check: bytes) -> bytes:
    """One function body (locals, then code) with `check` after every loop's start."""
    try:
        at = code_start(body)
        out = bytearray(body[:at])
        for op, start, after in instructions(body, at):
            out += body[start:after]
            if op == LOOP:
                out += check
    except UnknownInstruction as exc:
        raise SafepointError(str(exc)) from None
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
