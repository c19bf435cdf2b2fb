"""The house format (see ../shared/golden/README.md): articles, list pages and the README."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

from ..dates import month_day_utc8
from ..model import Article

LIST_SIZE = 300


def one_line(text: str) -> str:
    """A title for a one-line header: outer white space removed, inner line breaks made spaces."""
    text = text.strip()
    return re.sub(r"\s*[\r\n]+\s*", " ", text) if "\n" in text or "\r" in text else text


def article(a: Article) -> str:
    """`<!--T-->`, `[TITLE](URL)`, six hyphens, a blank line, the body on one line."""
    return f"<!--{a.published}-->\n[{one_line(a.title)}]({a.link})\n------\n\n{a.body}\n"


def list_page(title: str, articles: Iterable[Article], marker: str = "", link_root: str = "/") -> str:
    """`TITLE`, underline, then `M-D [TITLE](/articles/<id>/<n>.md)` for the newest 300.

    An article another feed archived (dedupe = "mirror") links to that feed's folder; one
    removed at the source is marked with `marker`.
    """
    lines = []
    for a in list(articles)[:LIST_SIZE]:
        removed = marker if a.removed_at and marker else ""
        link = f"{link_root}articles/{a.feed_id}/{a.number}.md"
        lines.append(f"{month_day_utc8(a.published)} {removed}[{one_line(a.title)}]({link})\n")
    return f"{one_line(title)}\n------\n\n" + "\n".join(lines) + "\n"


def link_path(name: str) -> str:
    """A file name usable inside a Markdown link: only what would end the link is encoded."""
    return re.sub(r"[%\s()<>\[\]]", lambda m: quote(m.group(0), safe=""), name)


def readme(titles: Iterable[str], list_names: Iterable[str]) -> str:
    """The mirror's front page: one link per feed list, as the original mirror wrote it."""
    links = [f"[{one_line(t)}](lists/{link_path(name)}.md)" for t, name in zip(titles, list_names)]
    return "抓取新闻媒体文章\n------\n\n" + "\n\n".join(links) + ("\n" if links else "")


def read_article(text: str) -> tuple[int, str, str, str] | None:
    """(T, title, link, body) of a house-format file, or None when it is not one."""
    first, _, rest = text.partition("\n")
    second, _, rest = rest.partition("\n")
    m = re.fullmatch(r"<!--(\d+)-->", first.strip())
    if not m or not second.startswith("[") or not second.endswith(")"):
        return None
    # The title may hold "](" itself; the link is what follows the last "](" (links hold no spaces).
    cut = second.rfind("](")
    if cut < 0:
        return None
    title, link = second[1:cut], second[cut + 2:-1]
    underline, _, body = rest.partition("\n")
    if underline.strip() != "------":
        return None
    return int(m.group(1)), title, link, body.strip("\n")
