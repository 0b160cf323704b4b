"""The state blocks' checksum catches every single-bit change (see catalog/sqlite/snapshot.py)."""

from __future__ import annotations

import random

from partita.catalog.sqlite.snapshot import _checksum


def test_every_flipped_bit_changes_the_checksum() -> None:
    rng = random.Random(5)
    for size in (0, 7, 8, 13, 64, 1001):
        latest = bytearray(rng.randbytes(size))
        edges = rng.randbytes(size // 2 + 3)
        before = _checksum(bytes(latest), edges)
        assert -(1 << 63) <= before < 1 << 63  # fits SQLite's INTEGER
        for i in range(size):
            for bit in range(8):
                latest[i] ^= 1 << bit
                assert _checksum(bytes(latest), edges) != before, (size, i, bit)
                latest[i] ^= 1 << bit
        assert _checksum(bytes(latest) + b"\0", edges) != before  # a longer blob too
