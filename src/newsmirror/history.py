"""An article's versions and the differences between them (`newsmirror history`, `diff`).

Differences are computed by characters for Chinese text and by words otherwise: a CJK
"word" has no spaces around it, and a one-character correction must show as one character.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

from . import urls
from .revisions import REASONS
from .store import EntryRow, Store

_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]|[^\W_]+|\s+|.", re.DOTALL)
_BREAK = re.compile(r"</p\s*>|<br\s*/?>|</div\s*>|</h[1-6]\s*>|</li\s*>|</figcaption\s*>", re.IGNORECASE)


class NoSuchItem(LookupError):
    """The ITEM argument names no archived article."""


@dataclass(frozen=True, slots=True)
class Version:
    number: int  # 1 = first archived
    seen_at: int  # ms: when this version was first seen
    title: str
    body: str

    @property
    def text(self) -> str:
        """What a reader reads: the title, then the body's paragraphs, one per line."""
        body = _BREAK.sub("\n", self.body)
        body = html.unescape(re.sub(r"<[^>]*>", "", body))
        lines = [" ".join(line.split()) for line in body.splitlines()]
        return self.title.strip() + "\n\n" + "\n".join(line for line in lines if line)


def resolve(store: Store, item: str) -> EntryRow:
    """`feed/number` (e.g. `voa/1048574`), or the article's link."""
    if m := re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_-]*)/(\d+)(?:\.md)?", item.strip()):
        row = store.entry(m.group(1), int(m.group(2)))
    else:
        row = store.entry_by_link(urls.canonical(item))
    if row is None:
        raise NoSuchItem(f"no archived article {item!r} (give feed/number, e.g. voa/1048574, or its link)")
    return row


def versions(store: Store, row: EntryRow) -> list[Version]:
    """Every version, oldest first; the last is the current one."""
    earlier = store.revisions(row.id)
    found = [Version(i, r.seen_at, r.title, r.body) for i, r in enumerate(earlier, 1)]
    return [*found, Version(len(found) + 1, row.revised_at or row.first_seen, row.title, row.body)]


def suppressed(store: Store, row: EntryRow) -> dict[str, int]:
    """reason -> changes to the article not kept as versions (revisions.py), every reason listed."""
    counts = store.suppressed(row.id)
    return {reason: counts.get(reason, 0) for reason in REASONS}


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def diff(a: str, b: str) -> list[tuple[str, str]]:
    """(op, text) segments turning `a` into `b`: op is "=", "-" or "+"."""
    ta, tb = tokens(a), tokens(b)
    out: list[tuple[str, str]] = []
    for op, a0, a1, b0, b1 in difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("=", "".join(ta[a0:a1])))
        else:
            if a1 > a0:
                out.append(("-", "".join(ta[a0:a1])))
            if b1 > b0:
                out.append(("+", "".join(tb[b0:b1])))
    return out


def plain(segments: list[tuple[str, str]], context: int = 40) -> str:
    """Segments for a file or a pipe: `[-deleted-]{+inserted+}`, long unchanged runs shortened."""
    parts = []
    for op, text in segments:
        if op == "-":
            parts.append(f"[-{text}-]")
        elif op == "+":
            parts.append(f"{{+{text}+}}")
        else:
            parts.append(shorten(text, context))
    return "".join(parts)


def shorten(text: str, context: int) -> str:
    """An unchanged run with only `context` characters kept at each end of each line."""
    lines = text.split("\n")
    return "\n".join(line if len(line) <= 2 * context + 5 else f"{line[:context]} … {line[-context:]}" for line in lines)
