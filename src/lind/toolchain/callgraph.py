"""Which functions of a linked program can be on the stack when it forks.

Asyncify must instrument every function that can be below a call to
lind.syscall_unwind (fork, and setjmp/longjmp in a program that forks), and by
default it assumes that every indirect call can get there: in a program that
forks, `qsort` (which calls its comparator through a pointer) and every function
with a loop (whose signal safepoint calls handlers through pointers) were
instrumented, and ran about twice as slowly. This reads the call graph from the
binary instead: a direct call reaches what its callee reaches, and an indirect call
of a given signature reaches what any function of that signature whose address is
taken (in an element segment or by ref.func) reaches. `lind cc` gives Asyncify the
result as its only-list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from lind.toolchain.asyncify import function_imports, leb128, sections
from lind.toolchain.wasm_code import (
    CALL,
    CALL_INDIRECT,
    CALL_REF,
    REF_FUNC,
    RETURN_CALL,
    RETURN_CALL_INDIRECT,
    RETURN_CALL_REF,
    UnknownInstruction,
    code_start,
    constant_expression,
    instructions,
    valtype_end,
)

_DIRECT = (CALL, RETURN_CALL)
_INDIRECT = (CALL_INDIRECT, RETURN_CALL_INDIRECT, CALL_REF, RETURN_CALL_REF)


def _signatures(data: bytes, at: int) -> list[bytes]:
    """Each function type of the type section as the bytes of its parameters and
    results, so that two types with the same signature compare equal (for the value
    types C programs have: a typed reference names another type by index, so it is
    refused rather than compared by its bytes)."""
    count, at = leb128(data, at)
    out = []
    for _ in range(count):
        if data[at] != 0x60:                       # recursion groups, subtypes (GC)
            raise UnknownInstruction(f"unknown type form {data[at]:#x}")
        start = at = at + 1
        for _ in range(2):                         # parameters, results
            n, at = leb128(data, at)
            for _ in range(n):
                if data[at] in (0x63, 0x64):       # a typed reference: equal types could
                    raise UnknownInstruction("typed function references")   # differ in bytes
                at = valtype_end(data, at)
        out.append(data[start:at])
    return out


def _element_functions(data: bytes, at: int) -> Iterable[int]:
    """Every function an element segment names (active, passive or declared)."""
    count, at = leb128(data, at)
    for _ in range(count):
        flags, at = leb128(data, at)
        if flags > 7:
            raise UnknownInstruction(f"unknown element segment kind {flags}")
        if not flags & 1:                          # active: (table,) offset
            if flags & 2:
                at = leb128(data, at)[1]
            at = constant_expression(data, at)[1]
        if flags & 3:                              # element kind or reference type
            at = at + 1 if not flags & 4 else valtype_end(data, at)
        n, at = leb128(data, at)
        for _ in range(n):
            if flags & 4:                          # expressions
                named, at = constant_expression(data, at)
                yield from named
            else:                                  # function indices
                index, at = leb128(data, at)
                yield index


def functions_reaching(wasm: bytes, imports: Iterable[str]) -> set[int]:
    """Indices of the functions (defined, not imported) that can call one of
    `imports` ("module.name"), directly or through any chain of direct and indirect
    calls. Raises UnknownInstruction (or AsyncifyError) on a binary it cannot read."""
    data = bytes(wasm)
    wanted = set(imports)
    imported = function_imports(data)
    signature_of = [type_index for _, _, type_index in imported]
    reached = {index for index, (module, name, _) in enumerate(imported)
               if f"{module}.{name}" in wanted}
    types: list[bytes] = []
    taken: set[int] = set()
    direct_callers: dict[int, set[int]] = defaultdict(set)
    indirect_callers: dict[bytes, set[int]] = defaultdict(set)
    for section, at, _ in sections(data):
        if section == 1:
            types = _signatures(data, at)
        elif section == 3:
            count, at = leb128(data, at)
            for _ in range(count):
                type_index, at = leb128(data, at)
                signature_of.append(type_index)
        elif section == 6:                         # globals: a funcref's value
            count, at = leb128(data, at)
            for _ in range(count):
                named, at = constant_expression(data, valtype_end(data, at) + 1)
                taken.update(named)
        elif section == 9:
            taken.update(_element_functions(data, at))
        elif section == 10:
            count, at = leb128(data, at)
            for caller in range(len(imported), len(imported) + count):
                size, at = leb128(data, at)
                body = data[at:at + size]
                at += size
                for op, start, _ in instructions(body, code_start(body)):
                    if op in _DIRECT:
                        direct_callers[leb128(body, start + 1)[0]].add(caller)
                    elif op in _INDIRECT:
                        indirect_callers[types[leb128(body, start + 1)[0]]].add(caller)
                    elif op == REF_FUNC:
                        taken.add(leb128(body, start + 1)[0])
    signatures_reached: set[bytes] = set()
    pending = list(reached)
    while pending:
        callee = pending.pop()
        callers = direct_callers.get(callee, set())
        signature = types[signature_of[callee]]
        if callee in taken and signature not in signatures_reached:
            signatures_reached.add(signature)
            callers = callers | indirect_callers.get(signature, set())
        for caller in callers - reached:
            reached.add(caller)
            pending.append(caller)
    return {index for index in reached if index >= len(imported)}
