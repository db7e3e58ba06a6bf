"""clamp: route only the calls that match a condition through a stack of grates.

A clamp holds a condition and a stack of grates (Python or wasm, clamps too). A call
that matches goes through the whole stack; every other call skips it and goes to
whatever is below the clamp. It is built from 3i alone:

- a Python grate inside attaches as usual, except that each entry it puts in a table
  becomes a *route*: match -> the grate's handler, else -> the entry that was there
  before anything of this clamp (the bypass);
- a wasm grate inside registers its handlers itself. The clamp interposes on
  register_handler in the table of the lowest wasm grate inside, which fork and exec
  pass on to every cage it starts, so the whole clamped part of the process tree is
  covered (and handlers registered later too); each handler registered through it
  becomes a route in the same way. The first program above the clamp leaves it: at
  its exec the interposition is taken out of its table again.

A route re-checks its condition wherever the call passes it, so a call reaches a grate
inside nested clamps only when it matches every enclosing condition. The condition
reads the call's arguments once; the grates below get that copy (see `Call.forward`).
Routes live in the tables themselves: a cage that ends takes its routes with it.
"""

from __future__ import annotations

import errno
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lind.grates import CageWithTable, Call, Grate, number, syscall_names
from lind.grates.paths import fd_args, guest_dir, may_name_file, may_take_fd, touched, under
from lind.threei import FAST_NONE, NSYSCALLS, ops


class Condition(ABC):
    """Which calls a clamp routes through its grates."""

    @abstractmethod
    def matches(self, call: Call) -> bool:
        """Whether `call` goes through the clamp's grates."""

    def may_match(self, nr: int) -> bool:
        """False when no call `nr` can ever match (no route is then needed)."""
        return True


@dataclass(frozen=True)
class Under(Condition):
    """Calls on files under a directory: a path argument (resolved against the working
    directory or the dirfd, links not followed) under it, an AF_UNIX socket address
    naming a file under it (bind, connect, sendto), or an fd opened by such a path.
    Only the calls that name no file and take no fd (paths.NO_FILE_CALLS) never match."""

    directory: str

    def matches(self, call: Call) -> bool:
        return any(under(path, self.directory) for path in touched(call))

    def may_match(self, nr: int) -> bool:
        return may_name_file(syscall_names().get(nr))

    def __str__(self) -> str:
        return self.directory


@dataclass(frozen=True)
class Calls(Condition):
    """Calls by name or number."""

    numbers: frozenset[int]

    def matches(self, call: Call) -> bool:
        return call.nr in self.numbers

    def may_match(self, nr: int) -> bool:
        return nr in self.numbers

    def __str__(self) -> str:
        names = syscall_names()
        return "calls=" + ",".join(names.get(nr, str(nr)) for nr in sorted(self.numbers))


@dataclass(frozen=True)
class Fds(Condition):
    """Calls on these file descriptors (read, write, fstat, close, mmap, ...)."""

    fds: frozenset[int]

    def matches(self, call: Call) -> bool:
        return any(fd in self.fds for fd in fd_args(call))   # either fd of sendfile ...

    def may_match(self, nr: int) -> bool:
        return may_take_fd(syscall_names().get(nr))

    def __str__(self) -> str:
        return "fd=" + ",".join(map(str, sorted(self.fds)))


@dataclass(frozen=True)
class Cages(Condition):
    """Calls made by (or on behalf of) these cages, by id (what each sees as its pid)."""

    ids: frozenset[int]

    def matches(self, call: Call) -> bool:
        return call.cage.id in self.ids

    def __str__(self) -> str:
        return "cage=" + ",".join(map(str, sorted(self.ids)))


def parse_condition(text: str) -> Condition:
    """`/DIR`, `calls=NAME,...`, `fd=N,...` or `cage=ID,...`."""
    kind, sep, value = text.partition("=")
    if text.startswith("/"):
        return Under(guest_dir(text))
    items = [v for v in value.split(",") if v] if sep else []
    if not items:
        raise ValueError(f"clamp wants /DIR, calls=NAME,..., fd=N,... or cage=ID,... "
                         f"(not {text!r})")
    try:
        if kind == "calls":
            return Calls(frozenset(number(int(v) if v.isdigit() else v) for v in items))
        if kind == "fd":
            return Fds(frozenset(int(v) for v in items))
        if kind == "cage":
            return Cages(frozenset(int(v) for v in items))
    except ValueError as exc:
        raise ValueError(f"clamp {text!r}: {exc}") from None
    raise ValueError(f"clamp wants /DIR, calls=NAME,..., fd=N,... or cage=ID,... (not {text!r})")


class Route:
    """A table entry of a clamp: the call goes to `inner` if it matches, else `bypass`."""

    __slots__ = ("clamp", "nr", "inner", "bypass")

    def __init__(self, clamp: Clamp, nr: int, inner: Callable[..., int] | None,
                 bypass: Callable[..., int] | None) -> None:
        self.clamp, self.nr, self.inner, self.bypass = clamp, nr, inner, bypass

    def __call__(self, cage: Any, *args: int) -> int:
        call = Call(cage, self.nr, args, None)
        try:
            matched = self.clamp.condition.matches(call)
        except OSError as exc:          # an argument it cannot read: as the layer below would
            return -(exc.errno or errno.EIO)
        call._below = self.inner if matched else self.bypass
        return call.forward()


class Clamp(Grate):
    """Route only calls that match a condition through a stack of grates.

    `--grate clamp:COND %{ --grate A --grate B %}` (on the CLI, `%{`/`%}` enclose the
    clamped grates, named top first like every --grate list), `lind.run(grates=
    [Clamp(Under("/tmp"), ["strace", "imfs:/tmp"])])`, or the short form for one grate,
    `--grate clamp:/data=GRATE`. COND is one of:
      /DIR            calls that name a file under /DIR (the *at forms resolved against
                      their dirfd, relative names against the working directory) or
                      act on an fd opened by such a name (read, write, fstat, close, ...)
      calls=N,...     calls by name or number (calls=openat,unlinkat)
      fd=N,...        calls on these file descriptors
      cage=ID,...     calls of these cages (their pids)
    The clamped grates may be Python or wasm grates, and clamps: a call reaches a grate
    inside nested clamps only when it matches every enclosing condition. Everything
    else goes straight to the layer below the clamp; the grates inside never see it.
    Cages a clamped wasm grate starts stay inside the clamp (their handler
    registrations are routed too) until the first program above the clamp.
    """

    name = "clamp"

    def __init__(self, condition: Condition | str, grates: Sequence[Any] = ()) -> None:
        self.condition = parse_condition(condition) if isinstance(condition, str) else condition
        self.grates = list(grates)

    @classmethod
    def from_args(cls, text: str) -> Clamp:
        condition, sep, spec = text.partition("=") if text.startswith("/") else (text, "", "")
        if sep and not spec:
            raise ValueError("clamp wants /DIR=GRATE[:ARGS] or COND followed by %{ GRATES %}, "
                             "e.g. clamp:/data=readonly")
        return cls(parse_condition(condition), [spec] if spec else [])

    def route(self, nr: int, inner: Callable[..., int] | None,
              previous: Callable[..., int] | None) -> Route:
        """The entry that sends matching calls `nr` to `inner` and the rest past every
        grate of this clamp (`previous` is the entry `inner` was put over)."""
        if isinstance(previous, Route) and previous.clamp is self:
            previous = previous.bypass
        return Route(self, nr, inner, previous)

    def attach(self, cage: Any) -> None:
        """A clamp of Python grate objects only, on one cage (lind.run and lind run place
        the others: wasm grates, grates by name)."""
        if not all(isinstance(g, Grate) for g in self.grates):
            raise ValueError(f"{self}: grates by name and wasm grates are placed by lind.run "
                             f"or lind run, not attached to a cage")
        for grate in reversed(self.grates):
            ClampedGrate(self, grate).attach(cage)

    def __str__(self) -> str:
        return f"clamp:{self.condition}"


class RoutedSlot:
    """A cage's table as a grate inside a clamp sees it: each entry put becomes a route."""

    def __init__(self, clamp: Clamp, slot: Any) -> None:
        self.clamp, self.slot = clamp, slot

    def get(self, nr: int) -> tuple[Callable[..., int] | None, int]:
        return self.slot.get(nr)

    def owner(self, nr: int) -> int:
        return self.slot.owner(nr)

    def set(self, nr: int, handler: Callable[..., int] | None, fast: int, owner: int = 0) -> None:
        if not self.clamp.condition.may_match(nr):
            # No call `nr` can ever match (getpid under a path clamp): a route would only
            # ever bypass. Any call that may name a file or take an fd is routed.
            return
        previous, _ = self.slot.get(nr)
        self.slot.set(nr, self.clamp.route(nr, handler, previous), FAST_NONE, owner)


class ClampedGrate(Grate):
    """A grate (or clamp) inside a clamp, attached through the clamp's routes."""

    def __init__(self, clamp: Clamp, grate: Grate) -> None:
        self.clamp, self.grate = clamp, grate
        self.name = grate.name

    def handlers(self) -> dict[int, Callable[[Call], int]]:
        return {}

    def attach(self, cage: Any) -> None:
        self.grate.attach(CageWithTable(cage, RoutedSlot(self.clamp, cage.slot)))


class _Registrations:
    """The register_handler entry of a cage inside a clamp: registrations go through
    as they would (every 3i check applies), then the new entry becomes a route."""

    __slots__ = ("clamp", "below", "below_fast", "below_owner")

    def __init__(self, clamp: Clamp, below: Callable[..., int] | None, below_fast: int,
                 below_owner: int) -> None:
        self.clamp, self.below = clamp, below
        self.below_fast, self.below_owner = below_fast, below_owner

    def __call__(self, cage: Any, target: int, nr: int, grate_id: int, handle: int,
                 *rest: int) -> int:
        if self.below is None:
            return -errno.ENOSYS
        target_cage = cage.runtime.cages.get(int(target) & ~ops.GRATE_MEMORY_FLAG)
        nr = int(nr)
        routed = target_cage is not None and 0 <= nr < NSYSCALLS and grate_id != ops.DEREGISTER
        if routed:
            slot = target_cage.slot
            previous, fast = slot.get(nr)
            owner = slot.owner(nr)
        result = self.below(cage, target, nr, grate_id, handle, *rest)
        if routed and result >= 0:
            if self.clamp.condition.may_match(nr):
                handler, _ = slot.get(nr)
                slot.set(nr, self.clamp.route(nr, handler, previous), FAST_NONE, slot.owner(nr))
            else:       # no such call can match: it never reaches the grate
                slot.set(nr, previous, fast, owner)
        return result


class _Mark(Grate):
    """Where a clamp's part of the process tree begins or ends: attached like a grate
    (at a program's exec), with no handlers of its own."""

    def __init__(self, clamp: Clamp) -> None:
        self.clamp = clamp

    def handlers(self) -> dict[int, Callable[[Call], int]]:
        return {}


class ClampStart(_Mark):
    """Put the clamp's interposition on register_handler in a cage's table: the cage
    and every cage it starts are inside the clamp."""

    def attach(self, cage: Any) -> None:
        slot = cage.slot
        below, fast = slot.get(ops.REGISTER_HANDLER)
        slot.set(ops.REGISTER_HANDLER, _Registrations(self.clamp, below, fast,
                                                      slot.owner(ops.REGISTER_HANDLER)),
                 FAST_NONE, ops.HOST_OWNER)


class ClampEnd(_Mark):
    """Take the clamp's interposition out of a cage's table (the first program above
    the clamp): what it registers is no longer routed."""

    def attach(self, cage: Any) -> None:
        slot = cage.slot
        chain: list[_Registrations] = []
        entry, _ = slot.get(ops.REGISTER_HANDLER)
        while isinstance(entry, _Registrations):
            chain.append(entry)
            entry = entry.below
        if not chain:
            return
        fast, owner = chain[-1].below_fast, chain[-1].below_owner
        for layer in reversed(chain):       # rebuilt without this clamp's: nested clamps
            if layer.clamp is not self.clamp:   # may end at the same cage
                entry = _Registrations(layer.clamp, entry, fast, owner)
                fast, owner = FAST_NONE, ops.HOST_OWNER
        slot.set(ops.REGISTER_HANDLER, entry, fast, owner)
