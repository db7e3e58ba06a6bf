"""System V IPC between cages (the single-process cases are in
tests/programs/conformance/sysv_ipc.c, compared with Linux): two unrelated trees given
one network meeting under an ftok key, other trees, runtimes and the host kept apart,
waits ended by signals and kills, SEM_UNDO of a killed cage, and a hostile cage."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import os
import random
import signal
import time
from pathlib import Path

import lind
from lind.microvisor import limits, sys_ipc

_libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT, IPC_EXCL, IPC_RMID = 0o1000, 0o2000, 0

CANARY = b"canary: nothing a cage does may change this\n"


def _spawn(rt: lind.Runtime, program: Path, args: list[str], root: Path, tag: str, **kw):
    """A cage whose stdio are scratch files in the root's parent; returns (cage, out path)."""
    out = root.parent / f"{tag}.out"
    with open(root.parent / f"{tag}.in", "wb+") as fin, open(out, "wb") as fout, \
            open(root.parent / f"{tag}.err", "wb") as ferr:
        cage = rt.spawn(program, args, root=str(root), stdin=fin.fileno(),
                        stdout=fout.fileno(), stderr=ferr.fileno(), **kw)
    return cage, out


def _run(rt: lind.Runtime, program: Path, args: list[str], root: Path, tag: str,
         **kw) -> str:
    cage, out = _spawn(rt, program, args, root, tag, **kw)
    assert cage.wait(60) == 0, (root.parent / f"{tag}.err").read_text()
    return out.read_text()


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.005)


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    return root


def _key() -> int:
    return random.randrange(0x10000000, 0x7FFFFFFF)


def test_two_unrelated_trees_given_one_network_share_a_segment_and_semaphores_by_ftok_key(
        builds, tmp_path):
    root = _root(tmp_path)
    (root / "keyfile").write_bytes(b"")
    program = builds.wasm("sysv/peer")
    rt, pod = lind.Runtime(), lind.Network()
    visitor, visit_out = _spawn(rt, program, ["visit", "/keyfile"], root, "visit", net=pod)
    server, serve_out = _spawn(rt, program, ["serve", "/keyfile"], root, "serve", net=pod)
    assert server.wait(60) == 0 and visitor.wait(60) == 0
    assert visit_out.read_text() == 'visit: read "written by serve"\n'
    # the visitor detached before it answered: no attach is left once the server's goes
    assert serve_out.read_text() == ('serve: visitor wrote "written by visit"\n'
                                     "serve: attaches left 0\n")
    ns = sys_ipc.namespace(server)
    assert not ns.shm.objects and not ns.sem.objects


def test_parent_and_child_bounce_a_token_through_semaphores_and_a_queue(builds, tmp_path):
    out = _run(lind.Runtime(), builds.wasm("sysv/peer"), ["pingpong", "500"],
               _root(tmp_path), "pingpong")
    assert out == "pingpong: 500 rounds, token 1000, child status 0\n"


def test_other_trees_runtimes_and_the_host_have_separate_namespaces(builds, tmp_path):
    root = _root(tmp_path)
    program = builds.wasm("sysv/peer")
    key = _key()
    # A host segment under the key: no cage may see it.
    host_id = _libc.shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0o600)
    assert host_id >= 0, os.strerror(ctypes.get_errno())
    try:
        first, second, pod = lind.Runtime(), lind.Runtime(), lind.Network()
        assert _run(first, program, ["probe", str(key)], root, "p0", net=pod) == "probe 2 2 2\n"
        assert _run(first, program, ["create", str(key)], root, "create",
                    net=pod) == "created 1 1 1\n"
        assert _run(first, program, ["probe", str(key)], root, "p1", net=pod) == "probe 0 0 0\n"
        # a tree of the same runtime with a network of its own, and another runtime's
        assert _run(first, program, ["probe", str(key)], root, "p2") == "probe 2 2 2\n"
        assert _run(second, program, ["probe", str(key)], root, "p3") == "probe 2 2 2\n"
        # and the first network's objects are not the host's
        assert _libc.shmget(key, 0, 0) == host_id
        assert _libc.semget(key, 0, 0) == -1 and ctypes.get_errno() == errno.ENOENT
        assert _libc.msgget(key, 0) == -1 and ctypes.get_errno() == errno.ENOENT
    finally:
        assert _libc.shmctl(host_id, IPC_RMID, None) == 0


def test_another_user_gets_what_the_mode_bits_allow(builds, tmp_path):
    """Mode 0604: others may read, not write. SHM_RDONLY is refused too (EACCES) to a
    cage that could not write the segment, where Linux would allow it: wasm cannot
    make the pages read-only, so the cage could write through them."""
    root = _root(tmp_path)
    program = builds.wasm("sysv/peer")
    rt, key, pod = lind.Runtime(), str(_key()), lind.Network()
    assert _run(rt, program, ["create", key, "604"], root, "create", net=pod) == "created 1 1 1\n"
    E = errno
    assert _run(rt, program, ["others", key], root, "other", user=(2000, 2000),
                net=pod).splitlines() == [
        "get with no mode: 1 1 1", f"shmget asking rw: {E.EACCES}", "IPC_STAT: 0",
        f"shmat: {E.EACCES}", f"shmat SHM_RDONLY: {E.EACCES}", f"IPC_RMID: {E.EPERM}",
        f"semop -1: {E.EACCES}", "semop 0: 0", f"SETVAL: {E.EACCES}",
        f"msgsnd: {E.EACCES}", f"msgrcv: {E.ENOMSG}"]
    # the owner may do all of it
    assert _run(rt, program, ["others", key], root, "owner", net=pod).splitlines() == [
        "get with no mode: 1 1 1", "shmget asking rw: 0", "IPC_STAT: 0", "shmat: 0",
        "shmat SHM_RDONLY: 0", "IPC_RMID: 0", f"semop -1: {E.EAGAIN}", "semop 0: 0",
        "SETVAL: 0", "msgsnd: 0", "msgrcv: 0"]


def test_exec_detaches_a_segment(builds, tmp_path):
    out = _run(lind.Runtime(), builds.wasm("sysv/peer"), ["execdetach", "0"], _root(tmp_path),
               "exec")
    assert out == "before exec: 1 nattch 1\nafter exec: nattch 0\n"


def test_sem_undo_of_a_killed_cage_is_applied(builds, tmp_path):
    root = _root(tmp_path)
    program = builds.wasm("sysv/peer")
    rt, key, pod = lind.Runtime(), str(_key()), lind.Network()
    holder, out = _spawn(rt, program, ["undo", key], root, "undo", net=pod)
    _wait_for(lambda: out.read_text() == "undo 0\n", "the holder raised the semaphore")
    assert _run(rt, program, ["getval", key], root, "g1", net=pod) == "getval 5\n"
    holder.terminate()
    assert holder.wait(30) == signal.SIGKILL
    assert _run(rt, program, ["getval", key], root, "g2", net=pod) == "getval 0\n"


def _blocked(cage) -> bool:
    ns = sys_ipc.namespace(cage)
    with ns.changed:
        return any(s.blocked for s in ns.sem.objects.values())


def test_a_signal_from_outside_ends_a_semop_with_eintr(builds, tmp_path):
    root = _root(tmp_path)
    rt = lind.Runtime()
    waiter, out = _spawn(rt, builds.wasm("sysv/peer"), ["wait", str(_key())], root, "wait")
    _wait_for(lambda: _blocked(waiter), "the cage blocked in semop")
    waiter.signal_from_outside(signal.SIGUSR1)
    assert waiter.wait(30) == 0
    assert out.read_text() == f"wait -1 {errno.EINTR}\n"


def test_a_kill_ends_a_blocked_semop(builds, tmp_path):
    root = _root(tmp_path)
    rt = lind.Runtime()
    waiter, out = _spawn(rt, builds.wasm("sysv/peer"), ["wait", str(_key())], root, "wait")
    _wait_for(lambda: _blocked(waiter), "the cage blocked in semop")
    waiter.terminate()
    assert waiter.wait(30) == signal.SIGKILL
    assert not _blocked(waiter)


def test_removing_a_queue_wakes_its_blocked_receiver_with_eidrm(builds, tmp_path):
    root = _root(tmp_path)
    program = builds.wasm("sysv/peer")
    rt, key, pod = lind.Runtime(), str(_key()), lind.Network()
    waiter, out = _spawn(rt, program, ["msgwait", key], root, "msgwait", net=pod)
    _wait_for(lambda: sys_ipc.namespace(waiter).changed in waiter.signals.waiting_on,
              "the cage blocked in msgrcv")
    assert _run(rt, program, ["msgrm", key], root, "msgrm", net=pod) == ""
    assert waiter.wait(30) == 0
    assert out.read_text() == f"msgwait -1 {errno.EIDRM}\n"


def _memfds() -> int:
    """Lind's shared-page memfds open in this process."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):   # the listing's own fd is gone already
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:lind-shared")
    return count


def test_hostile_cage_gets_errnos_and_its_objects_go_with_its_network(builds, tmp_path):
    root = _root(tmp_path)
    canary = tmp_path / "canary.txt"
    canary.write_bytes(CANARY)
    program = builds.wasm("sysv/attack")
    gc.collect()
    memfds = _memfds()
    rt, pod = lind.Runtime(memory=3 << 30), lind.Network()
    out = _run(rt, program, [], root, "attack", net=pod)
    E = errno
    expected = {
        "shmget size -1": E.EINVAL, "shmget 2 GiB": E.EINVAL,
        "shmctl stat to bad": E.EFAULT, "shmctl set from bad": E.EFAULT,
        "shmctl info to bad": E.EFAULT, "shmctl negative id": E.EINVAL,
        "shmctl made-up id": E.EINVAL, "shmat past 4 GiB": E.EINVAL,
        "shmat over the stack": E.EINVAL, "shmat remap over the stack": E.ENOMEM,
        "shmdt of nothing": E.EINVAL, "mremap past the segment": E.ENOMEM,
        "mremap within it": 0, "shmdt": 0,
        "semop from bad": E.EFAULT, "semop 4G ops": E.E2BIG,
        "semtimedop bad timeout": E.EFAULT, "semctl getall to bad": E.EFAULT,
        "semctl setall from bad": E.EFAULT, "semctl stat to bad": E.EFAULT,
        "semctl negative id": E.EINVAL, "semctl big semnum": E.EINVAL,
        "semget 40000": E.EINVAL,
        "msgsnd from bad": E.EFAULT, "msgsnd 4 GiB": E.EINVAL,
        "msgsnd text past the end": E.EFAULT, "msgsnd": 0, "msgrcv to bad": E.EFAULT,
        "msgrcv after the fault": 0, "msgctl stat to bad": E.EFAULT,
        "msgctl qbytes 1 GiB": E.EPERM,
    }
    lines = out.splitlines()
    assert lines[:len(expected)] == [f"{k}: {v}" for k, v in expected.items()]
    assert lines[len(expected):-2] == [
        f"empty messages until full: {limits.MSGMNB} errno {E.EAGAIN}",
        f"semaphore sets until refused: {limits.SEMMNI} errno {E.ENOSPC}",
        f"queues until refused: {limits.MSGMNI} errno {E.ENOSPC}",
    ]
    refused = lines[-2].split()
    # each 1 GiB segment is charged to the runtime's 3 GiB, beside the cage's own memory
    assert refused[:5] == ["1", "GiB", "segments", "until", "refused:"]
    assert 1 <= int(refused[5]) <= 2 and refused[7] == str(E.ENOMEM)
    assert lines[-1] == "done"
    # what it left behind lives on with its network (charged to the runtime's memory)
    assert len(sys_ipc._namespaces[pod].shm.objects) == 3
    assert rt.memory.used == 3 << 20
    assert canary.read_bytes() == CANARY
    assert _memfds() == memfds + 3
    del pod
    gc.collect()
    assert _memfds() == memfds              # and is freed with it
    assert rt.memory.used == 0


def test_strace_names_the_calls_and_a_blocked_semop_passes_through_it(builds, tmp_path):
    root = _root(tmp_path)
    r = lind.run([builds.wasm("sysv/peer"), "pingpong", "3"], root=root, capture_output=True,
                 timeout=60, runtime=lind.Runtime(),
                 grates=[f"strace:-o {tmp_path / 'trace.txt'} -e semget,semop,msgget,msgrcv,semctl"])
    assert r.stdout == b"pingpong: 3 rounds, token 6, child status 0\n"
    lines = (tmp_path / "trace.txt").read_text().splitlines()     # a host file
    assert sum(" semget(0x0, 2, 0x380) = " in ln for ln in lines) == 1
    assert sum(" msgget(0x0, 0x380) = " in ln for ln in lines) == 1
    assert sum(" semop(" in ln for ln in lines) == 12
    assert sum(" msgrcv(" in ln for ln in lines) == 6
    assert sum(" semctl(" in ln and ", 0, 0, 0x0) = 0" in ln for ln in lines) == 1   # IPC_RMID
