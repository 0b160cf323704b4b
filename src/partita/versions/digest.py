"""The shape every version shares: 16 lowercase hex characters of a SHA-256 digest."""

from __future__ import annotations

__all__ = ["VERSION_LENGTH", "short_digest"]

VERSION_LENGTH = 16
"""Hex characters in every version string."""


def short_digest(digest: bytes) -> str:
    """The first :data:`VERSION_LENGTH` hex characters of ``digest``."""
    return digest.hex()[:VERSION_LENGTH]
