"""How close a mirror's repository is to its git host's limits, reported by every publish.

Hosts advise repositories under 1-5 GB and truncate a folder's web view at 1,000 entries; a
mirror that grew past either without notice (the original's reached 2-3 GB and tens of
thousands of files in one folder) learns it when the host refuses a push or its readers cannot
browse it. `publish` measures both after committing and warns at WARN_PERCENT of the limits
set by `[publish] warn_size_mb` and `warn_folder_entries`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import git
from .config import PublishSettings

WARN_PERCENT = 80  # "nears the limit": at or above this share of it


@dataclass(frozen=True)
class Size:
    packed_kib: int  # size-pack + size (loose objects) of `git count-objects -v`
    folder: str  # the folder of the working tree holding the most entries ("." for the top)
    entries: int  # its files and subfolders


def packed_kib(count_objects: str) -> int:
    """KiB the repository takes, from `git count-objects -v` output (packs and loose objects)."""
    fields = dict(line.split(": ", 1) for line in count_objects.splitlines() if ": " in line)
    return int(fields.get("size-pack", "0")) + int(fields.get("size", "0"))


def largest_folder(paths: Iterable[str]) -> tuple[str, int]:
    """(folder, entries) of the folder with the most direct entries (files and folders) among
    these file paths (`/`-separated, relative to the top); ties go to the folder named first.

    Each folder is counted into its parent once, when first seen: linear in the paths' length."""
    entries: Counter[str] = Counter()
    seen: set[str] = set()
    for path in paths:
        parent = path.rpartition("/")[0]
        entries[parent] += 1
        while parent and parent not in seen:
            seen.add(parent)
            parent = parent.rpartition("/")[0]
            entries[parent] += 1
    if not entries:
        return ".", 0
    folder, count = entries.most_common(1)[0]
    return folder or ".", count


def lines(size: Size, settings: PublishSettings) -> list[str]:
    """One line for the packed size and one for the largest folder, each with a warning when it
    reaches WARN_PERCENT of its limit."""
    limit_kib = settings.warn_size_mb * 1024
    return [
        f"repository: {_mb(size.packed_kib)} packed"
        + _share(size.packed_kib, limit_kib, f"{settings.warn_size_mb} MB limit set by [publish] warn_size_mb"),
        f"largest folder: {size.folder} ({size.entries} entries)"
        + _share(size.entries, settings.warn_folder_entries,
                 f"{settings.warn_folder_entries}-entry limit set by [publish] warn_folder_entries"),
    ]


def _share(value: int, limit: int, what: str) -> str:
    percent = value * 100 // limit  # rounded down: "80%" is never shown for 79.9%, which does not warn
    return f" (warning: {percent}% of the {what})" if percent >= WARN_PERCENT else f" ({percent}% of the {what})"


def _mb(kib: int) -> str:
    return f"{kib / 1024:.0f} MB" if kib >= 10 * 1024 else f"{kib / 1024:.1f} MB"


def measure(root: Path) -> Size:
    """The repository's packed size and its largest folder, as committed (git-ignored files,
    the state folder among them, are not pushed and not counted)."""
    kib = packed_kib(git.run(root, "count-objects", "-v").decode())
    paths = git.run(root, "ls-files", "-z").decode("utf-8", "surrogateescape").split("\0")
    return Size(kib, *largest_folder(p for p in paths if p))
