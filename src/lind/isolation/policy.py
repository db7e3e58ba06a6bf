"""The isolation policy a program carries: what it needs to see, do and use.

A policy is a TOML file (version 1; `policy.schema.json` beside this file describes it
for other tools). What it leaves out, the program does not get: no `[network]` means
no network, no `[filesystem]` an empty private root. Resource and identity entries
left out keep Lind's defaults. A policy that does not parse, names an unknown system
call or contradicts itself is refused with the file, the line and the reason.

    version = 1

    [filesystem]
    root = "rootfs"                   # a directory beside the program, shown as /
    mounts = [{ host = "data", path = "/data", mode = "ro" }]
    tmp = ["/tmp"]                    # empty private directories, removed afterwards

    [network]
    mode = "private"                  # none, private (its own loopback) or host
    allow = ["127.0.0.1:8080"]        # the only addresses it may connect, bind or send to

    [syscalls]
    default = "allow"                 # allow, kill, or "errno NAME"
    deny = ["unlink", "unlinkat"]     # errno EPERM; or a table: { ptrace = "kill" }
    allow = []                        # with a default that refuses

    [resources]
    memory = "256M"                   # the program and its children together
    wall_time = 30                    # seconds, then killed (as --timeout)
    cpu_time = 10                     # CPU seconds: SIGXCPU, a second later SIGKILL
    processes = 16                    # at once, itself included (fork: EAGAIN)
    open_files = 64                   # RLIMIT_NOFILE
    file_size = "100M"                # RLIMIT_FSIZE: the largest file it may write
    stack = "32M"                     # RLIMIT_STACK (soft): up to the stack it was linked with

    [identity]
    uid = 1000
    gid = 1000
    hostname = "sandbox"

    [host]
    isolate = true                    # Lind isolates itself first (lind run --isolate)
    namespaces = ["user", "mount", "pid", "ipc", "uts", "net"]   # the default: all of them
    seccomp = true                    # the filter on the Lind process itself (the default)
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION = 1
MAX_SIZE = 1 << 20          # bytes of TOML
NETWORK_MODES = ("none", "private", "host")     # each grants more than the one before
NAMESPACES = ("user", "mount", "pid", "ipc", "uts", "net")   # what [host] may ask Lind to enter
SCHEMA = Path(__file__).with_name("policy.schema.json")

_TABLES: dict[str, set[str]] = {
    "filesystem": {"root", "mounts", "tmp"},
    "network": {"mode", "allow"},
    "syscalls": {"default", "allow", "deny"},
    "resources": {"memory", "wall_time", "cpu_time", "processes", "open_files", "file_size",
                  "stack"},
    "identity": {"uid", "gid", "hostname"},
    "host": {"isolate", "namespaces", "seccomp"},
}


class PolicyViolation(ValueError):
    """Options that ask for more than the program's policy grants."""


def beside(directory: Path, path: str, program: str | os.PathLike[str]) -> str:
    """`directory`/`path`, a directory that must lie inside `directory` once its
    symbolic links are followed (a policy grants only what ships with its program: not
    the program's directory itself, which holds whatever was put beside the program,
    ~/Downloads say)."""
    target = (directory / path).resolve()
    if directory not in target.parents:
        raise PolicyViolation(f"{os.fspath(program)}: its policy's {path!r} leads out of the "
                              f"program's directory ({target})"
                              if target != directory else
                              f"{os.fspath(program)}: its policy's {path!r} is the program's "
                              f"own directory, not one inside it")
    if not target.is_dir():
        raise ValueError(f"{os.fspath(program)}: its policy's {path!r} ({target}) is not a "
                         "directory beside the program")
    return str(target)


class PolicyError(ValueError):
    """A policy Lind refuses: `where` is FILE:LINE (or FILE), `reason` says why."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where, self.reason = where, reason


@dataclass(frozen=True)
class Mount:
    host: str          # as written: relative paths are taken from the module's directory
    path: str          # where the cage sees it
    readonly: bool = True


@dataclass(frozen=True)
class SyscallRule:
    """`action` for the calls `names` ("allow", "kill", or "errno NAME"), with the line
    of the policy that names each (for errors only the rules together show)."""

    names: tuple[str, ...]
    action: str
    lines: tuple[int, ...]     # each name's


@dataclass(frozen=True)
class Policy:
    text: str = field(repr=False)       # the TOML as written: what gets embedded
    source: str = "<policy>"
    root: str | None = None
    mounts: tuple[Mount, ...] = ()
    tmp: tuple[str, ...] = ()
    network: str = "none"
    network_allow: tuple[str, ...] | None = None
    syscall_default: str = "allow"
    syscall_rules: tuple[SyscallRule, ...] = ()
    memory: int | None = None
    wall_time: float | None = None
    cpu_time: int | None = None
    processes: int | None = None
    open_files: int | None = None
    file_size: int | None = None
    stack: int | None = None
    uid: int | None = None
    gid: int | None = None
    hostname: str | None = None
    isolate: str | None = None          # "yes" or "best-effort": `lind run --isolate`
    host_namespaces: tuple[str, ...] = NAMESPACES   # which ones Lind enters then
    host_seccomp: bool = True                        # and whether it filters itself

    def seccomp(self):
        """The seccomp grate that applies the `[syscalls]` table (None: every call passes)."""
        if self.syscall_default == "allow" and not self.syscall_rules:
            return None
        from lind.grates.seccomp import Seccomp

        numbered = [(0, f"default {self.syscall_default}")]
        for rule in self.syscall_rules:
            for name, line in zip(rule.names, rule.lines, strict=True):
                numbered.append((line, f"allow {name}" if rule.action == "allow"
                                 else f"deny {name} : {rule.action}"))
        return Seccomp.from_rule_lines(numbered, self.source)

    def as_json(self) -> dict[str, Any]:
        """What `lind inspect --json` prints: the policy's meaning, defaults filled in."""
        return {
            "version": VERSION,
            "filesystem": {"root": self.root,
                           "mounts": [{"host": m.host, "path": m.path,
                                       "mode": "ro" if m.readonly else "rw"} for m in self.mounts],
                           "tmp": list(self.tmp)},
            "network": {"mode": self.network,
                        "allow": None if self.network_allow is None else list(self.network_allow)},
            "syscalls": {"default": self.syscall_default,
                         "rules": [{"calls": list(r.names), "action": r.action}
                                   for r in self.syscall_rules]},
            "resources": {"memory": self.memory, "wall_time": self.wall_time,
                          "cpu_time": self.cpu_time, "processes": self.processes,
                          "open_files": self.open_files, "file_size": self.file_size,
                          "stack": self.stack},
            "identity": {"uid": self.uid, "gid": self.gid, "hostname": self.hostname},
            "host": {"isolate": self.isolate, "namespaces": list(self.host_namespaces),
                     "seccomp": self.host_seccomp},
        }

    def describe(self, native: bool = False) -> list[str]:
        """The policy in words, one line per thing the program may see, do or use (a
        native program's, under `lind isolate`, with `native`)."""
        lines = []
        if self.root is None and native:
            lines.append("files: the system's programs and libraries and the working "
                         "directory, read-only; a private /tmp")
        elif self.root is None:
            lines.append("files: an empty private root (removed afterwards)")
        else:
            lines.append(f"files: host directory {self.root} as /")
        lines += [f"files: host directory {m.host} at {m.path}, "
                  f"{'read-only' if m.readonly else 'read-write'}" for m in self.mounts]
        lines += [f"files: an empty private directory at {t}" for t in self.tmp]
        lines.append({"none": "network: none (no Internet sockets)",
                      "private": "network: a loopback of its own, nothing beyond it",
                      "host": "network: the host's"}[self.network])
        if self.network_allow is not None and self.network != "none":
            lines.append("network: connect, bind and send only to "
                         + (", ".join(self.network_allow) or "nothing"))
        if self.syscall_default == "allow" and not self.syscall_rules:
            lines.append("system calls: all")
        else:
            lines.append(f"system calls: {_action_words(self.syscall_default)} by default")
            lines += [f"system calls: {', '.join(r.names)}: {_action_words(r.action)}"
                      for r in self.syscall_rules]
        if self.memory is not None:
            lines.append(f"memory: at most {size_words(self.memory)}, children included")
        if self.wall_time is not None:
            lines.append(f"time: killed after {self.wall_time:g} s")
        if self.cpu_time is not None:
            lines.append(f"CPU: SIGXCPU after {self.cpu_time} s of CPU time, SIGKILL a second later")
        if self.processes is not None:
            lines.append(f"processes: at most {self.processes} at once, itself included")
        if self.open_files is not None:
            lines.append(f"open files: at most {self.open_files}")
        if self.file_size is not None:
            lines.append(f"files it writes: at most {size_words(self.file_size)} each "
                         "(EFBIG and SIGXFSZ past it)")
        if self.stack is not None:
            lines.append(f"stack: {size_words(self.stack)} (RLIMIT_STACK; a cage's, at most "
                         "the stack its program was linked with)")
        who = [f"uid {self.uid}" if self.uid is not None else "",
               f"gid {self.gid}" if self.gid is not None else "",
               f"hostname {self.hostname}" if self.hostname is not None else ""]
        if any(who):
            lines.append("identity: " + ", ".join(w for w in who if w))
        if self.isolate is not None:
            layers = [f"namespaces {', '.join(self.host_namespaces)}"]
            if "mount" in self.host_namespaces:
                layers.append("a minimal file system")
            if self.host_seccomp:
                layers.append("seccomp")
            lines.append(f"host: Lind isolates itself first ({'; '.join(layers)}; no capabilities)"
                         + (", as far as the kernel allows" if self.isolate == "best-effort" else ""))
        return lines


def _action_words(action: str) -> str:
    return {"allow": "allowed", "kill": "kill the program (SIGSYS)"}.get(
        action, f"fail with {action.removeprefix('errno ')}")


def size_words(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def load_policy(path: str | Path) -> Policy:
    """Read and check a policy file (PolicyError naming the file and line)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise PolicyError(str(path), exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise PolicyError(str(path), "not UTF-8 text") from None
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Check the text of a policy; `source` names it in errors."""
    import tomllib  # here: a run whose program carries no policy never needs it

    if len(text) > MAX_SIZE:       # a module's section is the untrusted program's to fill
        raise PolicyError(source, f"{len(text)} bytes: a policy is at most {MAX_SIZE}")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise PolicyError(source, "nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "not TOML"
        raise PolicyError(f"{source}:{found[1]}" if found else source, reason) from None
    lines = _Lines(text, source)
    version = data.get("version")
    if version is None:
        raise PolicyError(source, f"no version (this Lind reads version = {VERSION})")
    if version != VERSION:
        raise lines.error(None, "version", f"version {version!r}: this Lind reads version = {VERSION}")
    for key, value in data.items():
        if key == "version":
            continue
        if key not in _TABLES:
            raise lines.error(None, key, f"unknown table or key {key!r} (known: "
                              f"{', '.join(['version', *_TABLES])})")
        if not isinstance(value, dict):
            raise lines.error(None, key, f"{key} must be a table ([{key}])")
        for inner in value:
            if inner not in _TABLES[key]:
                raise lines.error(key, inner, f"unknown key {inner!r} in [{key}] (known: "
                                  f"{', '.join(sorted(_TABLES[key]))})")
    fs, net = data.get("filesystem", {}), data.get("network", {})
    calls, res, ident = data.get("syscalls", {}), data.get("resources", {}), data.get("identity", {})
    isolate = data.get("host", {}).get("isolate", False)
    if isolate not in (True, False, "best-effort"):
        raise lines.error("host", "isolate", f"isolate {isolate!r}: true, false or \"best-effort\"")
    host_seccomp = data.get("host", {}).get("seccomp", True)
    if not isinstance(host_seccomp, bool):
        raise lines.error("host", "seccomp", f"seccomp {host_seccomp!r}: true or false")
    default = _action(lines, "syscalls", "default", calls.get("default", "allow"))
    policy = Policy(
        text=text, source=source,
        root=_host_path(lines, "root", fs.get("root")),
        mounts=_mounts(lines, fs.get("mounts", [])),
        tmp=_tmp(lines, fs.get("tmp", [])),
        network=_network_mode(lines, net.get("mode", "none")),
        network_allow=_network_allow(lines, net.get("allow")),
        syscall_default=default,
        syscall_rules=_syscall_rules(lines, calls, default),
        memory=_size(lines, "resources", "memory", res.get("memory")),
        wall_time=_seconds(lines, res.get("wall_time")),
        cpu_time=_count(lines, "resources", "cpu_time", res.get("cpu_time"), 1, 1 << 31),
        processes=_count(lines, "resources", "processes", res.get("processes"), 1, 1 << 16),
        open_files=_count(lines, "resources", "open_files", res.get("open_files"), 1, 4096),
        file_size=_size(lines, "resources", "file_size", res.get("file_size")),
        stack=_size(lines, "resources", "stack", res.get("stack")),
        uid=_count(lines, "identity", "uid", ident.get("uid"), 0, 2**32 - 2),
        gid=_count(lines, "identity", "gid", ident.get("gid"), 0, 2**32 - 2),
        hostname=_hostname(lines, ident.get("hostname")),
        isolate={True: "yes", False: None}.get(isolate, isolate),
        host_namespaces=_namespaces(lines, data.get("host", {}).get("namespaces", list(NAMESPACES))),
        host_seccomp=host_seccomp,
    )
    try:
        policy.seccomp()       # what only the rules together can say (exit denied, ...)
    except ValueError as exc:    # "SOURCE:LINE: reason" or "SOURCE: reason"
        rest = str(exc).removeprefix(f"{source}:")
        line, _, reason = rest.partition(": ")
        if not line.isdigit():
            line, reason = "0", rest.strip()
        raise PolicyError(source if line == "0" else f"{source}:{line}", reason) from None
    return policy


class _Lines:
    """Finds the line of a key (or of a value inside it) for error messages: tomllib
    reports lines for syntax errors only."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text.splitlines(), source

    def find(self, table: str | None, key: str, value: str | None = None) -> int | None:
        current, start = None, None
        for number, line in enumerate(self.text, 1):
            stripped = line.split("#", 1)[0].strip()
            header = re.fullmatch(r"\[\s*([\w.-]+)\s*\]", stripped)
            if header and table is not None:
                current = header[1]
                continue
            if current != table and not (table and stripped.startswith(f"{table}.")):
                continue
            if start is None and (re.match(rf"(\w+\.)?{re.escape(key)}\s*=", stripped)
                                  or stripped.startswith((f"[{key}]", f"[{key}.", f"[[{key}"))):
                start = number
            if start is not None and (value is None or f'"{value}"' in line or f"'{value}'" in line
                                      or re.search(rf"\b{re.escape(value)}\s*=", line)):
                return number
        return start

    def error(self, table: str | None, key: str, reason: str, value: str | None = None) -> PolicyError:
        line = self.find(table, key, value)
        return PolicyError(f"{self.source}:{line}" if line else self.source, reason)


def _string(lines: _Lines, table: str, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise lines.error(table, key, f"{key} must be a non-empty string")
    return value


def _host_path(lines: _Lines, key: str, value: Any) -> str | None:
    """A directory beside the program: a policy travels with a program nobody need
    trust, so it may grant only what ships with it (the person running it adds other
    host directories with --mount)."""
    path = _string(lines, "filesystem", key, value)
    if path is not None and (path.startswith("/") or ".." in path.split("/")):
        raise lines.error("filesystem", key, f"{key}: {path!r}: host paths in a policy are "
                          "relative to the program's directory and stay inside it", path)
    if path is not None and not set(path.split("/")) - {"", "."}:
        raise lines.error("filesystem", key, f"{key}: {path!r}: a policy names a directory "
                          "inside the program's directory, not that directory itself "
                          "(it holds whatever is put beside the program)", path)
    return path


def _guest_path(lines: _Lines, table: str, key: str, value: Any) -> str:
    """An absolute path in the cage or new root, without . or .. (a policy that climbs
    with them names a place the person running it cannot see from the policy)."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise lines.error(table, key, f"{key}: {value!r} is not an absolute path in the cage",
                          value if isinstance(value, str) else None)
    names = [n for n in value.split("/") if n]
    if any(n in (".", "..") for n in names) or "\0" in value:
        raise lines.error(table, key, f"{key}: {value!r} has . or .. (or a NUL) in it", value)
    return "/" + "/".join(names)


def _mounts(lines: _Lines, value: Any) -> tuple[Mount, ...]:
    if not isinstance(value, list):
        raise lines.error("filesystem", "mounts", "mounts must be a list of tables")
    mounts, seen = [], set()
    for item in value:
        if not isinstance(item, dict) or set(item) - {"host", "path", "mode"}:
            raise lines.error("filesystem", "mounts",
                              "each mount is { host = \"DIR\", path = \"/GUEST\", mode = \"ro\"|\"rw\" }")
        host = _host_path(lines, "mounts", item.get("host"))
        if host is None:
            raise lines.error("filesystem", "mounts", "a mount without host")
        path = _guest_path(lines, "filesystem", "mounts", item.get("path"))
        mode = item.get("mode", "ro")
        if mode not in ("ro", "rw"):
            raise lines.error("filesystem", "mounts", f"mount mode {mode!r}: ro or rw", str(mode))
        if path in seen:
            raise lines.error("filesystem", "mounts", f"two mounts at {path}", path)
        seen.add(path)
        mounts.append(Mount(host, path, mode == "ro"))
    return tuple(mounts)


def _tmp(lines: _Lines, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise lines.error("filesystem", "tmp", "tmp must be a list of paths")
    paths = tuple(_guest_path(lines, "filesystem", "tmp", v) for v in value)
    if "/" in paths:
        raise lines.error("filesystem", "tmp", "tmp at / : leave out root for an empty private root")
    return paths


def _network_mode(lines: _Lines, value: Any) -> str:
    if value not in NETWORK_MODES:
        raise lines.error("network", "mode", f"network mode {value!r}: one of "
                          f"{', '.join(NETWORK_MODES)}")
    return value


def _network_allow(lines: _Lines, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    from lind.grates.netfilter import Rule

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise lines.error("network", "allow", "allow must be a list of \"ADDR[:PORTS]\" strings")
    for where in value:
        try:
            Rule.parse(True, where)
        except ValueError as exc:
            raise lines.error("network", "allow", f"bad address {where!r}: {exc}", where) from None
    return tuple(value)


def _action(lines: _Lines, table: str, key: str, value: Any, value_key: str | None = None) -> str:
    """`allow`, `kill`, or `errno NAME|NUMBER` (normalised to the errno's name)."""
    words = value.split() if isinstance(value, str) else []
    if words in (["allow"], ["kill"]):
        return words[0]
    if len(words) == 2 and words[0] == "errno":
        number = words[1].isascii() and words[1].isdigit() and len(words[1]) <= 4
        code = int(words[1]) if number else getattr(errno, words[1], None)
        if isinstance(code, int) and code in errno.errorcode and 0 < code < 4096:
            return f"errno {errno.errorcode[code]}"
    raise lines.error(table, key, f"action {value!r}: allow, kill or \"errno NAME\"",
                      value_key or (value if isinstance(value, str) else None))


def _syscall_rules(lines: _Lines, calls: dict, default: str) -> tuple[SyscallRule, ...]:
    from lind.grates import number

    rules: list[SyscallRule] = []
    allow, deny = calls.get("allow", []), calls.get("deny", [])
    if not isinstance(allow, list) or not all(isinstance(n, str) for n in allow):
        raise lines.error("syscalls", "allow", "allow must be a list of system-call names")
    if isinstance(deny, list) and all(isinstance(n, str) for n in deny):
        deny = {name: "errno EPERM" for name in deny}
    elif not isinstance(deny, dict):
        raise lines.error("syscalls", "deny", "deny must be a list of names or a table "
                          "{ NAME = \"ACTION\" }")
    seen: dict[str, int] = {}
    for key, named in (("allow", {name: "allow" for name in allow}), ("deny", deny)):
        for name, action in named.items():
            line = lines.find("syscalls", key, name) or 0
            try:
                number(name)
            except ValueError:
                raise PolicyError(f"{lines.source}:{line}", f"unknown system call {name!r}") from None
            if name in seen or (key == "allow" and allow.count(name) > 1):
                first, last = sorted((seen.get(name, line), line))
                raise PolicyError(f"{lines.source}:{last}", f"{name} has two rules"
                                  + (f" (lines {first} and {last})" if first != last else ""))
            seen[name] = line
            if key == "deny":
                action = _action(lines, "syscalls", "deny", action, name)
                if action == "allow":
                    raise lines.error("syscalls", "deny", f"deny {name} = \"allow\" contradicts itself", name)
            listed = key == "allow" or isinstance(calls.get("deny"), list)   # one rule per list
            if listed and rules and rules[-1].action == action:
                last = rules.pop()
                rules.append(SyscallRule((*last.names, name), action, (*last.lines, line)))
            else:
                rules.append(SyscallRule((name,), action, (line,)))
    if default == "allow" and any(r.action == "allow" for r in rules):
        raise lines.error("syscalls", "allow", "allow lists calls, but the default already allows "
                          "every call: set default to kill or \"errno NAME\"")
    return tuple(rules)


def _size(lines: _Lines, table: str, key: str, value: Any) -> int | None:
    if value is None:
        return None
    from lind.microvisor.limits import parse_size

    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    try:
        return parse_size(value) if isinstance(value, str) else parse_size("")
    except ValueError as exc:
        raise lines.error(table, key, f"{key}: {exc}") from None


def _namespaces(lines: _Lines, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise lines.error("host", "namespaces", f"namespaces {value!r}: a list of names")
    unknown = [v for v in value if v not in NAMESPACES]
    if unknown:
        raise lines.error("host", "namespaces", f"namespaces: unknown {unknown[0]!r} "
                          f"(known: {', '.join(NAMESPACES)})")
    if "user" not in value:
        raise lines.error("host", "namespaces", "namespaces: \"user\" is needed (an unprivileged "
                          "process makes the others inside it)")
    return tuple(n for n in NAMESPACES if n in value)


def _seconds(lines: _Lines, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1e9:
        raise lines.error("resources", "wall_time",
                          f"wall_time {value!r}: a positive number of seconds, at most 1e9")
    return float(value)


def _count(lines: _Lines, table: str, key: str, value: Any, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise lines.error(table, key, f"{key} {value!r}: a whole number from {low} to {high}")
    return value


def _hostname(lines: _Lines, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value.encode()) <= 64:
        raise lines.error("identity", "hostname", f"hostname {value!r}: 1 to 64 bytes")
    return value


def schema() -> dict[str, Any]:
    """The JSON Schema of the policy format (shipped beside this module)."""
    import json

    return json.loads(SCHEMA.read_text())
