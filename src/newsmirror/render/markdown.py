"""The house format (see ../shared/golden/README.md): articles, list pages and the README.

Titles, links and bodies come from hostile feeds, so each is written for what a CommonMark or
GFM reader makes of it: a `[TITLE](URL)` line is exactly one link, to exactly URL, whatever the
title holds; a body is one raw HTML block, never Markdown. `read_article` (reindex) reads back
exactly what was written, and reads the original mirror's files (raw titles) as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..dates import month_day_utc8
from ..model import Article
from .links import safe_link

if TYPE_CHECKING:
    from ..config import Mirror

LIST_SIZE = 300

# --- titles and link targets ---------------------------------------------------------------
# CommonMark's backslash escapes: a backslash before ASCII punctuation stands for that character.
_PUNCT = r"!-/:-@\[-`{-~"
# Text CommonMark would decode as a character reference (`&amp;` shows as `&`).
_ENTITY = r"&(?=#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};|[A-Za-z][A-Za-z0-9]*;)"
# A backslash that would escape what follows it (at the end: the `]` or `)` that closes).
_BACKSLASH = r"\\(?=[" + _PUNCT + r"]|\Z)"
# A backslash just before `|` makes it an escaped pipe to GFM, and a line whose pipes are all
# escaped is a one-column table over the `------` line: that backslash is written as a reference.
_PIPE = r"(?P<pipe>\\(?=\|))|"
BACKSLASH_REF = "&#92;"
# What _escape_title and _escape_target escape (a backslash before it, or BACKSLASH_REF).
_TITLE = re.compile(_PIPE + r"[\[\]`]|<(?!\s|\Z)|" + _BACKSLASH + "|" + _ENTITY)
_TARGET = re.compile(_PIPE + r"[\[\]]|" + _BACKSLASH + "|" + _ENTITY)
_TARGET_AND_PARENS = re.compile(_PIPE + r"[\[\]()]|" + _BACKSLASH + "|" + _ENTITY)
MAX_NESTING = 32  # parentheses nested deeper than this end a link destination in cmark and markdown-it
# The escapes newsmirror writes, the only ones read back: others are the original mirror's text.
_UNESCAPE = re.compile(r"\\([\\\[\]`<&()])|" + BACKSLASH_REF)
# A line in the shape newsmirror writes: no unescaped bracket in the title or the target, no
# white space or control character in the target (its parentheses are checked apart: _balanced).
_LINK_LINE = re.compile(r"\[((?:\\.|[^\[\]\\])*)\]\(((?:\\[^\s\x00-\x1f\x7f]|[^\[\]\\\s\x00-\x1f\x7f])*)\)", re.DOTALL)
_ESCAPED = re.compile(r"\\.", re.DOTALL)
# What would make a heading's text another block: an ATX heading, a quote, a list item, a rule,
# a fence (a backtick is escaped anyway).
_MARKER = re.compile(r"#{1,6}(?=\s|\Z)|>|[-+*](?=\s|\Z)|([-*_])(?:\s*\1){2,}\s*\Z|~~~|[0-9]{1,9}[.)](?=\s|\Z)")
# A pipe at either end of a heading's text leaves it one table cell, as many as `------` has.
_OUTER_PIPE = re.compile(r"\A\||\|\Z")

# --- bodies --------------------------------------------------------------------------------
# CommonMark reads a line as raw HTML only when it opens an HTML block; article bodies open one
# with a block-level tag (start condition 6: these names in both cmark-gfm 0.29 and spec 0.31).
_HTML_BLOCK = re.compile(
    r"</?(?:address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|dialog|dir|"
    r"div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|header|hr|html|iframe|legend|li|"
    r"link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|section|summary|table|tbody|td|tfoot|th|"
    r"thead|title|tr|track|ul)(?:[ \t>]|/>|\Z)", re.IGNORECASE)
# Wraps a body that opens no block (text, `<b>`, `<img>`...): newsmirror's own attribute (the
# sanitizer drops data-*), so that reading back removes only the wrappers newsmirror added.
WRAP_OPEN, WRAP_CLOSE = "<div data-newsmirror>", "</div>"


def one_line(text: str) -> str:
    """A title for a one-line header: outer white space removed, each inner run of white space
    holding a line break made one space.

    Each run is matched once (a pattern starting with `\\s*` before the line break retried every
    position of a long run of spaces: 32 s on 40,000 spaces after a line break)."""
    text = text.strip()
    if "\n" not in text and "\r" not in text:
        return text
    return re.sub(r"\s+", lambda m: " " if "\n" in m.group() or "\r" in m.group() else m.group(), text)


def _escape_title(title: str) -> str:
    """A title as link text that a CommonMark reader shows as this text and nothing else.

    Escaped: `[` `]` (nested brackets make a link or a reference of their own, and the reader
    finds the end of the title by the first unescaped `]`); backticks (code spans bind tighter
    than link text and could swallow the `](`); `<` before anything but white space (raw HTML
    and autolinks such as `<javascript:...>` bind tighter too); `\\` before punctuation or at
    the end (it would escape it, or the `]`); `&` that starts a character reference (`&lt;`
    would show as `<`); a `\\` just before `|` is written `&#92;` (see _PIPE). Kept: `* _ ~ ( ) ! |`
    and the rest, which at most emphasize words: ordinary titles stay byte-identical to the
    house format.
    """
    return _TITLE.sub(_escape, title)


def _escape_target(url: str) -> str:
    """A link destination that a CommonMark reader reads back as exactly `url`.

    `url` holds no white space or control characters (a WHATWG serialization, or a path
    newsmirror made). Escaped: `\\` before punctuation or at the end; `&` that starts a character
    reference (decoded in destinations too); `[` `]` (not needed by CommonMark, but they keep
    the first unescaped `](` of a line the one between title and target); `(` `)` only when they
    are not balanced within the nesting readers accept (balanced ones, as in Wikipedia links,
    stay as the original mirror wrote them); a `\\` just before `|` as in a title.
    """
    return (_TARGET if _balanced(url) else _TARGET_AND_PARENS).sub(_escape, url)


def _escape(m: re.Match[str]) -> str:
    return BACKSLASH_REF if m.lastgroup == "pipe" else "\\" + m.group()


def _unescape(text: str) -> str:
    """`text` with the escapes of _escape undone."""
    return _UNESCAPE.sub(lambda m: m.group(1) or "\\", text)


def _balanced(text: str) -> bool:
    """True when every `(` of `text` is closed in order, nested at most MAX_NESTING deep."""
    if "(" not in text and ")" not in text:
        return True
    depth = 0
    for paren in re.findall(r"[()]", text):
        depth += 1 if paren == "(" else -1
        if depth < 0 or depth > MAX_NESTING:
            return False
    return depth == 0


def link(title: str, url: str) -> str:
    """`[TITLE](URL)`: exactly one link to `url`, with `title` (one line) as its text."""
    return f"[{_escape_title(title)}]({_escape_target(url)})"


def read_link(line: str) -> tuple[str, str] | None:
    """(title, url) of a `[TITLE](URL)` line, or None when it is not one.

    A line in the shape newsmirror writes is read as a CommonMark reader reads it, with
    newsmirror's escapes undone. Any other line is one of the original mirror's, which wrote
    titles raw (they may hold `[`, `]`, `](` or line breaks): its link is what follows the last `](`.
    """
    # newsmirror writes one line (`one_line`): a header with a line break is the original's.
    m = None if "\n" in line or "\r" in line else _LINK_LINE.fullmatch(line)
    if m and _balanced(_ESCAPED.sub("", m.group(2))):
        return _unescape(m.group(1)), _unescape(m.group(2))
    cut = line.rfind("](")
    if not line.startswith("[") or not line.endswith(")") or cut < 0:
        return None
    return line[1:cut], line[cut + 2:-1]


def _heading(title: str) -> str:
    """A setext heading's text: escaped as a title, no block marker at its start and no pipe at
    either end (a feed titled "- x", "# x", "1. x", "~~~" or "|x" would make its list page a
    list, a heading, a code block or a table)."""
    text = _OUTER_PIPE.sub("&#124;", _escape_title(title))
    m = _MARKER.match(text)
    if not m:
        return text
    at = m.end() - 1 if text[0].isdigit() else 0  # an ordered list's marker is the `.` or `)` after its number
    return text[:at] + "\\" + text[at:]


def text_line(text: str) -> str:
    """A line of plain text that a CommonMark reader shows as this text, in a paragraph of its own
    (the digest's article text): escaped as a heading's text."""
    return _heading(text)


# --- bodies --------------------------------------------------------------------------------

def body_line(body: str) -> str:
    """The body as one line that a CommonMark reader takes whole as raw HTML.

    A body that opens no HTML block (plain text from a JSON Feed, `<b>`, `<img>`) would be a
    Markdown paragraph, where `[x](javascript:...)` is a link: it is wrapped in WRAP_OPEN ...
    WRAP_CLOSE, as is one that starts with WRAP_OPEN itself (so unwrapping never takes a body's
    own markup). Line breaks (only in bodies read back from older files) become spaces, which
    HTML reads alike: a blank line would end the block.
    """
    if "\n" in body or "\r" in body:
        body = re.sub(r"\r\n?|\n", " ", body)
    if body and (not _HTML_BLOCK.match(body) or body.startswith(WRAP_OPEN)):
        return WRAP_OPEN + body + WRAP_CLOSE
    return body


def _read_body(line: str) -> str:
    """The body `body_line` was given (a line it did not wrap is the body itself)."""
    if line.startswith(WRAP_OPEN) and line.endswith(WRAP_CLOSE):
        return line[len(WRAP_OPEN):-len(WRAP_CLOSE)]
    return line


# --- files ---------------------------------------------------------------------------------

def article(a: Article) -> str:
    """`<!--T-->`, `[TITLE](URL)`, six hyphens, a blank line, the body on one line.

    A link that is not http(s) is written empty: the article is kept, its link is not."""
    return f"<!--{a.published}-->\n{link(one_line(a.title), safe_link(a.link))}\n------\n\n{body_line(a.body)}\n"


def list_page(title: str, articles: Iterable[Article], marker: str = "", link_root: str = "/", foot: str = "") -> str:
    """`TITLE`, underline, then `M-D [TITLE](/articles/<id>/<n>.md)` for the newest 300, then
    `foot` (the mirrors: `mirrors_block`).

    An article another feed archived (dedupe = "mirror") links to that feed's folder; one
    removed at the source is marked with `marker`; one removed on request is REDACTED alone.
    """
    lines = []
    for a in list(articles)[:LIST_SIZE]:
        if a.redacted:  # neither title nor link: the notice may name either
            lines.append(f"{month_day_utc8(a.published)} {REDACTED}\n")
            continue
        removed = marker if a.removed_at and marker else ""
        path = f"{link_root}articles/{a.feed_id}/{a.number}.md"
        lines.append(f"{month_day_utc8(a.published)} {removed}{link(one_line(a.title), path)}\n")
    return f"{_heading(one_line(title))}\n------\n\n" + "\n".join(lines) + "\n" + foot


def link_path(name: str) -> str:
    """A file name as a relative URL path: `%` and what would end the Markdown link or the path
    (`#` would start a fragment) are percent-encoded."""
    return re.sub(r"[%#\s()<>\[\]]", lambda m: quote(m.group(0), safe=""), name)


README_BEGIN, README_END = "<!-- newsmirror:begin -->", "<!-- newsmirror:end -->"  # invisible on any git host
README_HEADING = "抓取新闻媒体文章\n------\n\n"
NOT_MIRRORED = "（已停止镜像）"  # after the title of a feed removed from the configuration: its articles stay
REDACTED = "（应要求删除）"  # the list line of an article removed on request (`newsmirror redact`)


MIRRORS_TITLE = "全部镜像"  # the heading of the mirror list (the copy being read is one of them)
_ANY_PUNCT = re.compile("[" + _PUNCT + "]")


def escape_text(text: str) -> str:
    """Text from the configuration shown as exactly this text: every ASCII punctuation character
    backslash-escaped (CommonMark allows it before any), so `*`, `_`, `]`, `<` or `&` never
    make emphasis, a link, HTML or a character reference."""
    return _ANY_PUNCT.sub(lambda m: "\\" + m.group(), text)


def mirrors_block(mirrors: Iterable[Mirror], heading: str = MIRRORS_TITLE) -> str:
    """The other copies as a section of their own: `heading`, underline, one line each (a link
    for an http(s) address, `name：` and the address as code for a `git@host:path`); "" for none.

    Follows a blank line (a list page and the README end with one), so its underline makes a heading."""
    lines = [f"[{escape_text(m.name)}]({_escape_target(m.url)})" if m.linked
             else f"{escape_text(m.name)}：`{m.url}`" for m in mirrors]  # config: no backtick in a git@ address
    return f"{heading}\n------\n\n" + "\n\n".join(lines) + "\n" if lines else ""


def readme(titles: Iterable[str], list_names: Iterable[str], current: str | None = None, foot: str = "") -> str:
    """The mirror's front page: one link per feed list, as the original mirror wrote it, between
    markers, so that only that part is ever rewritten.

    `current` is the README as it is (an adopted repository's acknowledgements, its owner's
    notes): the part between its markers is replaced, else the original mirror's list (its run of
    `[TITLE](lists/...)` lines), else the marked list is added at its end; the rest stays as it is.
    `foot` (the mirrors: `mirrors_block`) follows the links, between the markers.
    """
    links = [link(one_line(t), f"lists/{link_path(name)}.md") for t, name in zip(titles, list_names)]
    foot = "\n" + foot if foot and links else foot
    block = f"{README_BEGIN}\n" + "\n\n".join(links) + ("\n" if links else "") + foot + f"{README_END}\n"
    if current is None or not current.strip():
        return README_HEADING + block
    lines = current.splitlines(keepends=True)
    found = _generated(lines)
    if found is None:
        return current + ("\n" if current.endswith("\n") else "\n\n") + block
    return "".join(lines[:found[0]]) + block + "".join(lines[found[1]:])


def _generated(lines: list[str]) -> tuple[int, int] | None:
    """[start, end) of newsmirror's part of a README: its marked block, else the first run of
    list links (blank lines between them), else None."""
    text = [line.strip() for line in lines]
    if README_BEGIN in text and README_END in text[text.index(README_BEGIN):]:
        start = text.index(README_BEGIN)
        return start, text.index(README_END, start) + 1
    listed = [_list_link(line) for line in text]
    if True not in listed:
        return None
    start = end = listed.index(True)
    for i in range(start + 1, len(text)):
        if listed[i]:
            end = i
        elif text[i]:
            break
    return start, end + 1


def _list_link(line: str) -> bool:
    """Whether a README line is a link to a list page (`[美国之音](lists/美国之音.md)`)."""
    found = read_link(line)
    return found is not None and found[1].startswith("lists/") and found[1].endswith(".md")


def read_article(text: str) -> tuple[int, str, str, str] | None:
    """(T, title, link, body) of a house-format file, or None when it is not one.

    The original mirror wrote titles as feeds gave them, line breaks included
    (`[德语媒体：北京的快速回应\n\n](https://...)`), and the body on one line: the header is
    everything between the first line and the last underline that follows a link, so a title
    holding `------` lines (or `](`) is still read whole. A file checked out with CRLF line ends
    (git's autocrlf on Windows) is read as the LF file in the repository.
    """
    if text.partition("\n")[0].endswith("\r"):
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    m = re.fullmatch(r"<!--(\d+)-->", lines[0].strip())
    end = _underline(lines)
    header = read_link("\n".join(lines[1:end])) if end else None
    if m is None or end is None or header is None:
        return None
    return int(m.group(1)), header[0], header[1], _read_body("\n".join(lines[end + 1:]).strip("\n"))


def _underline(lines: list[str]) -> int | None:
    """The index of the last `------` line after which lines[1:index] read as a link (they
    start with `[`, end with `)` and hold `](` on one line: what `read_link` takes)."""
    found, linked = None, False
    if len(lines) > 1 and lines[1].startswith("["):
        for i in range(2, len(lines)):
            linked = linked or "](" in lines[i - 1]
            if linked and lines[i].strip() == "------" and lines[i - 1].endswith(")"):
                found = i
    return found
