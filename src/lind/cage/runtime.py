"""The runtime: starts cages from program files and hands out cage ids."""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import stat
import threading
from collections.abc import Callable, Mapping, Sequence

from lind.cage import loader
from lind.cage.cage import Cage
from lind.cage.instance_pool import InstancePool
from lind.cage.options import DEFAULT_HOSTNAME, DEFAULT_USER, MountSpec, check_user
from lind.engine import compiler
from lind.grates import Grate, attach_all
from lind.microvisor import abi, limits, sys_net, sys_signals, virtual
from lind.microvisor.fdtable import OpenFile, own_description
from lind.microvisor.fs import FileSystem, join, normalize, proc_path
from lind.microvisor.network import PRIVATE, Network
from lind.microvisor.sys_net import inherited_socket
from lind.threei import ops


def _stdio_file(host_fd: int, flags: int) -> OpenFile:
    """A cage's own fd for a host stdio fd, so the cage closing it leaves the host's alone.

    Pipes, FIFOs and devices (a terminal) are reopened, which gives the cage a
    description of its own: its O_NONBLOCK is then invisible to the host. A regular file
    or a socket keeps the host's description (its offset is shared, as a shell's child
    shares it). Either way the file is borrowed: the cage cannot change its metadata.
    It may use the host-fd reserve: starting a tree must work whatever cages hold.
    """
    mode = os.fstat(host_fd).st_mode
    if stat.S_ISSOCK(mode):
        return inherited_socket(os.dup(host_fd))
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        access = flags & abi.O_ACCMODE     # the same numbers as the host's
        try:
            # O_NONBLOCK: opening a pipe's write end with no reader would wait for one.
            fd = os.open(proc_path(host_fd), access | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            pass
        else:
            os.set_blocking(fd, True)
            return own_description(fd, flags, borrowed=True, reserved=True)
    fd = os.dup(host_fd)
    if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
        flags |= abi.O_APPEND
    return OpenFile(fd, flags, borrowed=True, shares_host_flags=True, reserved=True)


_runtime_keys = itertools.count(1)


class Runtime:
    """Many cages in this process, each on its own thread; thread-safe.

    Cages started with `spawn` are the roots of process trees; fork adds cages to a
    tree. As a context manager it ends every cage still running when the block ends.
    Ids are unique and never reused (each Runtime numbers its cages from 1; `key` tells
    the Runtimes of one process apart). A tree sees only its own cages (kill, wait).
    `memory` bounds the linear memories of all its cages together (bytes; default
    half the machine's RAM, see `lind.microvisor.limits`). `max_cages` bounds its cages
    and threads together, `tree_cages` those of one tree (default three quarters of
    `max_cages`: a tenant starting threads until EAGAIN took every one, and every
    other tenant's spawn, fork and pthread_create failed).
    """

    def __init__(self, max_cages: int = 1024, memory: int | None = None,
                 tree_cages: int | None = None) -> None:
        self.memory = limits.MemoryBudget(memory if memory is not None
                                          else limits.default_runtime_memory())
        self._ids = itertools.count(1)
        self.key = next(_runtime_keys)
        self.lock = threading.RLock()
        # A cage ended: for close(), which waits for them all. A waitpid waits on its
        # cage's children_changed, wait_tree on its tree's condition: each on all of them
        # woke every waiting parent of every tenant at each end (a tenant's fork loop
        # woke them all, each for Python's lock).
        self.changed = threading.Condition(self.lock)
        self._tree_changed: dict[int, threading.Condition] = {}   # wait_tree's, by tree
        # held by every change of a cage's 3i table (threei/ops.py says why); taken last
        self.table_lock = threading.RLock()
        self.cages: dict[int, Cage] = {}   # cages still running, by id
        self.max_cages = max_cages
        self.tree_cages = (tree_cages if tree_cages is not None
                           else max(max_cages * 3 // 4, 1))
        self._slots_used = 0               # running cages plus ended ones not yet reaped
        self._tree_slots: dict[int, int] = {}   # ...of each tree (by its first cage's id)
        # trees being ended (terminate_tree, or their first cage ended), while they hold
        # slots: no new cage or thread of theirs (each could fork again, out of the kill)
        self._ending: set[int] = set()
        # ended cages' instances, for the next fork in their tree (while its first runs)
        self.instances = InstancePool(lambda tree: tree in self.cages)

    def spawn(self, program: str | os.PathLike[str], args: Sequence[str] = (), *,
              root: str, mounts: Sequence[MountSpec] = (), env: Mapping[str, str] | None = None,
              cwd: str = "/", stdin: int | None = 0, stdout: int | None = 1, stderr: int | None = 2,
              argv0: str | None = None, programs: Mapping[str, str] | None = None,
              grates: Sequence[Grate] = (),
              grates_at_exec: Mapping[str, Sequence[Sequence[Grate]]] | None = None,
              memory: int | None = None, user: tuple[int, int] = DEFAULT_USER,
              hostname: str = DEFAULT_HOSTNAME, net: str | Network = PRIVATE,
              open_files: int | None = None, processes: int | None = None,
              cpu_time: int | None = None, file_size: int | None = None,
              stack: int | None = None, pass_fds: Mapping[int, int] | None = None,
              deadline: float | None = None,
              ignored_signals: Sequence[int] = (), blocked_signals: Sequence[int] = ()) -> Cage:
        """Start `program` in a new cage; stdin/stdout/stderr are host fds to copy in
        (None: the cage starts with that fd closed), and so are the values of
        `pass_fds`, at its keys (cage fd -> host fd, each with the host fd's access mode).

        The cage runs as `user` (uid, gid), whatever user Lind runs as: files of the host
        user show as the cage's, other owners as nobody (65534). `hostname` is what
        uname says the node is called. `net` is the network its tree sees: "private"
        (a loopback of its own), "host", "none" (see network.py), or a Network
        (trees given the same one share it, and their System V IPC objects).

        `programs` maps guest paths to host program files that exec may run by that
        path (how a grate finds the program named after it on the command line).
        `grates` are attached to the cage before it starts, the first on top;
        `grates_at_exec` waits for the execs of a guest path (a group of grates for each
        exec, in order). `memory` bounds
        the linear memories of the whole process tree together (bytes), within the
        runtime's own budget. `open_files` sets RLIMIT_NOFILE, soft and hard (at most
        Linux's default hard limit, 4096); `processes` bounds the processes of the tree
        at once (EAGAIN past it); `cpu_time` sets RLIMIT_CPU to (cpu_time, cpu_time + 1)
        seconds: SIGXCPU, then SIGKILL a second later; `file_size` sets RLIMIT_FSIZE
        (bytes, soft and hard): a write past it is cut short, or EFBIG and SIGXFSZ;
        `stack` sets RLIMIT_STACK's soft limit (bytes; Linux's 8 MiB without it), which
        sizes the program's stack up to the region `lind cc` linked it with.
        `deadline` (a time.monotonic() value) bounds the wait for the program's compile
        (its turn may come after other tenants'): TimeoutError past it.
        `ignored_signals` start ignored and `blocked_signals` blocked, as execve keeps
        them from the process that starts a program (lind.run passes its own).
        """
        uid, gid = check_user(user)
        if stack is not None and stack <= 0:
            raise ValueError(f"stack={stack}: not a positive number of bytes")
        net = net if isinstance(net, Network) else Network(net)
        if not hostname or len(hostname.encode()) > 64:
            raise ValueError(f"bad hostname {hostname!r}: 1 to 64 bytes")
        module = loader.load(program, compiler.wait_until(deadline))
        # (0 is no budget at all, not none: MemoryBudget refuses it)
        budget = limits.MemoryBudget(memory, self.memory) if memory is not None else self.memory
        # (real paths: FileSystem.guest_path_of must see whether one lies in the view)
        runnable = {normalize(k): os.path.realpath(v) for k, v in (programs or {}).items()}
        fs = FileSystem(root, [(m.host, m.guest, m.readonly) for m in mounts], runnable,
                        {normalize(k): [list(g) for g in groups]
                         for k, groups in (grates_at_exec or {}).items()})
        argv0 = argv0 or _argv0(fs, normalize(cwd), os.fspath(program))
        # exec(argv[0]) runs the program itself, as on Linux, wherever its file lies
        fs.programs.setdefault(join(normalize(cwd), argv0), os.path.realpath(program))
        try:    # as subprocess: a working directory that is not there is an error here
            os.close(fs.open(normalize(cwd), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
        except OSError as exc:
            if not (exc.errno == errno.ENOENT and virtual.under_virtual_top(normalize(cwd))):
                fs.close()
                raise OSError(exc.errno, f"working directory {cwd}: {exc.strerror}") from None
        cage = None
        try:
            if any("=" in name for name in (env or {})):
                raise ValueError("illegal environment variable name")   # (as subprocess)
            argv = [os.fsencode(argv0)]
            argv += [os.fsencode(a) for a in args]
            envb = [os.fsencode(f"{k}={v}") for k, v in (env or {}).items()]
            if any(b"\0" in item for item in (*argv, *envb)):   # C strings end there
                raise ValueError("embedded null byte")             # (as subprocess says)
            cage_id = self.reserve_id()
            tasks = limits.Counted(processes, errno.EAGAIN) if processes is not None else None
            cage = Cage(runtime=self, cage_id=cage_id, parent=None, argv=argv, env=envb, fs=fs,
                        cwd=normalize(cwd), ids=(uid, uid, gid, gid), hostname=hostname,
                        budget=budget, network=net, processes=tasks,
                        rlimit_cpu=(cpu_time, cpu_time + 1) if cpu_time is not None
                        else (limits.RLIM_INFINITY, limits.RLIM_INFINITY),
                        rlimit_fsize=(file_size, file_size) if file_size is not None
                        else (limits.RLIM_INFINITY, limits.RLIM_INFINITY),
                        rlimit_stack=(stack if stack is not None else limits.STACK,
                                      limits.RLIM_INFINITY))
            sys_signals.inherit(cage, ignored_signals, blocked_signals)
            if tasks is not None:
                tasks.take()
                cage.counted = True
            if open_files is not None:
                cage.fds.set_limits(open_files, open_files)
                cage.fd_limits_changed()
            cage.exe = (normalize(os.path.join(cwd, os.fspath(program))),
                        os.path.realpath(program))
            for number, (host_fd, flags) in enumerate(((stdin, abi.O_RDONLY), (stdout, abi.O_WRONLY),
                                                       (stderr, abi.O_WRONLY))):
                if host_fd is not None:
                    cage.fds.place(number, _stdio_file(host_fd, flags), False)
            for number, host_fd in sorted((pass_fds or {}).items()):
                access = fcntl.fcntl(host_fd, fcntl.F_GETFL) & os.O_ACCMODE   # = abi's
                cage.fds.place(number, _stdio_file(host_fd, access), False)
            try:
                cage.load(module)
            except OSError as exc:
                if exc.errno != errno.ENOMEM:
                    raise
                raise loader.ProgramError(
                    f"{program}: its memory does not fit the memory limit "
                    f"({budget.available() >> 20} MiB free)") from None
            attach_all(grates, cage)
        except BaseException:
            if cage is None:
                fs.close()
            else:
                cage.release_unstarted()
                self._free_slot(cage_id)
            raise
        with self.lock:
            self.cages[cage_id] = cage
        cage.start()
        return cage

    def close(self, grace: float = 2.0) -> bool:
        """End every cage of this runtime (SIGKILL, youngest first) and wait up to `grace`
        seconds for them to be gone; False if some were still running then."""
        with self.lock:
            roots = {c.init_id: c for c in self.cages.values()}
        for cage in roots.values():
            self.terminate_tree(cage)
        with self.changed:
            return self.changed.wait_for(lambda: not self.cages, grace)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def reserve_id(self, tree: int | None = None) -> int:
        """An id for a new cage or thread of `tree` (the id of its first cage; None: a
        new tree, whose first cage this is), counted against `max_cages` and
        `tree_cages` (EAGAIN past either)."""
        with self.lock:
            if (self._slots_used >= self.max_cages
                    or self._tree_slots.get(tree, 0) >= self.tree_cages
                    or tree in self._ending):
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            cage_id = next(self._ids)
            # 500 names no cage: register_handler takes it as "put the microvisor back"
            # (Lind's THREEI_DEREGISTER), so a grate numbered 500 would install nothing
            if cage_id == ops.DEREGISTER:
                cage_id = next(self._ids)
            tree = cage_id if tree is None else tree
            self._slots_used += 1
            self._tree_slots[tree] = self._tree_slots.get(tree, 0) + 1
            return cage_id

    def _free_slot(self, tree: int) -> None:
        with self.lock:
            self._slots_used -= 1
            left = self._tree_slots.get(tree, 0) - 1
            if left > 0:
                self._tree_slots[tree] = left
            else:
                self._tree_slots.pop(tree, None)
                self._ending.discard(tree)

    def release_id(self, tree: int) -> None:
        """A thread of `tree` that reserve_id counted ended."""
        self._free_slot(tree)

    def fork(self, parent: Cage) -> Cage:
        """A child of `parent` (which has just unwound); started, and returned."""
        return self._start_child(parent, parent.forked, forked=True)

    def posix_spawn(self, parent: Cage, plan: bytes) -> Cage:
        """posix_spawn's child of `parent`, which starts with `plan`; started, and returned."""
        return self._start_child(parent, lambda child_id: parent.spawned(child_id, plan))

    def _start_child(self, parent: Cage, make: Callable[[int], Cage], *,
                     forked: bool = False) -> Cage:
        child_id = self.reserve_id(parent.init_id)
        try:
            child = make(child_id)
        except BaseException:
            self._free_slot(parent.init_id)
            raise
        with self.lock:
            self.cages[child_id] = child
            parent.children[child_id] = child
            doomed = parent.init_id not in self.cages   # its tree is being ended
        child.start(forked=forked)
        if doomed:
            child.terminate()
        return child

    def tree(self, cage: Cage) -> list[Cage]:
        """The running cages of `cage`'s process tree (what kill(-1) may reach)."""
        with self.lock:
            return [c for c in self.cages.values() if c.init_id == cage.init_id]

    def terminate_tree(self, cage: Cage) -> None:
        """Kill every cage of `cage`'s tree, the youngest first: no child runs on (a grate's
        handler stopped under it returns) once its parents are gone, as when a process
        group is killed at once. From now on the tree starts no cage or thread: a tree of
        hundreds of cages forking and starting threads filled again, from the cages not
        yet told, the slots of those that ended (lind.run's timeout returned after ~20 s,
        the tree running on for ~10 s more)."""
        self._end_tree(cage.init_id)
        for c in reversed(self.tree(cage)):
            c.terminate()

    def _end_tree(self, tree: int) -> None:
        with self.lock:
            if tree in self._tree_slots:
                self._ending.add(tree)

    def wait_tree(self, cage: Cage, timeout: float | None = None) -> bool:
        """Wait until no cage of `cage`'s tree runs; False if `timeout` ran out first."""
        with self.lock:
            if not self.tree(cage):
                return True
            changed = self._tree_changed.setdefault(cage.init_id, threading.Condition(self.lock))
            return changed.wait_for(lambda: not self.tree(cage), timeout)

    def cage_ended(self, cage: Cage) -> None:
        """Bookkeeping when a cage's program ends, as in a PID namespace whose init is the
        tree's first cage: children (running or zombie) go to init, which gets SIGCHLD
        for the zombies and may wait for them; when init itself ends, the rest of its
        tree is killed (its cages end unreaped, nobody is left to wait). A parent (or
        init) whose SIGCHLD is SIG_IGN or SA_NOCLDWAIT keeps no zombie: the child is
        reaped at once, and a wait for it ends in ECHILD once no child is left."""
        # (asked before the lock: the signal state has a lock of its own)
        parent = self.cages.get(cage.ppid)
        reaping_parent = (parent if parent is not None and sys_signals.leaves_no_zombies(parent)
                          else None)
        init = self.cages.get(cage.init_id)
        init_reaps = (init is not None and init is not cage
                      and (reaping_parent is init if init is parent     # (asked once)
                           else sys_signals.leaves_no_zombies(init)))
        with self.lock:
            self.cages.pop(cage.id, None)
            cage.finished = True
            heir = self.cages.get(cage.init_id)
            if heir is cage:
                heir = None
            zombies = []
            orphans = [c for c in cage.children.values() if c.pdeathsig and not c.finished]
            for child_id, child in list(cage.children.items()):
                if heir is None:
                    child.set_parent(0)
                    if child.finished:
                        self._free_slot(child.init_id)   # an unreaped zombie: nobody will wait
                    continue
                child.set_parent(heir.id)
                if child.finished and init_reaps:
                    self._free_slot(child.init_id)     # reaped as it reaches init
                    continue
                heir.children[child_id] = child
                if child.finished:
                    zombies.append(child)
            cage.children.clear()
            parent = self.cages.get(cage.ppid)
            if parent is None or cage.id not in parent.children:
                self._free_slot(cage.init_id)      # no parent to reap it
            elif parent is reaping_parent:
                del parent.children[cage.id]
                self._free_slot(cage.init_id)
            rest = self.tree(cage) if cage.id == cage.init_id else []
            if cage.id == cage.init_id:
                self._end_tree(cage.id)
            for waiting in {parent, heir if zombies else None} - {None}:
                waiting.notify_children_changed()
            tree_changed = self._tree_changed.get(cage.init_id)
            if tree_changed is not None:
                tree_changed.notify_all()
                if not self.tree(cage):
                    del self._tree_changed[cage.init_id]
            self.changed.notify_all()
        if parent is not None:
            parent.signal_from_outside(sys_signals.SIGCHLD, sys_signals.child_info(cage))
        for zombie in zombies:
            heir.signal_from_outside(sys_signals.SIGCHLD, sys_signals.child_info(zombie))
        for orphan in orphans:      # prctl(PR_SET_PDEATHSIG)
            orphan.signal_from_outside(orphan.pdeathsig,
                                       sys_signals.siginfo(orphan.pdeathsig, sys_signals.SI_USER,
                                                           cage.id, cage.ids[0]))
        if cage.id == cage.init_id:
            self.instances.close_tree(cage.id)
            sys_net.tree_ended(limits.tree_of(cage))
        for other in rest:
            other.terminate()

    def reaped(self, cage: Cage) -> None:
        self._free_slot(cage.init_id)


def _argv0(fs: FileSystem, cwd: str, program: str) -> str:
    """The program's argv[0]: the relative path it was named by, as a shell passes it,
    when that path leads to the same file from the cage's working directory (a program
    may realpath, stat or open its argv[0], as libuv's test runner does); else its name."""
    if not os.path.isabs(program) and fs.guest_path_of(os.path.realpath(program)) == join(cwd, program):
        return program
    return os.path.basename(program)
