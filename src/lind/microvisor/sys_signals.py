"""Signal dispositions and masks, and the default actions of signals a cage sends itself.

Running handlers in guest code (at syscall return and on epoch interruption) comes
with the process model; until then a caught signal stays pending.
"""

from __future__ import annotations

import errno
import struct

from lind.microvisor.abi import s32

NSIG = 65
SIGKILL, SIGSTOP, SIGCHLD, SIGCONT, SIGURG, SIGWINCH = 9, 19, 17, 18, 23, 28
SIG_DFL, SIG_IGN = 0, 1
_IGNORED_BY_DEFAULT = {SIGCHLD, SIGCONT, SIGURG, SIGWINCH}
_STOPPING = {SIGSTOP, 20, 21, 22}
# struct k_sigaction of a wasm32 guest: handler, flags, restorer, mask[2].
_KSIGACTION = struct.Struct("<IIIQ")
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
_UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))


def _signo(sig: int) -> int:
    sig = s32(sig)
    if not 1 <= sig < NSIG:
        raise OSError(errno.EINVAL, "Invalid argument")
    return sig


def sys_rt_sigaction(cage, sig, act, oact, sigsetsize, *_):
    sig = _signo(sig)
    if sigsetsize != 8:
        raise OSError(errno.EINVAL, "Invalid argument")
    old = cage.sigactions.get(sig, _KSIGACTION.pack(SIG_DFL, 0, 0, 0))
    if act:
        if sig in (SIGKILL, SIGSTOP):
            raise OSError(errno.EINVAL, "Invalid argument")
        cage.sigactions[sig] = cage.mem.read(act, _KSIGACTION.size)
    if oact:
        cage.mem.write(oact, old)
    return 0


def sys_rt_sigprocmask(cage, how, new, old, sigsetsize, *_):
    if sigsetsize != 8:
        raise OSError(errno.EINVAL, "Invalid argument")
    previous = cage.sigmask
    if new:
        (mask,) = struct.unpack("<Q", cage.mem.read(new, 8))
        how = s32(how)
        if how == SIG_BLOCK:
            cage.sigmask |= mask
        elif how == SIG_UNBLOCK:
            cage.sigmask &= ~mask
        elif how == SIG_SETMASK:
            cage.sigmask = mask
        else:
            raise OSError(errno.EINVAL, "Invalid argument")
        cage.sigmask &= ~_UNBLOCKABLE
    if old:
        cage.mem.write(old, struct.pack("<Q", previous))
    return 0


def deliver(cage, sig: int, *, own_thread: bool) -> None:
    """Apply `sig` to `cage`: its default action, ignore, or leave it pending.

    `own_thread` says the caller runs on the cage's thread (inside one of its calls),
    so a fatal signal can end it at the return of that call.
    """
    if sig == 0:
        return
    handler = SIG_DFL
    if sig in cage.sigactions:
        handler = _KSIGACTION.unpack(cage.sigactions[sig])[0]
    if sig in (SIGKILL, SIGSTOP):
        handler = SIG_DFL
    if handler == SIG_IGN or (handler == SIG_DFL and sig in _IGNORED_BY_DEFAULT | _STOPPING):
        return
    if handler == SIG_DFL:
        if own_thread:
            cage.kill(sig)
        else:
            cage.terminate(sig)
        return
    cage.pending_signals |= 1 << (sig - 1)


def _targets(cage, pid: int) -> list:
    """The cages kill(pid) reaches, all within the caller's own process tree."""
    tree = cage.runtime.tree(cage)
    if pid > 0:
        return [c for c in tree if c.id == pid]
    if pid == 0:
        return [c for c in tree if c.pgid == cage.pgid]
    if pid == -1:
        return [c for c in tree if c.id not in (cage.id, cage.init_id)]
    return [c for c in tree if c.pgid == -pid]


def sys_kill(cage, pid, sig, *_):
    pid, sig = s32(pid), s32(sig)
    if not 0 <= sig < NSIG:
        raise OSError(errno.EINVAL, "Invalid argument")
    targets = _targets(cage, pid)
    if not targets:
        raise OSError(errno.ESRCH, "No such process")
    for target in targets:
        deliver(target, sig, own_thread=target is cage)
    return 0


def sys_tkill(cage, tid, sig, *_):
    if s32(tid) != cage.id:
        raise OSError(errno.ESRCH, "No such process")
    return sys_kill(cage, cage.id, sig)


def sys_tgkill(cage, tgid, tid, sig, *_):
    if s32(tgid) != cage.id:
        raise OSError(errno.ESRCH, "No such process")
    return sys_tkill(cage, tid, sig)
