"""Python grates the tests put in a stack to look at what passes. A module of its own, not
conftest: importing lind there installs the trampoline's fault handler before pytest's
faulthandler, which then takes SIGSEGV first and ends the run at a cage's bulk-memory
null dereference (test_null_page)."""

from __future__ import annotations

from lind.grates import Call, Grate, handles


class PeekAtHeaders(Grate):
    """Looks at the first message header of a sendmsg or sendmmsg, and forwards: the
    layers below get its copy of those bytes (Call.read)."""

    @handles("sendmsg", "sendmmsg")
    def send(self, call: Call) -> int:
        call.read(1, 28 if call.name == "sendmsg" else 32)
        return call.forward()
