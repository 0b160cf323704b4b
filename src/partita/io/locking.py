"""Inter-process file locks (``fcntl.flock``), shared or exclusive.

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
    """Hold an exclusive lock on the folder ``path`` itself (it must exist) for the block.

    No lock file is needed: the folder's own descriptor carries the lock.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
