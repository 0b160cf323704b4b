"""The catalog file on disk: recognising one that is not usable, creating one, moving one aside.

Partita creates a catalog only where there is no file at all. A new catalog
is built in a temporary file beside the final one (schema migrated, closed)
and then hard-linked into place, so no process ever sees a half-made catalog,
and two processes creating it at once end with one of the two files. Any file
found at the catalog's path must therefore be a whole Partita catalog: an
empty file, a file that is not SQLite, a truncated one or another program's
SQLite database is refused (:func:`file_problem`, :func:`content_problem`),
never silently replaced by a new empty catalog, because that would throw away
the whole history and rebuild everything. Starting over is an explicit choice
(``open_catalog(..., init=True)``, ``partita catalog init``), which moves the
refused file aside (:func:`move_aside`) rather than deleting it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "SIDE_SUFFIXES",
    "SQLITE_MAGIC",
    "content_problem",
    "create_atomically",
    "file_problem",
    "hold_file",
    "move_aside",
    "release_file",
]

SQLITE_MAGIC = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""

SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database: they belong to it and move with it."""

_HEADER_BYTES = 100


def _page_size(header: bytes) -> int:
    raw = int.from_bytes(header[16:18], "big")
    return 65536 if raw == 1 else raw


_HELD: dict[tuple[int, int], list[int]] = {}
"""Per catalog file (device, inode): a read-only descriptor and how many open
connections of this process use the file."""
_HELD_LOCK = threading.Lock()


def hold_file(path: Path) -> tuple[int, int]:
    """Keep a descriptor of ``path`` open while this process has a connection to it.

    Closing *any* descriptor of a file drops every POSIX lock the process holds
    on it, including the locks of SQLite's own connections (``fcntl`` semantics).
    Reading the header with ``open()``/``close()`` while a connection is open
    would silently drop that connection's locks; another process could then
    believe it is alone, checkpoint and remove the WAL under it. So the header
    of a file this process has open is read through this kept descriptor.
    Returns the key to give :func:`release_file` when the connection closes.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    info = os.fstat(fd)
    key = (info.st_dev, info.st_ino)
    with _HELD_LOCK:
        held = _HELD.get(key)
        if held is None:
            _HELD[key] = [fd, 1]
            return key
        held[1] += 1
    # a descriptor of this file is kept already: this one may not be closed while
    # connections are open either, so keep it until the last one closes
    held.append(fd)
    return key


def release_file(key: tuple[int, int]) -> None:
    """A connection to the held file closed; the last one closes the descriptors."""
    with _HELD_LOCK:
        held = _HELD.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] > 0:
            return
        del _HELD[key]
    for fd in [held[0], *held[2:]]:
        with contextlib.suppress(OSError):
            os.close(fd)


def _read_header(path: Path) -> bytes:
    info = path.stat()
    with _HELD_LOCK:
        held = _HELD.get((info.st_dev, info.st_ino))
        if held is not None:
            return os.pread(held[0], _HEADER_BYTES, 0)
    with path.open("rb") as handle:
        return handle.read(_HEADER_BYTES)


def file_problem(path: Path) -> str | None:
    """Why the existing file ``path`` cannot be a catalog, read from its size and header.

    ``None`` when it may be one. Cheap (one ``stat`` and a 100-byte read), so
    it runs on every open: an empty file, a file that does not start like a
    SQLite database, and a file cut in the middle of a page are recognised
    before SQLite sees them.
    """
    size = path.stat().st_size
    if size == 0:
        return "it is empty (0 bytes)"
    header = _read_header(path)
    if not header.startswith(SQLITE_MAGIC[: len(header)]) or len(header) < len(SQLITE_MAGIC):
        return f"it is not a SQLite database (it starts with {header[:16]!r})"
    if len(header) < _HEADER_BYTES:
        return f"it is truncated ({size} bytes, shorter than a SQLite header)"
    page = _page_size(header)
    if page < 512 or page & (page - 1) or size % page:
        return f"it is truncated ({size} bytes, not a whole number of {page}-byte pages)"
    return None


def content_problem(conn: sqlite3.Connection) -> str | None:
    """Why the open SQLite database ``conn`` is not a Partita catalog, or ``None``.

    A catalog has a ``schema_version`` table; a database without one that
    holds other tables belongs to another program (Partita must not add its
    tables to it), and one with no tables at all is an empty database where
    a catalog with its history was expected.
    """
    names = [
        str(name)
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
    ]
    if "schema_version" in names:
        return None
    if not names:
        return "it is an empty SQLite database (no tables)"
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return f"it is a SQLite database but not a Partita catalog (its tables: {shown})"


def _remove_with_side_files(path: Path) -> None:
    for candidate in (path, *(path.with_name(path.name + s) for s in SIDE_SUFFIXES)):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def create_atomically(path: Path, build: Callable[[Path], None]) -> bool:
    """Make a new catalog at ``path`` with ``build(temporary file)``, unless one appears first.

    ``build`` must leave the temporary file complete and closed. It is then
    synced and hard-linked to ``path``, which fails if another process linked its own
    first (that one is kept). Returns whether this call created ``path``.
    The temporary file is removed in every case.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        build(temporary)
        if temporary.with_name(temporary.name + "-wal").exists():  # never lose what it holds
            raise OSError(f"the new catalog {temporary} was not closed cleanly")
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
                raise
            if path.exists():  # a filesystem without hard links: a rename, checked first
                return False
            temporary.replace(path)
        return True
    finally:
        _remove_with_side_files(temporary)


def move_aside(path: Path, *, now: datetime | None = None) -> Path | None:
    """Move the refused catalog ``path`` (and its SQLite side files) out of the way.

    An empty file holds nothing and is removed (``None`` is returned);
    anything else is renamed to ``<name>.broken-<UTC time>`` beside it, so it
    can still be inspected or restored, and the new name is returned.
    """
    if path.stat().st_size == 0:
        _remove_with_side_files(path)
        return None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.broken-{stamp}-{counter}")
    for suffix in SIDE_SUFFIXES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(target.with_name(target.name + suffix))
    path.replace(target)
    return target
