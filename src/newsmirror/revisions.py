"""Which changes to an archived article become a revision: the churn rules.

Found on real feeds: a page with a view counter, an "updated N minutes ago" line or a rotating
box of related links made 29 revisions in 30 passes. So a change is compared on a "stable text"
that leaves those volatile parts out, an article that goes back to a version already stored
gets no new revision, and at most `limit` revisions are stored per article in any 24 hours
(reader's HASH_CHANGED_LIMIT and NewsDiffs' "a version that flips back more than twice is not
listed" are the precedents). Pure: plain data in and out, no I/O.

`identity.content_hash` stays what it is (its hashes are stored for every archived article):
the stable key is computed from the stored bodies whenever a change is to be decided.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .identity import normalized_text

VOLATILE = "volatile"  # only counters, relative times or boxes of links changed
FLIP = "flip"  # back to a version already stored
LIMIT = "limit"  # over the revisions a day
REASONS = (VOLATILE, FLIP, LIMIT)
MAX_RETURNS = 2  # NewsDiffs: a version that flips back more than twice is not listed
DAY = 24 * 3600 * 1000

# Boxes of links: a block whose text is mostly the text of two or more links ("related stories").
_BOX_TAGS = frozenset({"ul", "ol", "dl", "div", "section", "aside", "nav", "table"})
_BOX_SHARE = 0.8  # at least this share of the block's text is link text
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^>]*>")

# Counters and relative times. Each pattern starts at a word or at the first digit of a run
# (the look-behinds) and its quantifiers are bounded, so a megabyte of digits stays linear.
_NUMBER = r"(?<![\d,.])\d[\d,.]{0,15}\s{0,3}(?:(?:[万萬千kKmM]\+?|\+)\s{0,3})?"
# A bare "次" is left alone: "第2次" (the second time) and "被捕3次" are what an article says.
_COUNTED = (r"(?:次阅读|次閱讀|次浏览|次瀏覽|人阅读|人閱讀|人浏览|人瀏覽|条评论|條評論|阅读|閱讀|浏览|瀏覽|点击|點擊|评论|評論|"
            r"点赞|點讚|views?|reads?|comments?)")
_COUNTER_WORD = (r"(?:阅读量|閱讀量|浏览量|瀏覽量|阅读数|閱讀數|浏览次数|瀏覽次數|点击量|點擊量|阅读|閱讀|浏览|瀏覽|点击|點擊|评论|評論|"
                 r"点赞|點讚|views|reads|comments)")
_AGO = (r"(?<!\d)\d{1,4}\s{0,3}(?:秒钟|秒鐘|秒|分钟|分鐘|小时|小時|天|周|週|星期|个月|個月|年)前|刚刚|剛剛|just now|"
        r"(?<!\d)\d{1,4}\s{0,3}(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s{1,3}ago")
_CLOCK = r"(?:\d{1,4}\s{0,2}[-/.:：年月日时時分秒,]?\s{0,2}){1,8}(?:[ap]\.?m\.?)?"
_VOLATILE = re.compile(
    rf"{_NUMBER}{_COUNTED}"
    rf"|{_COUNTER_WORD}\s{{0,3}}[:：]?\s{{0,3}}\d[\d,.]{{0,15}}(?:[万萬千kKmM]\+?|\+)?(?:\s{{0,3}}次)?"
    rf"|(?:更新于|更新於|更新时间|更新時間|(?:last\s)?updated(?:\s(?:on|at))?)\s{{0,3}}[:：]?\s{{0,3}}(?:{_AGO}|{_CLOCK})"
    rf"|{_AGO}",
    re.IGNORECASE)


def stable_text(body: str | None) -> str:
    """The words of a body (`identity.normalized_text`) without what changes on its own: boxes
    of links, counters (`1,234 次阅读`, `阅读 1234`, `56 comments`) and relative times
    (`5分钟前`, `3 hours ago`, `更新于 10:05`). Linear in the body."""
    if not body:
        return ""
    text = normalized_text(_without_boxes(body))
    return " ".join(_VOLATILE.sub(" ", text).split())


@dataclass(slots=True)
class _Block:
    """An open block while a body is scanned: where it starts, and its text so far."""

    tag: str
    start: int
    text: int = 0  # characters of text, white space aside
    linked: int = 0  # ...of which inside links
    links: int = 0

    def add(self, inner: _Block) -> None:
        self.text += inner.text
        self.linked += inner.linked
        self.links += inner.links


def _without_boxes(body: str) -> str:
    """The body with its boxes of links cut out (an outer box takes its inner ones with it)."""
    end = body.rfind(">") + 1  # no match lies past the last ">": scanning there was quadratic
    frames: list[_Block] = []
    open_count: dict[str, int] = {}
    cuts: list[tuple[int, int]] = []  # ranges to cut, in order, none inside another
    in_link = 0
    last = 0
    for m in _TAG.finditer(body, 0, end):
        chars = len("".join(body[last:m.start()].split()))
        last = m.end()
        if frames:
            frames[-1].text += chars
            frames[-1].linked += chars if in_link else 0
        closing, name = m.group(1) == "/", m.group(2).lower()
        if name == "a":
            in_link = max(0, in_link - 1) if closing else in_link + 1
            if not closing and frames:
                frames[-1].links += 1
        elif name in _BOX_TAGS and not closing:
            frames.append(_Block(name, m.start()))
            open_count[name] = open_count.get(name, 0) + 1
        elif name in _BOX_TAGS and open_count.get(name):
            while True:  # unclosed blocks inside it end with it: each block is popped once
                block = frames.pop()
                open_count[block.tag] -= 1
                if frames:
                    frames[-1].add(block)
                if block.tag == name:
                    break
            if block.links >= 2 and block.text and block.linked >= _BOX_SHARE * block.text:
                while cuts and cuts[-1][0] >= block.start:
                    cuts.pop()
                cuts.append((block.start, m.end()))
    if not cuts:
        return body
    parts, at = [], 0
    for start, stop in cuts:
        parts.append(body[at:start])
        at = stop
    parts.append(body[at:])
    return " ".join(parts)


def version_key(title: str, body: str | None) -> str:
    """What two versions must share to be the same version: the title and the stable text."""
    return hashlib.sha256((" ".join(title.split()) + "\n" + stable_text(body)).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class VersionKey:
    """A stored version of an article: its `version_key`, and when it was replaced (None for
    the current one)."""

    key: str
    replaced_at: int | None = None


@dataclass(frozen=True, slots=True)
class Revise:
    """Keep the current version as a revision and make the new one current."""


@dataclass(frozen=True, slots=True)
class ReturnTo:
    """Make the new version current again, in the place of the earlier version `index` (which
    it is): no new revision."""

    index: int


@dataclass(frozen=True, slots=True)
class Suppress:
    """Keep the current version; the change is only counted, under `reason`."""

    reason: str


def decide(versions: Sequence[VersionKey], new: str, now: int, limit: int, flips: int) -> Revise | ReturnTo | Suppress:
    """What to do with a new version (key `new`) of an article whose stored `versions` are
    these, oldest first, the current one last; `flips`: how often it went back before.

    Same stable text as the current version: volatile. The stable text of an earlier version:
    the article shows it again, for its first `MAX_RETURNS` returns; later ones are counted
    only (a page flipping between two texts rewrites its file no more). Otherwise a revision,
    unless `limit` versions were already replaced in the 24 hours before `now`.
    """
    *earlier, current = versions
    if new == current.key:
        return Suppress(VOLATILE)
    for index, version in enumerate(earlier):
        if version.key == new:
            return ReturnTo(index) if flips < MAX_RETURNS else Suppress(FLIP)
    recent = sum(1 for v in earlier if v.replaced_at is not None and v.replaced_at > now - DAY)
    return Revise() if recent < limit else Suppress(LIMIT)
