"""Compiles run in processes the compile server forks (lind.engine.compiler): one server
per Lind process, started again if it ends, gone with Lind, and every compile it
forked gone with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import wasmtime

from lind.engine import EngineError, compiler
from lind.engine.wasmtime_engine import engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module(text: str) -> bytes:
    return wasmtime.wat2wasm(text)


def answer_of(code: bytes) -> int:
    """Run the compiled `answer` export: the code came back whole and loads."""
    store = wasmtime.Store(engine())
    store.set_epoch_deadline(1 << 40)          # Lind's engine interrupts by epoch
    instance = wasmtime.Instance(store, wasmtime.Module.deserialize(engine(), code), [])
    return instance.exports(store)["answer"](store)


def answering(n: int) -> bytes:
    return module(f'(module (func (export "answer") (result i32) i32.const {n}))')


def test_compiles_come_from_one_server_that_is_started_again_when_it_ends():
    assert answer_of(compiler.compile_serialized(answering(41))) == 41
    server = compiler._server.process
    assert answer_of(compiler.compile_serialized(answering(42))) == 42
    assert compiler._server.process is server          # the same server forked both
    server.kill()
    server.wait()
    assert answer_of(compiler.compile_serialized(answering(43))) == 43
    assert compiler._server.process.pid != server.pid


def test_a_module_the_engine_refuses_is_an_engine_error():
    with pytest.raises(EngineError, match="invalid module|magic|unexpected"):
        compiler.compile_serialized(b"\0asm\x01\0\0\0\x7f")
    assert answer_of(compiler.compile_serialized(answering(7))) == 7   # the server goes on


@pytest.mark.parametrize(("value", "limit"), [("512M", 512 << 20), ("1G", 1 << 30),
                                              (str(300 << 20), 300 << 20), ("1K", 64 << 20),
                                              ("much", compiler.DEFAULT_COMPILE_MEMORY)])
def test_compile_memory_takes_sizes_as_memory_does(monkeypatch, value, limit):
    """$LIND_COMPILE_MEMORY with K, M or G (512M was ignored for the 1 GiB default)."""
    monkeypatch.setenv("LIND_COMPILE_MEMORY", value)
    assert compiler.compile_memory() == limit


def test_a_compile_past_its_memory_is_a_compile_limit(monkeypatch):
    monkeypatch.setenv("LIND_COMPILE_MEMORY", str(64 << 20))
    functions = "".join(f'(func (export "f{i}") (result i32) i32.const {i})' for i in range(60_000))
    with pytest.raises(compiler.CompileLimit, match="more than 64 MiB"):
        compiler.compile_serialized(module(f"(module {functions})"))


_LIND_ENDS_DURING_A_COMPILE = r"""
import os, sys, threading, time
from lind.engine import compiler
functions = "".join(f'(func (export "f{i}") (result i32) i32.const {i})' for i in range(400_000))
import wasmtime
slow = wasmtime.wat2wasm(f"(module {functions})")
threading.Thread(target=compiler.compile_serialized, args=(slow,), daemon=True).start()
for _ in range(200):
    time.sleep(0.05)
    if compiler._server is not None:
        server = compiler._server.process.pid
        workers = [c for task in os.listdir(f"/proc/{server}/task")
                   for c in open(f"/proc/{server}/task/{task}/children").read().split()]
        if workers:
            print(server, *workers, flush=True)
            os._exit(0)            # Lind ends (as by SIGKILL: nothing of its runs)
print("no compile seen", flush=True)
"""


def test_the_server_and_its_compiles_end_with_lind(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src"),
           "LIND_COMPILE_MEMORY": str(4 << 30)}
    done = subprocess.run([sys.executable, "-c", _LIND_ENDS_DURING_A_COMPILE], env=env,
                          capture_output=True, text=True, timeout=120)
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2, (done.stdout, done.stderr)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(alive(p) for p in pids), pids


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper, which init is now, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def in_a_fork(check) -> bytes:
    """What `check()` (run in a fork of this process) returned, or its exception."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                    # pragma: no cover - the child
        try:
            os.write(write, check())
        except BaseException as exc:                # noqa: BLE001 - told to the parent
            os.write(write, repr(exc).encode())
        os._exit(0)
    os.close(write)
    said = os.read(read, 200)
    os.close(read)
    os.waitpid(pid, 0)
    return said


def test_a_fork_of_the_lind_process_shares_its_server_until_it_ends():
    """The start-up server's runs are forks: they compile through its compile server;
    one whose server was killed starts its own, leaving the parent's reference alone."""
    compiler.start_server()
    parent_server = compiler._server.process.pid

    def through_the_parent_s() -> bytes:
        answer = answer_of(compiler.compile_serialized(answering(2)))
        return f"{answer} {compiler._server.process.pid}".encode()

    assert in_a_fork(through_the_parent_s) == f"2 {parent_server}".encode()

    def after_it_ended() -> bytes:
        os.kill(parent_server, 9)
        while alive(parent_server):
            time.sleep(0.01)
        answer = answer_of(compiler.compile_serialized(answering(3)))
        mine = compiler._server.process.pid
        compiler.stop_server()                      # reaps its own
        return f"{answer} {mine != parent_server}".encode()

    assert in_a_fork(after_it_ended) == b"3 True"
    compiler._server.process.wait()                 # the parent's, killed by its fork
    assert answer_of(compiler.compile_serialized(answering(4))) == 4    # started again
