"""Python grates the tests put in a stack to look at what passes."""

from __future__ import annotations

from lind.grates import Call, Grate, handles
from lind.microvisor.fs import PrivateDir


class PeekAtHeaders(Grate):
    """Looks at the first message header of a sendmsg or sendmmsg, and forwards: the
    layers below get its copy of those bytes (Call.read)."""

    @handles("sendmsg", "sendmmsg")
    def send(self, call: Call) -> int:
        call.read(1, 28 if call.name == "sendmsg" else 32)
        return call.forward()


class CleansUpMidCall(Grate):
    """Before forwarding an open, does what Lind's own clean-up does on whatever thread
    lets go of a private directory last (an aquarium grate's overlay goes by a
    finalizer, which may run in the middle of another cage's call): removes one."""

    @handles("open", "openat")
    def open_file(self, call: Call) -> int:
        PrivateDir("probe").remove()
        return call.forward()
