"""seccomp: allow or refuse system calls by name, from a policy file."""

from __future__ import annotations

import errno
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lind.grates import Call, Grate, number, syscall_numbers
from lind.threei import NSYSCALLS, ops

# Calls Lind's libc (like glibc on x86_64) issues in another form: a rule naming the
# first also covers the second, unless a rule names the second itself. posix_spawn is
# a clone on Linux and Lind's `spawn` in a cage, so a rule on clone holds for both.
_ISSUED_AS = {"open": "openat", "stat": "newfstatat", "lstat": "newfstatat",
              "clone": "spawn"}

_THREEI_OPS = {ops.REGISTER_HANDLER, ops.COPY_DATA_BETWEEN_CAGES,
               ops.COPY_HANDLER_TABLE_TO_CAGE, ops.MAKE_THREEI_CALL, ops.HARSH_EXIT,
               ops.PIN_FDS, ops.UNPIN_FDS}


@dataclass(frozen=True)
class Action:
    """What happens to a call: it passes (`allow`), fails with errno `code`, or kills the cage."""

    kind: str            # "allow", "errno" or "kill"
    code: int = 0

    @classmethod
    def parse(cls, words: list[str]) -> Action:
        """`allow`, `kill`, or `errno NAME|NUMBER`."""
        if words == ["allow"] or words == ["kill"]:
            return cls(words[0])
        if len(words) == 2 and words[0] == "errno":
            code = words[1]
            if code.isdigit() and 0 < int(code) < 4096:
                return cls("errno", int(code))
            if code in errno.errorcode.values():
                return cls("errno", getattr(errno, code))
            raise ValueError(f"unknown errno {code!r}")
        raise ValueError(f"bad action {' '.join(words)!r} (allow, kill or errno NAME)")


class Seccomp(Grate):
    """Filter system calls by name, like Linux seccomp; a policy file on the host.

    `--grate seccomp:POLICY` reads POLICY, one rule a line (`#` starts a comment):

        default ACTION                 the action for calls no rule names (default: allow)
        allow CALL...                  these calls pass
        deny CALL... [: ACTION]        these get ACTION (default: errno EPERM)

    ACTION is `allow`, `kill`, or `errno NAME|NUMBER` (`errno EACCES`, `errno 13`).
    CALL is a Linux x86_64 system-call name (`openat`) or number; a call may appear
    in one rule only. Programs call open() and stat() but the libc (Lind's, as
    glibc) issues openat and newfstatat: a rule for `open`, `stat` or `lstat` also
    covers that form unless a rule names it. `kill` ends the calling cage with SIGSYS, as seccomp's
    SECCOMP_RET_KILL_PROCESS does; nothing the cage does (ignoring SIGSYS) avoids it.
    The default applies to Linux calls only: Lind's own (the 3i operations) are
    filtered when named. exit and exit_group always pass, so a cage can end.
    A bad policy is a ValueError naming the file and line.
    """

    name = "seccomp"

    def __init__(self, rules: dict[int, Action], default: Action = Action("allow")) -> None:
        self.rules = dict(rules)
        self.default = default

    @classmethod
    def from_args(cls, text: str) -> Seccomp:
        if not text:
            raise ValueError("seccomp needs a policy file: --grate seccomp:POLICY")
        try:
            with open(text) as f:
                policy = f.read()
        except OSError as exc:
            raise ValueError(f"seccomp: cannot read policy {text}: {exc.strerror}") from None
        return cls.from_policy(policy, text)

    @classmethod
    def from_policy(cls, policy: str, source: str = "<policy>") -> Seccomp:
        """Parse the text of a policy file; `source` names it in errors."""
        return cls.from_rule_lines(enumerate(policy.splitlines(), 1), source)

    @classmethod
    def from_rule_lines(cls, numbered: Iterable[tuple[int, str]], source: str) -> Seccomp:
        """Rules in the policy language, each with the line errors name (a policy
        file's, or a program's embedded policy that is written in another form)."""
        rules: dict[int, Action] = {}
        default: Action | None = None
        for lineno, line in numbered:
            words = line.split("#", 1)[0].replace(",", " ").split()
            if not words:
                continue
            try:
                if words[0] == "default":
                    if default is not None:
                        raise ValueError("a second default")
                    default = Action.parse(words[1:])
                    continue
                if words[0] not in ("allow", "deny"):
                    raise ValueError(f"unknown rule {words[0]!r} (default, allow or deny)")
                calls, colon, action_text = " ".join(words[1:]).partition(":")
                names = calls.split()
                if words[0] == "allow":
                    if colon:
                        raise ValueError("allow takes no action")
                    action = Action("allow")
                else:
                    action = (Action.parse(action_text.split()) if colon
                              else Action("errno", errno.EPERM))
                    if action.kind == "allow":
                        raise ValueError("deny ... : allow contradicts itself")
                if not names:
                    raise ValueError(f"{words[0]} names no call")
                for name in names:
                    nr = number(int(name) if name.isdigit() else name)
                    if not 0 <= nr < NSYSCALLS:
                        raise ValueError(f"no system call number {nr}")
                    if nr in _always_allowed() and action.kind != "allow":
                        raise ValueError(f"{name} always passes, so a cage can end")
                    if nr in rules:
                        raise ValueError(f"{name} appears in two rules")
                    rules[nr] = action
            except ValueError as exc:
                raise ValueError(f"{source}:{lineno}: {exc}") from None
        implied: dict[int, tuple[Action, str]] = {}
        for name, issued in _ISSUED_AS.items():
            nr, issued_nr = number(name), number(issued)
            if nr not in rules or issued_nr in rules:
                continue
            other = implied.setdefault(issued_nr, (rules[nr], name))
            if other[0] != rules[nr]:
                raise ValueError(f"{source}: {other[1]} and {name} are both issued as {issued}, "
                                 f"with different actions: give {issued} a rule of its own")
        rules.update({nr: action for nr, (action, _) in implied.items()})
        return cls(rules, default or Action("allow"))

    def handlers(self) -> dict[int, Callable[[Call], int]]:
        """The calls whose action is not allow (allowed ones are not intercepted)."""
        filtered = {nr for nr, action in self.rules.items() if action.kind != "allow"}
        if self.default.kind != "allow":
            linux = set(syscall_numbers().values()) - _THREEI_OPS
            filtered |= {nr for nr in linux if nr not in self.rules}
        return {nr: self.refuse for nr in filtered - _always_allowed()}

    def refuse(self, call: Call) -> int:
        action = self.rules.get(call.nr, self.default)
        if action.kind == "kill":
            _kill(call.cage)
            return -errno.ENOSYS
        return -action.code


def _always_allowed() -> set[int]:
    """A cage that cannot end would spin in musl's _Exit, so these always pass."""
    return {number("exit"), number("exit_group")}


def _kill(cage) -> None:
    """End `cage` with SIGSYS whatever its disposition, as the kernel does. Works from
    the cage's own thread (it stops as this call returns) and from a grate's."""
    cage.terminate(signal.SIGSYS)
