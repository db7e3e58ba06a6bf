"""setjmp's jump points, for a program whose setjmp goes through Asyncify (one that
forks): the frames unwound at each setjmp and the stack pointer, by the token written
in its jmp_buf, which longjmp rewinds into. The C trampoline keeps its own (_accel.c's
JumpPoints, the same rules); the ctypes trampoline (threei.fallback) and the
cooperative runtime (lind.portable), which runs in a browser too, keep these.

Their frames are host memory outside the linear memory, so they are bounded: a cage's
points, least recently used forgotten first (a point a later setjmp into the same
jmp_buf at its depth or above superseded goes first: that setjmp has returned), and
those of what shares a `FrameBudget` (a process tree, a run) together.
"""

from __future__ import annotations

import collections
import threading


class FrameBudget:
    """What jump points that share it hold of frames, each frames object counted once
    however many points hold it (a fork's child holds its parent's), up to `most`."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.held = 0
        self._holders: dict[int, int] = {}     # id(frames) -> the points that hold it
        self._lock = threading.Lock()

    def fits(self, n: int) -> bool:
        """Whether `n` more bytes of frames may be held."""
        return self.held + n <= self.most

    def hold(self, frames: bytes) -> None:
        with self._lock:
            if self._holders.get(id(frames), 0) == 0:
                self.held += len(frames)
            self._holders[id(frames)] = self._holders.get(id(frames), 0) + 1

    def let_go(self, frames: bytes) -> None:
        with self._lock:
            self._holders[id(frames)] -= 1
            if self._holders[id(frames)] == 0:
                del self._holders[id(frames)]
                self.held -= len(frames)


class JumpPoints:
    """A cage's jump points: at most `most` of them and `most_bytes` of frames, within
    `budget` (MemoryError when even forgetting all of its own leaves no room). The
    cage's threads setjmp and longjmp at once: each change is made under its lock."""

    def __init__(self, first_token: int, most: int, most_bytes: int,
                 budget: FrameBudget) -> None:
        # token -> (frames, stack pointer, jmp_buf)
        self._points: collections.OrderedDict[int, tuple[bytes, int, int]] = \
            collections.OrderedDict()
        self._latest: dict[int, int] = {}     # jmp_buf -> the token setjmp last put there
        self._next_token = first_token or 1
        self._most, self._most_bytes = most, most_bytes
        self.bytes = 0                         # of frames its points hold
        self._budget = budget
        self._lock = threading.RLock()

    def save(self, frames: bytes, stack_pointer: int, env: int) -> int:
        """Keep a point for a setjmp into `env`; its token."""
        with self._lock:
            return self._save(frames, stack_pointer, env)

    def _save(self, frames: bytes, stack_pointer: int, env: int) -> int:
        superseded = self._latest.get(env)
        if superseded is not None and self._points[superseded][1] <= stack_pointer:
            self._points.move_to_end(superseded, last=False)    # returned: first to go
        while self._points and (len(self._points) >= self._most
                                or self.bytes + len(frames) > self._most_bytes
                                or not self._budget.fits(len(frames))):
            self._forget_oldest()
        if len(frames) > self._most_bytes or not self._budget.fits(len(frames)):
            raise MemoryError("no room for setjmp's frames")
        token, self._next_token = self._next_token, self._next_token + 1
        kept = bytes(frames)
        self._budget.hold(kept)
        self._points[token] = (kept, stack_pointer, env)
        self.bytes += len(kept)
        self._latest[env] = token
        return token

    def _forget_oldest(self) -> None:
        gone, (frames, _, env) = self._points.popitem(last=False)
        self.bytes -= len(frames)
        self._budget.let_go(frames)
        if self._latest.get(env) == gone:
            del self._latest[env]

    def take(self, token: int) -> tuple[bytes, int] | None:
        """A point's frames and stack pointer (None: none by that token), now the most
        recently used."""
        with self._lock:
            point = self._points.get(token)
            if point is None:
                return None
            self._points.move_to_end(token)
            return point[0], point[1]

    def copy(self) -> JumpPoints:
        """A fork's child's: the same points in the same budget (the frames shared)."""
        twin = type(self).__new__(type(self))
        with self._lock:
            JumpPoints.__init__(twin, self._next_token, self._most, self._most_bytes,
                                self._budget)
            twin._points = self._points.copy()
            for frames, _, _ in twin._points.values():
                self._budget.hold(frames)
            twin._latest = self._latest.copy()
            twin.bytes = self.bytes
        return twin

    def clear(self) -> None:
        with self._lock:
            while self._points:
                self._forget_oldest()

    def __del__(self) -> None:
        if hasattr(self, "_lock"):     # (made whole: __init__ did not fail)
            self.clear()               # its frames no longer count in its budget

    def __contains__(self, token: object) -> bool:
        return token in self._points

    def __len__(self) -> int:
        return len(self._points)
