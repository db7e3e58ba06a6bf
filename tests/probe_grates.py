"""Python grates the tests put in a stack to look at what passes."""

from __future__ import annotations

from lind.grates import Call, Grate, handles


class PeekAtHeaders(Grate):
    """Looks at the first message header of a sendmsg or sendmmsg, and forwards: the
    layers below get its copy of those bytes (Call.read)."""

    @handles("sendmsg", "sendmmsg")
    def send(self, call: Call) -> int:
        call.read(1, 28 if call.name == "sendmsg" else 32)
        return call.forward()
