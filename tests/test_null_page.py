"""A null pointer dereference is SIGSEGV, as on Linux (issue 10).

`lind cc` marks the programs it links as keeping page 0 unused; a cage running one has
that page inaccessible. Loads and stores there trap in Wasmtime's compiled code; the
bulk instructions (memory.fill/copy/init) fault in Wasmtime's host code instead, and
the trampoline's fault handler turns that into the cage's SIGSEGV -- the host process
must survive every one of them, which these tests (running cages in-process) check by
going on.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import wasmtime

import lind
from lind import threei
from lind.toolchain.asyncify import NULL_PAGE_UNUSED, with_custom_section

COMPARED = [
    ("syscalls",), ("plain", "read"), ("plain", "write"), ("plain", "memset"),
    ("plain", "memcpy_from"), ("plain", "memcpy_to"), ("ignored", "read"),
    ("ignored", "memset"), ("blocked", "write"), ("blocked", "memcpy_to"),
    ("handler_exit", "read"), ("handler_exit", "memset"), ("handler_longjmp", "read"),
    ("handler_longjmp", "write"), ("child", "read"), ("child", "memcpy_from"),
]


def test_the_guard_needs_the_c_trampoline():
    assert threei.ACCELERATED, "the C trampoline did not build: no null-page guard"


@pytest.mark.parametrize("args", COMPARED, ids=["-".join(a) for a in COMPARED])
def test_null_dereferences_match_native(builds, tmp_path, args):
    native = subprocess.run([str(builds.native("null_page")), *args], capture_output=True,
                            timeout=60, cwd=tmp_path)
    caged = lind.run([builds.wasm("null_page"), *args], root=tmp_path, capture_output=True,
                     timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode
    if caged.returncode == -11 and args[0] in ("plain", "ignored", "blocked"):
        assert caged.trap.startswith("null pointer dereference"), caged.trap


def test_a_bulk_copy_at_null_reaches_the_handler_at_the_next_call(builds, tmp_path):
    """memset(NULL) faults in host code: its SIGSEGV arrives at the program's next system
    call (here the printf after it) rather than at the instruction, so the handler's
    longjmp skips that call; three rounds, then the default action ends the cage."""
    caged = lind.run([builds.wasm("null_page"), "handler_longjmp", "memset"],
                     root=tmp_path, capture_output=True, timeout=60)
    lines = caged.stdout.decode().replace("not reached", "").splitlines()
    assert lines == ["round 0: back from signal 11", "round 1: back from signal 11",
                     "round 2: back from signal 11", "again, with the default action"]
    assert caged.returncode == -11


def _module(tmp_path, name: str, body: str, marked: bool = True) -> str:
    """A hand-written program: page 0 touched by `body`, then a loop making no calls
    (the fault must end it at an epoch tick) or a return."""
    wasm = wasmtime.wat2wasm(f"""(module
      (memory (export "memory") 1)
      (data $blob "0123456789abcdef")
      (func (export "_start") {body}))""")
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(with_custom_section(wasm, NULL_PAGE_UNUSED) if marked else wasm)
    return str(path)


SPIN = "(loop $forever (br $forever))"
# A while of counting (a few epoch ticks), so that what follows meets the ticks the
# trampoline answers alone once nothing was found to do (epoch_tick in _accel.c).
WARM = """(local $i i32) (loop $warm (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $warm (i32.lt_u (local.get $i) (i32.const 500000000))))"""
HOSTILE = {
    "fill": "(memory.fill (i32.const 0) (i32.const 7) (i32.const 4096))",
    "copy_out": "(memory.copy (i32.const 8192) (i32.const 0) (i32.const 100))",
    "copy_in": "(memory.copy (i32.const 16) (i32.const 8192) (i32.const 100))",
    "init": "(memory.init $blob (i32.const 4) (i32.const 0) (i32.const 16))",
    "straddle": "(memory.fill (i32.const 4000) (i32.const 1) (i32.const 200))",
}


@pytest.mark.parametrize("how", sorted(HOSTILE))
def test_bulk_instructions_at_null_end_the_cage_not_the_host(tmp_path, how):
    caged = lind.run([_module(tmp_path, how, HOSTILE[how] + SPIN)], root=tmp_path,
                     capture_output=True, timeout=60)
    assert caged.returncode == -11
    assert caged.trap == "null pointer dereference in a bulk memory instruction"
    again = lind.run([_module(tmp_path, how + "-again", HOSTILE[how] + SPIN)], root=tmp_path,
                     capture_output=True, timeout=60)
    assert again.returncode == -11      # the guard works again after a fault


def test_a_bulk_instruction_at_null_after_quiet_ticks_ends_the_cage(tmp_path):
    caged = lind.run([_module(tmp_path, "late", WARM + HOSTILE["fill"] + SPIN)], root=tmp_path,
                     capture_output=True, timeout=60)
    assert caged.returncode == -11
    assert caged.trap == "null pointer dereference in a bulk memory instruction"


def test_a_module_that_does_not_say_page_0_is_unused_keeps_it(tmp_path):
    """WASI toolchains put data at 1024: no guard unless the program says so."""
    body = HOSTILE["fill"] + "(if (i32.ne (i32.load8_u (i32.const 9)) (i32.const 7)) (then unreachable))"
    caged = lind.run([_module(tmp_path, "unmarked", body, marked=False)], root=tmp_path,
                     capture_output=True, timeout=60)
    assert caged.returncode == 0, caged.stderr


# ------------------------------------------------------------ mprotect
# Every other page works as page 0 does once mprotect takes rights from it: the host's
# own mprotect on the cage's pages (tests/programs/mprotect.c; the attacks on the host
# through such pages are in test_attacks.py).

MPROTECT_COMPARED = ["efault", "child", "handler", "reuse", "full"]


@pytest.mark.parametrize("mode", MPROTECT_COMPARED)
def test_mprotect_matches_native(builds, tmp_path, mode):
    """EFAULT for a read into a protected page, a write from a read-only one works,
    PROT_READ|PROT_WRITE restores, munmap/mmap over a range reset it; a fork's child
    inherits it; a SIGSEGV handler catches the fault (libsodium's sodium_utils2); a
    child's memory reused by the next fork comes back accessible; with no room for one
    more range (Linux's map count, a cage's cap) munmap and mmap(MAP_FIXED) that would
    split one are ENOMEM and every protection stays (a cage's were all dropped)."""
    native = subprocess.run([str(builds.native("mprotect")), mode], capture_output=True,
                            timeout=60, cwd=tmp_path)
    caged = lind.run([builds.wasm("mprotect"), mode], root=tmp_path, capture_output=True,
                     timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode == 0, caged.stderr


MPROTECT_FAULTS = {
    "store": "segmentation fault at 0x{:x}, a page mprotect made inaccessible",
    "load": "segmentation fault at 0x{:x}, a page mprotect made inaccessible",
    "readonly": "segmentation fault at 0x{:x}, a page mprotect made read-only",
    "thread": "segmentation fault at 0x{:x}, a page mprotect made inaccessible",
    "bulk": "segmentation fault: host code touched a page mprotect protected (a bulk "
            "memory instruction, or a system call's buffer protected meanwhile)",
}


@pytest.mark.parametrize("mode", sorted(MPROTECT_FAULTS))
def test_a_protected_page_faults_as_natively(builds, tmp_path, mode):
    """A store to a guard page (or a load; a store to a read-only page after a load
    that works; a page another thread protected) ends the cage with SIGSEGV, exit 139
    from lind run, and says why; memset over a guard faults in Wasmtime's host code."""
    native = subprocess.run([str(builds.native("mprotect")), mode], capture_output=True,
                            timeout=60, cwd=tmp_path)
    caged = lind.run([builds.wasm("mprotect"), mode], root=tmp_path, capture_output=True,
                     timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert native.returncode == caged.returncode == -11
    fault = re.search(r"at (0x[0-9a-f]+)", caged.trap or "")
    address = int(fault.group(1), 16) if fault else 0
    assert caged.trap == MPROTECT_FAULTS[mode].format(address), caged.trap
    cli = subprocess.run([sys.executable, "-m", "lind", "run", "--root", str(tmp_path),
                          str(builds.wasm("mprotect")), mode], capture_output=True,
                         input=b"", timeout=60)
    assert cli.returncode == 139
    assert MPROTECT_FAULTS[mode].split(" at ")[0] in cli.stderr.decode()


def test_protected_ranges_are_capped_and_churn_leaves_none_behind(builds, tmp_path):
    """Each range splits a host mapping of the Lind process: past the cap mprotect is
    ENOMEM (as Linux's past its map count); 100,000 alternating protections of 64 pages
    leave no range behind; unprotecting all gives the room back, and so does the cage's
    end (all cages' count was left grown by each range unprotected, until every
    mprotect of the process was ENOMEM: sodium_utils2's 10,000 sodium_malloc did it)."""
    each, _, before, _ = threei._impl.protection_limits()
    caged = lind.run([builds.wasm("mprotect"), "cap"], root=tmp_path, capture_output=True,
                     timeout=120)
    assert caged.returncode == 0, caged.stderr
    assert caged.stdout.decode().splitlines() == [
        f"protected {each} ranges, then Out of memory", "after churn, unprotect all: ok",
        "protect again: ok"]
    assert threei._impl.protection_limits()[2] == before


def test_exec_clears_the_protections(builds, tmp_path):
    (tmp_path / "mprotect.wasm").write_bytes(builds.wasm("mprotect").read_bytes())
    (tmp_path / "mprotect.wasm").chmod(0o755)
    caged = lind.run([builds.wasm("mprotect"), "exec", "/mprotect.wasm"], root=tmp_path,
                     capture_output=True, timeout=60)
    assert (caged.returncode, caged.stdout) == (0, b"fresh ok\n"), caged.stderr
