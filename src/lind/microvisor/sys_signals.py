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


def send_to_self(cage, sig: int) -> int:
    """Apply `sig` to the calling cage: default action, ignore, or leave it pending."""
    if sig == 0:
        return 0
    handler = SIG_DFL
    if sig in cage.sigactions:
        handler = _KSIGACTION.unpack(cage.sigactions[sig])[0]
    if sig in (SIGKILL, SIGSTOP):
        handler = SIG_DFL
    if handler == SIG_IGN or (handler == SIG_DFL and sig in _IGNORED_BY_DEFAULT | _STOPPING):
        return 0
    if handler == SIG_DFL:
        cage.kill(sig)
        return 0
    cage.pending_signals |= 1 << (sig - 1)
    return 0


def sys_kill(cage, pid, sig, *_):
    pid, sig = s32(pid), s32(sig)
    if sig and not 1 <= sig < NSIG or sig < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    if pid not in (cage.id, 0, -1, -cage.id):
        raise OSError(errno.ESRCH, "No such process")
    return send_to_self(cage, sig)


def sys_tkill(cage, tid, sig, *_):
    if s32(tid) != cage.id:
        raise OSError(errno.ESRCH, "No such process")
    return sys_kill(cage, cage.id, sig)


def sys_tgkill(cage, tgid, tid, sig, *_):
    if s32(tgid) != cage.id:
        raise OSError(errno.ESRCH, "No such process")
    return sys_tkill(cage, tid, sig)
