"""Keeping a folder store's file operations under its root, symbolic links included.

:mod:`partita.io.paths` builds paths that stay under the root lexically. A
symbolic link below the root can still lead out of it: with ``<root>/orders ->
/elsewhere``, reading, writing or deleting asset ``orders`` would act on
``/elsewhere``. :class:`RootConfinement` refuses to follow such a link, with a
:class:`~partita.errors.StorageError` naming the link and where it points.

The rule: the root itself may be a link (it is resolved once); below it, a link
is followed only when its target (fully resolved) is inside the resolved root.
A link whose target does not exist yet counts by where it would lead.

Cost: an asset folder is checked component by component (one ``lstat`` each)
until it exists, then remembered per store object (so per process); below it,
each partition folder and the data file cost one ``lstat`` per operation, and a
``realpath`` only when one of them is a link.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from partita.errors import StorageError
from partita.io.paths import PartitionPath, asset_dir, encode_segment, validate_partition
from partita.keys import AssetKey

__all__ = ["RootConfinement"]


class RootConfinement:
    """Checks that paths below ``root`` do not leave it through symbolic links.

    Args:
        root: the store's root folder (absolute).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root: Path | None = None
        self._assets: set[AssetKey] = set()

    def real_root(self) -> Path:
        """The root with every link resolved (remembered once the root exists)."""
        if self._real_root is not None:
            return self._real_root
        real = Path(os.path.realpath(self.root))
        if real.is_dir():
            self._real_root = real
        return real

    def check(self, path: Path) -> None:
        """Refuse ``path`` when it is a link whose target is outside the root.

        Only ``path`` itself is looked at (one ``lstat``): a missing path or
        one that is not a link passes.

        Raises:
            StorageError: ``path`` is a link that leaves the root.
        """
        try:
            mode = os.lstat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return
        if not stat.S_ISLNK(mode):
            return
        target = Path(os.path.realpath(path))
        root = self.real_root()
        if not target.is_relative_to(root):
            raise StorageError(
                f"{path} is a symbolic link to {target}, outside the store root {root}: "
                "the store does not follow it",
                hint=f"move that data under {root} and remove the link (or make the "
                "store's root itself the link)",
            )

    def check_below(self, base: Path, names: Iterable[str]) -> Path:
        """Check each path from ``base`` down through ``names``; return the last one."""
        path = base
        for name in names:
            path = path / name
            self.check(path)
        return path

    def asset_dir(self, asset: AssetKey) -> Path:
        """The asset's folder, every component below the root checked.

        Remembered once the folder exists: a link created in place of a folder
        this store object has already checked is not noticed.
        """
        folder = asset_dir(self.root, asset)
        if asset in self._assets:
            return folder
        self.check_below(self.root, asset.path)
        if folder.is_dir():
            self._assets.add(asset)
        return folder

    def partition_dir(self, asset: AssetKey, partition: PartitionPath) -> Path:
        """The partition's folder (the asset folder when unpartitioned), checked."""
        segments = [encode_segment(d, v) for d, v in validate_partition(partition)]
        return self.check_below(self.asset_dir(asset), segments)
