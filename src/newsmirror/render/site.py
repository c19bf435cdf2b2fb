"""The static site under DIR/site/ (being written: see the site helper's task)."""

from __future__ import annotations

from ..archive import Archive
from ..config import Config
from ..store import Store


def build(archive: Archive, config: Config, store: Store) -> int:
    """Write the site; returns how many files changed."""
    raise NotImplementedError
