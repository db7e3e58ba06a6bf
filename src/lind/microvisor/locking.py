"""Tables the threads of a cage change at once (its fd table, its address space)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

_Method = TypeVar("_Method", bound=Callable[..., Any])


def locked(method: _Method) -> _Method:
    """A method run under its object's `lock` (an RLock: such methods call each other)."""
    @functools.wraps(method)
    def run_locked(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return run_locked  # type: ignore[return-value]
