"""The lock on an output folder that a run and the dashboard share.

A run carries the dashboard's ``overrides.duckdb`` into the folder that replaces the output
and then swaps the folders; the dashboard writes the file in place. Both hold this lock
for the time they need (the run from the copy to the swap, the dashboard for one
transaction), so that no decision is saved into a folder that is being retired.

The lock is an advisory ``flock`` on the folder itself (no file is added anywhere). A
folder that was swapped while a process waited is a different folder under the same name:
the lock is taken again on the folder the name points to now. Where the platform has no
``flock`` (Windows), the folder cannot be read (only written), or its file system refuses
locks on folders (some network and FUSE mounts), nothing is locked and the run goes on as
it would without a dashboard; the last case is a warning. On NFS and CIFS mounts the lock
keeps apart the processes of one host only.
"""

from __future__ import annotations

import errno
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..errors import TierwiseError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["FolderBusyError", "hold_folder"]

#: how often a waiting process tries the lock again, in seconds
_POLL = 0.02


class FolderBusyError(TierwiseError):
    """The output folder stayed locked by another process for longer than the wait."""


@contextmanager
def hold_folder(folder: str | Path, *, wait: float, busy: str) -> Iterator[None]:
    """Hold the lock on ``folder`` for the ``with`` block, waiting up to ``wait`` seconds.

    Raises
    ------
    FolderBusyError
        With the message ``busy``, when another process held the lock all that time.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> with hold_folder(d, wait=1, busy="busy"):
    ...     with hold_folder(d, wait=0, busy="a run holds the folder"):
    ...         pass
    Traceback (most recent call last):
    ...
    tierwise.io._folder_lock.FolderBusyError: a run holds the folder
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path = os.fspath(folder)
    if os.path.isdir(path) and not os.access(path, os.R_OK):
        # a folder this user may write into but not list cannot be opened to lock it
        yield
        return
    deadline = time.monotonic() + wait
    while True:
        fd = _try_lock(path)
        if fd == _UNLOCKABLE:
            yield
            return
        if fd is not None:
            break
        if time.monotonic() >= deadline:
            raise FolderBusyError(busy)
        time.sleep(_POLL)
    try:
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


#: what :func:`_try_lock` gives for a folder whose file system refuses to lock it
_UNLOCKABLE = -1

#: the errors of ``flock`` that mean another process holds the lock
_HELD = frozenset({errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES})


def _try_lock(path: str) -> int | None:
    """The descriptor of ``path``, locked, when the lock is free and ``path`` still names
    the folder locked; None when the folder is locked, or is missing for a moment while a
    run replaces it; :data:`_UNLOCKABLE` (with a warning) when the file system refuses to
    lock it at all."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in _HELD:
            return None
        warnings.warn(
            f"the output folder {path} cannot be locked ({os.strerror(exc.errno or 0)}): a "
            "decision saved in the dashboard while a run replaces the folder may be lost; "
            "put the output folder on a local disk to keep them apart",
            stacklevel=4,
        )
        return _UNLOCKABLE
    try:
        locked, now = os.fstat(fd), os.stat(path)
    except OSError:
        os.close(fd)
        return None
    if (locked.st_dev, locked.st_ino) != (now.st_dev, now.st_ino):
        # swapped while this process waited: lock the folder that has the name now
        with suppress(OSError):
            os.close(fd)
        return None
    return fd
