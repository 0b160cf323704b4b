"""Inter-process locks (``fcntl.flock``) on a lock file or on a folder.

The lock is tied to an open file description, so it is released by the kernel
when the holding process dies (even by SIGKILL): a crashed writer never leaves
a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["file_lock", "folder_lock"]


@contextmanager
def file_lock(path: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold a shared (readers) or exclusive (writer) lock on ``path`` for the block.

    The lock file is created if needed and never deleted (deleting it would let
    two processes lock two different files).
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def folder_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder ``path`` itself (no lock file) for the block.

    The folder must exist. A folder removed and created again is another lock:
    lock only folders that are never removed while in use.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
