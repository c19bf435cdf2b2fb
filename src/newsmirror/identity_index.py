"""The identity index: what identity needs of each article, kept beside the articles.

The house-format files carry no guid, yet a state rebuilt from them (`reindex`, a cold CI cache)
must decide exactly as the lost state would have (decide.py). So each feed folder holds
`articles/<feed>/.identity.jsonl`, committed with the articles: one JSON line per article
written, `[number, guid, body key, feed hash]` — hashes and ids, no content. Lines are only
appended (a pass never rewrites the file); a later line for a number replaces an earlier one, and
a torn last line (a killed pass) is skipped: that article falls back to the rule for files
without an index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

NAME = ".identity.jsonl"

Line = tuple[str | None, str | None, str | None]  # guid, body key, feed hash


def path(folder: Path) -> Path:
    return folder / NAME


def append(folder: Path, lines: Iterable[tuple[int, str | None, str | None, str | None]]) -> None:
    """Add (number, guid, body key, feed hash) lines to a feed folder's index."""
    text = "".join(json.dumps(list(line), ensure_ascii=False) + "\n" for line in lines)
    if text:
        with open(path(folder), "a", encoding="utf-8") as fh:
            fh.write(text)


def read(folder: Path) -> dict[int, Line]:
    """number -> (guid, body key, feed hash); empty when the folder has no index."""
    try:
        text = path(folder).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    out: dict[int, Line] = {}
    for raw in text.splitlines():
        try:
            number, guid, body, said = json.loads(raw)
        except (ValueError, TypeError):
            continue  # a torn line
        if isinstance(number, int) and all(v is None or isinstance(v, str) for v in (guid, body, said)):
            out[number] = (guid, body, said)
    return out
