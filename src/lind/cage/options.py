"""What a run asks of its first cage (mounts, the ids and the host name it sees), kept
apart from the runtime so the command line can check them, and enter `--isolate`'s
layers, before wasmtime and the microvisor load."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MountSpec:
    """A host directory shown inside the cage at `guest`."""

    host: str
    guest: str
    readonly: bool = False

    @classmethod
    def parse(cls, text: str) -> MountSpec:
        """HOST:GUEST[:ro|:rw], as given on the command line."""
        parts = text.split(":")
        readonly = False
        if len(parts) == 3 and parts[2] in ("ro", "rw"):
            readonly = parts.pop() == "ro"
        if len(parts) != 2 or not parts[0] or not parts[1].startswith("/"):
            raise ValueError(f"bad mount {text!r}: expected HOST:/GUEST[:ro]")
        return cls(parts[0], parts[1], readonly)


DEFAULT_USER = (1000, 1000)   # the uid and gid a cage sees unless told otherwise
DEFAULT_HOSTNAME = "lind"


def check_user(user: tuple[int, int] | str) -> tuple[int, int]:
    """A (uid, gid) pair, from a pair or "UID[:GID]" (GID defaults to UID)."""
    if isinstance(user, str):
        uid_text, _, gid_text = user.partition(":")
        try:
            user = (int(uid_text), int(gid_text or uid_text))
        except ValueError:
            raise ValueError(f"bad user {user!r}: expected UID[:GID]") from None
    uid, gid = user
    for value in (uid, gid):
        if not isinstance(value, int) or not 0 <= value < 0xFFFFFFFF:
            raise ValueError(f"bad user id {value!r}: expected 0 to 4294967294")
    return uid, gid
