"""Directories Lind keeps on the host for one user: the start-up servers' (launch.py)
and the home of the runs' private directories (microvisor.fs). Imports nothing of
Lind and nothing Python has not loaded at start, for the `lind` command's launcher."""

from __future__ import annotations

import os
import stat


def private_to_user(path: str) -> str | None:
    """`path`, made (0700) if new; None when it is not a directory only this user can
    enter (another user could read what is in it, or plant or remove entries)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return None
    return path
