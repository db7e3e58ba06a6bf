"""Threads in cages: pthreads programs built with `lind cc -O2` against their gcc builds.

Each thread is an instance of the program over the cage's one shared memory, on a host
thread of its own (cage/thread.py); these run real programs and compare what they print
and how they end with Linux. That two threads compute in parallel is measured, not
asserted: `lind bench` times a job in one thread and split over two.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading

import pytest

import lind
from lind import threei
from lind.cage.cage import Cage
from lind.engine import stacks
from lind.grates import Call, Grate, handles


def _native(builds, name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([builds.native(name), *args], capture_output=True, timeout=120)


@pytest.mark.parametrize("program", ["basics", "c11", "signals", "thread_signals", "cancel",
                                     "wakeups", "masks", "stack_reuse", "cpu_clocks",
                                     "names", "cpu_sleep"])
def test_threads_programs_match_native(builds, tmp_path, program):
    """basics: create/join 1000 threads in waves, TLS and key destructors, mutex kinds,
    condition variables (with a CLOCK_MONOTONIC timed wait), barriers, rwlocks,
    spinlocks, once, robust mutexes, detached threads, gettid/getpid, thread names.
    c11: <threads.h>. signals: masks stay per thread, raise and pthread_kill to itself
    after threads came and went, sigwait in a thread. thread_signals: a handler runs in
    the thread pthread_kill named, a signal to the process in a thread that does not
    block it; EINTR in the signalled thread only (read, sem_wait); a fault handler in
    a thread; sigwaitinfo of a thread's signal. cancel: pthread_cancel at cancellation
    points (read, cond_wait, sleep, testcancel) with cleanup handlers and destructors,
    disabled and asynchronous cancellation. wakeups: broadcasts and chains of signals to
    six waiters (musl requeues them to the mutex), FUTEX_REQUEUE and FUTEX_CMP_REQUEUE.
    masks: masks that the trampoline changes as signals come (a process signal taken
    where it is not blocked, 300 signals to a thread toggling its mask: none lost, none
    handled while blocked), bad set pointers, SIGKILL and SIGSTOP never blocked.
    stack_reuse: threads of four stack sizes, without a guard, detached, twenty at once,
    each starting fresh (thread-locals, thread-specific values, cancel state) on a
    stack a joined thread left. cpu_clocks: the process's CPU time (its clock, clock(),
    getrusage, times) counts every thread, ended and running; a thread's, its own.
    names: each thread's name its own (prctl, /proc/self/task/TID/comm), the thread
    count in /proc/self/status and stat. cpu_sleep: clock_nanosleep on the process's
    CPU clock waits for that much CPU time."""
    native = _native(builds, f"threads/{program}")
    caged = lind.run([builds.wasm(f"threads/{program}")], root=tmp_path, capture_output=True,
                     timeout=120)
    assert native.returncode == 0, native.stderr
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == 0, caged.stderr


@pytest.mark.parametrize("mode", ["thread-exit", "main-leaves", "last-status", "trap",
                                  "exec-from-thread", "exec-after-main-left"])
def test_how_a_threaded_program_ends_matches_native(builds, tmp_path, mode, no_cage_left):
    """exit() from a thread ends them all; after main's pthread_exit the others run on,
    and the last one's exit(2) status is the process's; a fault in a thread is SIGSEGV
    for the whole process; execve from a thread (before or after main's pthread_exit)
    runs the new program with the same pid."""
    native = _native(builds, "threads/lifecycle", mode)
    caged = lind.run([builds.wasm("threads/lifecycle"), mode], root=tmp_path,
                     capture_output=True, timeout=60)
    assert (caged.returncode, caged.stdout.decode()) == (native.returncode,
                                                         native.stdout.decode())
    assert native.returncode in (0, 3, 4, 7, -11)
    no_cage_left()


def test_threads_faulting_at_once_end_the_process_with_their_signal(builds, tmp_path):
    """Four threads divide by zero at once: SIGFPE, as gcc's build ends. The first
    fault's kill stopped a thread still starting, and its start's trap was taken for a
    fault of its own: SIGILL ("killed") in 2 of 60 runs, 1 in 40 in another pass."""
    native = _native(builds, "threads/divide_all")
    assert native.returncode == -signal.SIGFPE
    for _ in range(100):
        caged = lind.run([builds.wasm("threads/divide_all")], root=tmp_path,
                         capture_output=True, timeout=60)
        assert (caged.returncode, caged.trap) == (-signal.SIGFPE, "integer divide by zero")


def test_lines_printed_by_many_threads_at_once_stay_whole(builds, tmp_path):
    native = _native(builds, "threads/lifecycle", "printf")
    caged = lind.run([builds.wasm("threads/lifecycle"), "printf"], root=tmp_path,
                     capture_output=True, timeout=60)
    assert caged.returncode == native.returncode == 0
    lines = caged.stdout.decode().splitlines()
    assert len(lines) == 1600
    assert sorted(lines) == sorted(native.stdout.decode().splitlines())


def test_rlimit_nproc_bounds_the_threads_of_a_cage(builds, tmp_path, no_cage_left):
    """A cage's threads, its first included, count against its RLIMIT_NPROC: EAGAIN (11)
    past it. (Linux counts a user's processes, and not root's: no native comparison.)"""
    caged = lind.run([builds.wasm("threads/lifecycle"), "nproc"], root=tmp_path,
                     capture_output=True, timeout=60)
    assert caged.stdout == b"created 2 threads, then error 11\n"
    assert caged.returncode == 0
    no_cage_left()


def test_a_timeout_stops_every_spinning_thread(builds, tmp_path, no_cage_left):
    with pytest.raises(subprocess.TimeoutExpired) as info:
        lind.run([builds.wasm("threads/lifecycle"), "spin"], root=tmp_path, capture_output=True,
                 timeout=1)
    assert info.value.output == b"spinning\n"
    no_cage_left()


def test_fork_exec_and_setjmp_in_a_thread_match_native(builds, tmp_path):
    """A thread other than the first forks (the child has that thread only, forks and
    execs again), takes longjmps, and another thread reaps its child."""
    native = _native(builds, "threads/fork_exec")
    caged = lind.run([builds.wasm("threads/fork_exec")], root=tmp_path, capture_output=True,
                     timeout=60)
    assert native.returncode == 0, native.stderr
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == 0, caged.stderr


def test_threads_under_a_c_and_a_python_grate_match_native(builds, tmp_path):
    """Calls of many threads at once go through a C grate (strace, its handlers in
    workers on each calling thread) and a Python grate (imfs) and still give Linux's
    results; a thread's exit(2) forwarded by the grates ends that thread only."""
    native = _native(builds, "threads/basics")
    caged = lind.run([builds.wasm("threads/basics")], root=tmp_path, capture_output=True,
                     timeout=180, grates=["strace", "imfs"])
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == 0
    assert b"handler failed" not in caged.stderr
    assert caged.stderr.count(b"clone(") >= 1000
    # as strace -f, each line names the thread that made the call
    assert len(set(re.findall(rb"\[pid (\d+)\]", caged.stderr))) > 500


def test_joined_threads_leave_their_stacks_to_the_next(builds, tmp_path):
    """pthread_join keeps a thread's stack mapping for the next thread of its size (as
    glibc does), so a thread created after one was joined maps and unmaps nothing: of
    the 380 threads of stack_reuse, only each size's first, the detached ones (which
    unmap their own) and the twenty at once beyond the eight kept map a stack."""

    class Maps(Grate):
        calls: list[str] = []

        @handles("mmap", "munmap", "mprotect")
        def counted(self, call: Call) -> int:
            self.calls.append(call.name)
            return call.forward()

    caged = lind.run([builds.wasm("threads/stack_reuse")], root=tmp_path,
                     capture_output=True, timeout=180, grates=[Maps()])
    assert caged.returncode == 0, caged.stderr
    assert caged.stdout.count(b"of 30 fresh") == 13
    # without the kept stacks: 411 mmaps and 410 munmaps (one for each thread)
    assert 60 <= Maps.calls.count("mmap") <= 110, Maps.calls
    assert Maps.calls.count("munmap") <= 100, Maps.calls


def test_a_python_grate_learns_which_thread_made_a_call(builds, tmp_path):
    """Call.tid is the calling thread's id: the id gettid gives that thread."""

    class Tids(Grate):
        seen: list[tuple[int, int]] = []

        @handles("gettid")
        def gettid(self, call: Call) -> int:
            tid = call.forward()
            self.seen.append((call.tid, tid))
            return tid

    caged = lind.run([builds.wasm("threads/basics")], root=tmp_path, capture_output=True,
                     timeout=180, grates=[Tids()])
    assert caged.returncode == 0, caged.stderr
    # the program asks for its tid in the first thread and in one other
    assert len(Tids.seen) == 2 and len({tid for _, tid in Tids.seen}) == 2
    assert all(seen == tid for seen, tid in Tids.seen)


def test_hostile_thread_creation_ends_only_the_cage(builds, tmp_path, no_cage_left):
    """Raw clone(CLONE_THREAD) with a null or out-of-memory stack or without the flags a
    thread needs: EINVAL (22), EFAULT (14); a thread whose function does not exist traps
    and ends its cage with SIGSEGV; a thread bomb stops at EAGAIN (11) after the cage's
    RLIMIT_NPROC (1024, the first thread included) and ends cleanly."""
    program = builds.wasm("threads/hostile")
    head = b"stack 0: -1 22; stack at the top: -1 14; missing flags: -1 22\n"
    plain = lind.run([program], root=tmp_path, capture_output=True, input=b"", timeout=60)
    assert (plain.returncode, plain.stdout) == (0, head)
    bad = lind.run([program, "badfunc"], root=tmp_path, capture_output=True, input=b"",
                   timeout=60)
    assert bad.returncode == -11    # the thread may end the cage before clone returns
    assert bad.stdout.startswith(head) and b"not reached" not in bad.stdout
    with lind.Runtime(tree_cages=1024) as rt:    # (a tree's default share: 768)
        bomb = lind.run([program, "bomb"], root=tmp_path, capture_output=True, input=b"",
                        timeout=120, runtime=rt)
    assert (bomb.returncode, bomb.stdout) == (0, head + b"error 11\nthreads until EAGAIN: 1023\n")
    no_cage_left()


def test_no_host_thread_left_is_eagain_and_the_cage_ends(builds, tmp_path, monkeypatch,
                                                         no_cage_left):
    """When the host cannot start another thread (Python's RuntimeError), pthread_create
    says EAGAIN, as Linux does when it runs out, and the cage's exit is not held up by
    a thread that never ran."""
    started = 0
    run_pooled = stacks.run_pooled

    def five_at_most(task, name, **how):
        nonlocal started
        if "-thread-" in name:      # not the cage's first thread, which runs there too
            if started == 5:
                raise RuntimeError("can't start new thread")
            started += 1
        run_pooled(task, name, **how)

    monkeypatch.setattr(stacks, "run_pooled", five_at_most)
    bomb = lind.run([builds.wasm("threads/hostile"), "bomb"], root=tmp_path,
                    capture_output=True, input=b"", timeout=60)
    assert (bomb.returncode, bomb.stdout.splitlines()[1:]) == (
        0, [b"error 11", b"threads until EAGAIN: 5"]), bomb.stderr
    no_cage_left()


_CAME_AND_WENT = b"joined 200, started fresh 200\n"


def test_threads_that_came_and_went_leave_no_host_fds(builds, tmp_path):
    """Each thread but the first holds a host eventfd (its wake fd) while it lives: 200
    threads started and joined leave this process with the fds it had."""
    program = builds.wasm("threads/come_and_go")
    assert lind.run([program], root=tmp_path, capture_output=True).stdout == _CAME_AND_WENT
    before = len(os.listdir("/proc/self/fd"))
    assert lind.run([program], root=tmp_path, capture_output=True).stdout == _CAME_AND_WENT
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_new_thread_takes_the_wake_fd_an_ended_thread_left(builds, tmp_path, monkeypatch):
    """A thread's wake eventfd outlives it as the cage's spare: 200 threads started and
    joined one after another make one (the fd stays counted as the cage's until it
    ends; test_threads_that_came_and_went_leave_no_host_fds checks that it goes then)."""
    made = []
    new_wake_fd = threei.new_wake_fd

    def counted():
        made.append(1)
        return new_wake_fd()

    monkeypatch.setattr(threei, "new_wake_fd", counted)
    assert lind.run([builds.wasm("threads/come_and_go")], root=tmp_path,
                    capture_output=True).stdout == _CAME_AND_WENT
    assert len(made) == 1


def test_new_threads_run_in_the_instances_ended_threads_left(builds, tmp_path, monkeypatch):
    """Making a thread's instance (a Store, its imports, instantiation) and deleting it
    cost more than the rest of pthread_create and pthread_join: a thread that ended by
    exit(2) leaves its instance to the next thread of the same program, which starts
    fresh all the same (thread-locals at their initial values, its stack where
    pthread_create put it), and a program exec'd after them makes its own."""
    made = []
    instance_over_memory = Cage.instance_over_memory

    def counted(cage):
        made.append(cage.argv[0])
        return instance_over_memory(cage)

    monkeypatch.setattr(Cage, "instance_over_memory", counted)
    shutil.copy(builds.wasm("threads/c11"), tmp_path / "c11.wasm")
    caged = lind.run([builds.wasm("threads/come_and_go"), "/c11.wasm"], root=tmp_path,
                     capture_output=True, timeout=120)
    assert caged.returncode == 0, caged.stderr
    assert caged.stdout == _CAME_AND_WENT + _native(builds, "threads/c11").stdout
    ours = [name for name in made if b"come_and_go" in name]
    assert 1 <= len(ours) <= 2 and len(made) > len(ours)   # 200 threads; c11's own


def test_a_pooled_tasks_last_act_finds_its_host_thread_waiting_for_the_next():
    """What a task returns runs once its host thread is back among the parked ones: a
    joiner woken there that at once makes its next thread gets this host thread, where
    the CPU would otherwise go to the joiner and back before this one parked."""
    ran_on = []
    second_ran = stacks.Latch()

    def second():
        ran_on.append(threading.get_ident())
        second_ran.set()

    def first():
        ran_on.append(threading.get_ident())
        return lambda: stacks.run_pooled(second, "second")

    stacks.run_pooled(first, "first")
    assert second_ran.wait(30)
    assert ran_on[0] == ran_on[1]


def test_a_latch_once_set_lets_every_waiter_through():
    latch = stacks.Latch()
    assert not latch.wait(0.01)
    through = []
    waiters = [threading.Thread(target=lambda: through.append(latch.wait(30)))
               for _ in range(4)]
    for waiter in waiters:
        waiter.start()
    latch.set()
    latch.set()                 # a second set changes nothing
    for waiter in waiters:
        waiter.join(30)
    assert through == [True] * 4 and latch.wait(0)


def test_a_lind_bug_waking_a_joiner_ends_the_cage_not_its_host_thread(builds, tmp_path,
                                                                      monkeypatch, capfd,
                                                                      no_cage_left):
    """The wake of a joiner runs on the ended thread's host thread once that thread is
    parked again: a Lind bug there is reported and ends the cage (its joiner would wait
    for ever), and the parked host thread still serves the next run's threads."""
    def broken(cage, addr) -> None:
        raise RuntimeError("a bug in waking a joiner")

    monkeypatch.setattr(Cage, "clear_tid_word", broken)
    program = builds.wasm("threads/come_and_go")
    caged = lind.run([program], root=tmp_path, capture_output=True, input=b"", timeout=60)
    assert caged.returncode == -signal.SIGSYS
    reported = capfd.readouterr().err
    assert "internal error in cage" in reported and "a bug in waking a joiner" in reported
    monkeypatch.undo()
    again = lind.run([program], root=tmp_path, capture_output=True, input=b"", timeout=60)
    assert again.stdout == _CAME_AND_WENT
    no_cage_left()
