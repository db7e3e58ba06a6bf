"""What a run starts with: the program's policy merged with what the person asked for.

The policy bounds the run; options may only narrow it (a mount made read-only, less
memory, a smaller network). Asking for more — another root or mount, a mount read-write
that the policy gives read-only, a wider network, more memory — is refused, unless the
person says `override` (`lind run --override-policy`), and then each widening is
reported. A timeout is a second deadline: the run ends at the first of it and the
policy's wall time. Identity (user, hostname) is not a grant: options set
it freely. Grates the person adds only stand between the program and what the policy
already allows: the policy's own grates sit on top, nearest the program, so they see
its calls first, as a seccomp filter a program installs on itself would.

A policy travels with a program nobody need trust, so it grants nothing beyond what
ships with it: its host directories lie inside the program's own directory (checked
here again after symbolic links), and the host's network is the person's to grant
(`--net host`), never the policy's alone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lind.cage.options import DEFAULT_HOSTNAME, DEFAULT_USER, MountSpec
from lind.grates import Grate
from lind.isolation.policy import NETWORK_MODES, Policy, PolicyViolation, beside, size_words
from lind.microvisor.network import PRIVATE, Network


class PolicyOverridden(UserWarning):
    """A run was let past its program's policy (override): what it was given beyond."""


@dataclass
class Launch:
    """The options a run starts with (None: Lind's default)."""

    root: str | None = None                 # None: an empty private root
    mounts: list[MountSpec] = field(default_factory=list)
    tmp: list[str] = field(default_factory=list)     # guest paths of private empty directories
    net: str | Network = PRIVATE
    memory: int | None = None
    timeout: float | None = None
    user: tuple[int, int] | str = DEFAULT_USER
    hostname: str = DEFAULT_HOSTNAME
    grates: list[Grate] = field(default_factory=list)   # the policy's: on top of the stack
    open_files: int | None = None
    cpu_time: int | None = None
    file_size: int | None = None
    stack: int | None = None
    processes: int | None = None
    widened: list[str] = field(default_factory=list)    # what the override let past the policy


def _same_dir(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _isolated() -> bool:
    from lind.isolation.host import already_isolated

    return already_isolated()


def launch(policy: Policy | None, module: str | os.PathLike[str], *, root=None,
           mounts: Sequence[MountSpec] = (), net: str | Network | None = None,
           memory: int | None = None, timeout: float | None = None,
           user: tuple[int, int] | str | None = None, hostname: str | None = None,
           stack: int | None = None, override: bool = False) -> Launch:
    """Merge what was asked (None: not asked) with the policy of `module` (None: it
    carries none, and the asks are taken as they are). PolicyViolation lists what a
    request would widen, unless `override`."""
    identity = {"user": user if user is not None else DEFAULT_USER,
                "hostname": hostname if hostname is not None else DEFAULT_HOSTNAME}
    if timeout is not None and timeout >= threading.TIMEOUT_MAX:
        timeout = None   # longer than a host wait can be told (an infinite one included)
    if policy is None:
        return Launch(root=None if root is None else os.fspath(root), mounts=list(mounts),
                      net=net if net is not None else PRIVATE, memory=memory, timeout=timeout,
                      stack=stack, **identity)

    here = Path(module).resolve().parent

    def host(path: str) -> str:
        return beside(here, path, module)

    widened: list[str] = []
    given_root = None if policy.root is None else host(policy.root)
    if root is not None and not (given_root is not None and _same_dir(root, given_root)):
        widened.append(f"root {os.fspath(root)} (the policy says "
                       f"{given_root or 'an empty private root'})")
        given_root = os.fspath(root)
    merged = {m.path: MountSpec(host(m.host), m.path, m.readonly) for m in policy.mounts}
    for asked in mounts:
        granted = merged.get(asked.guest.rstrip("/") or "/")
        if granted is None or not _same_dir(asked.host, granted.host):
            widened.append(f"mount {asked.host} at {asked.guest} (the policy has no such mount)")
        elif granted.readonly and not asked.readonly:
            widened.append(f"mount {asked.host} at {asked.guest} read-write (the policy says read-only)")
        elif asked.readonly:
            asked = MountSpec(granted.host, granted.guest, True)
        else:
            continue
        merged[asked.guest.rstrip("/") or "/"] = asked
    mode = net.mode if isinstance(net, Network) else net
    if policy.network == "host" and mode != "host":
        raise PolicyViolation(f"{os.fspath(module)}: its policy asks for the host's network, "
                              "which only the person running it can grant: --net host")
    if mode is not None and NETWORK_MODES.index(mode) > NETWORK_MODES.index(policy.network):
        widened.append(f"network {mode} (the policy says {policy.network})")
    if policy.isolate == "yes" and not _isolated():
        widened.append("no host isolation (the policy says isolate = true: `lind run` "
                       "gives it; a Python caller's own process is never isolated)")
    if memory is not None and policy.memory is not None and memory > policy.memory:
        widened.append(f"memory {size_words(memory)} (the policy says {size_words(policy.memory)})")
    if stack is not None and policy.stack is not None and stack > policy.stack:
        widened.append(f"stack {size_words(stack)} (the policy says {size_words(policy.stack)})")
    if widened and not override:
        raise PolicyViolation(f"{os.fspath(module)}: its policy does not allow "
                              f"{'; '.join(widened)}; --override-policy runs it anyway")
    grates: list[Grate] = []
    seccomp = policy.seccomp()
    if seccomp is not None:
        grates.append(seccomp)
    if policy.network_allow is not None:
        from lind.grates.netfilter import NetFilter, Rule

        grates.append(NetFilter([*(Rule.parse(True, w) for w in policy.network_allow),
                                 Rule.parse(False, "*")]))
    if policy.uid is not None or policy.gid is not None:
        uid = policy.uid if policy.uid is not None else DEFAULT_USER[0]
        identity["user"] = user if user is not None else (uid, policy.gid if policy.gid is not None
                                                          else uid)
    if policy.hostname is not None and hostname is None:
        identity["hostname"] = policy.hostname
    return Launch(
        root=given_root, mounts=list(merged.values()), tmp=list(policy.tmp),
        net=net if net is not None else policy.network,
        memory=memory if memory is not None else policy.memory,
        timeout=min((t for t in (timeout, policy.wall_time) if t is not None), default=None),
        grates=grates, open_files=policy.open_files, cpu_time=policy.cpu_time,
        file_size=policy.file_size, stack=stack if stack is not None else policy.stack,
        processes=policy.processes, widened=widened, **identity)
