"""A lossless HTML splitter: pieces of markup and text that keep their exact source text.

The house format wants markup that passes sanitization unchanged written exactly as received
(same quotes, same `<br />`, same entities). An HTML parser forgets all of that, so the cleaning
stage works on these pieces: a piece it does not touch is written back byte for byte, and only
the tags it changes are parsed (`Tag`) and serialized again.

Pieces are plain strings, cut by one regular expression: splitting a body costs one C call,
not a Python object per token. A piece is a comment or declaration (`<!...`, `<?...`), a tag
(`<` and a letter or `/`), or text (anything else; a stray `<` is a text piece of its own, and
the text of a raw-text element is a `RawText` piece, whatever it starts with). Every pass over
the pieces is linear in the input, whatever the input: a feed is hostile until cleaned.
"""

from __future__ import annotations

import bisect
import functools
import html
import html.entities
import re
from collections import deque
from dataclasses import dataclass, field

# The pattern follows the HTML tokenizer (WHATWG 13.2.5), so that a piece is a tag exactly
# where a browser (and nh3, which parses like one) sees a tag, and so that every alternative
# either matches or fails at once: with possessive quantifiers nothing is ever scanned twice,
# which keeps splitting linear. (The earlier pattern required a well-formed tag and retried a
# tag cut off by the end of the input at every later "<": `<a x ` repeated over 40 KB took 20 s.)
_WS = r"\t\n\f\r "
# An attribute: a name (one that starts with "=" is a name too), then maybe "=" and a value;
# quotes count only where a value starts. A value left open by the end of input runs to it.
_ATTR = (rf"(?:=[^{_WS}/>=]*+|[^{_WS}/>=]++)"
         rf"""(?>[{_WS}]*+=[{_WS}]*+(?:"[^"]*+"?|'[^']*+'?|[^{_WS}>"'][^{_WS}>]*+)?+)?+""")
# A tag runs from "<" and a letter to the first ">" outside a quoted value, or to the end of the
# input (where a browser drops it, see `split`).
_TAG = rf"</?[A-Za-z][^{_WS}/>]*+(?:[{_WS}/]++|{_ATTR})*+"
_PIECE = re.compile(
    r"<!--.*?(?:-->|$)"  # comment
    r"|<[!?][^>]*+>?"  # declaration, processing instruction (a browser's bogus comment: to ">" or the end)
    rf"|{_TAG}>?"  # tag
    r"|[^<]+|<",  # text; a "<" that starts nothing above is text
    re.DOTALL,
)
_CLOSED_TAG = re.compile(rf"{_TAG}>")
_NAME = re.compile(rf"<(/?)([A-Za-z][^{_WS}/>]*)")
_ATTR_SPLIT = re.compile(rf"""(=[^{_WS}/>=]*+|[^{_WS}/>=]++)"""
                         rf"""(?>[{_WS}]*+=[{_WS}]*+(?:"([^"]*+)"?|'([^']*+)'?|([^{_WS}>"'][^{_WS}>]*+))?+)?+""")
RAW_TEXT = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")
_RAW_OPEN = re.compile(rf"<({'|'.join(RAW_TEXT)})[{_WS}/>]", re.IGNORECASE)


class RawText(str):
    """Text, whatever it looks like: the text of a `<script>`, `<style>`..., or a tag cut off by
    the end of the input (a browser drops it; as a tag, `clean` would rewrite and close it)."""

    __slots__ = ()


def is_text(piece: str) -> bool:
    return piece[0] != "<" or len(piece) == 1 or isinstance(piece, RawText)


def is_tag(piece: str) -> bool:
    return piece[0] == "<" and len(piece) > 1 and piece[1] not in "!?" and not isinstance(piece, RawText)


def tag_name(piece: str) -> str:
    """Lower-cased name of a tag piece."""
    m = _NAME.match(piece)
    return m.group(2).lower() if m else ""


@dataclass(slots=True)
class Tag:
    """A tag read for its attributes; `dirty` once changed, and then `html()` serializes it anew."""

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    closing: bool = False
    raw: str = ""
    dirty: bool = False

    @classmethod
    def parse(cls, piece: str) -> Tag:
        m = _NAME.match(piece)
        assert m, piece
        closing = bool(m.group(1))
        return cls(m.group(2).lower(), {} if closing else parse_attrs(piece[m.end():]), closing, piece)

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    def set(self, name: str, value: str | None) -> None:
        """Change or (with None) remove an attribute."""
        if value is None:
            if name in self.attrs:
                del self.attrs[name]
                self.dirty = True
        elif self.attrs.get(name) != value:
            self.attrs[name] = value
            self.dirty = True

    def html(self) -> str:
        """The tag as it will be written: its source text unless it was changed."""
        if not self.dirty:
            return self.raw
        if self.closing:
            return f"</{self.name}>"
        attrs = "".join(f' {k}="{html.escape(v, quote=True)}"' for k, v in self.attrs.items())
        return f"<{self.name}{attrs}>"


def parse_attrs(text: str) -> dict[str, str]:
    """Attributes of a start tag, names lower-cased, values decoded; the first of a name wins."""
    attrs: dict[str, str] = {}
    for m in _ATTR_SPLIT.finditer(text):
        name = m.group(1).lower()
        if name not in attrs:
            value = next((g for g in m.groups()[1:] if g is not None), "")
            attrs[name] = unescape_attribute(value)
    return attrs


# html.unescape's own pattern of a character reference.
_REF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_LONG_DECIMAL = re.compile(r"&#([0-9]{8,})")
_ENTITIES = html.entities.html5


def unescape(text: str) -> str:
    """`html.unescape`, safe on any input. A decimal reference of more than 4300 digits makes
    html.unescape raise (Python's limit on int() of a long string); one of eight digits or more
    is past U+10FFFF (U+FFFD) once its leading zeros are gone, so it is shortened first and the
    result is what html.unescape gives wherever it gives anything."""
    if "&" not in text:  # (a search for "&#" costs five times as much)
        return text
    if _LONG_DECIMAL.search(text):
        text = _LONG_DECIMAL.sub(_shorten, text)
    return html.unescape(text)


def _shorten(m: re.Match[str]) -> str:
    digits = m.group(1).lstrip("0") or "0"
    return "&#" + (digits if len(digits) < 8 else "99999999")


def unescape_attribute(value: str) -> str:
    """An attribute value decoded as a browser decodes it: a legacy entity name without ";"
    (`&copy`, `&not`, `&reg`) followed by "=", a letter or a digit stays as written, so that the
    query string `?a=1&region=cn` is not read as "?a=1®ion=cn"."""
    if "&" not in value:
        return value
    return _REF.sub(_attribute_ref, value)


def _attribute_ref(m: re.Match[str]) -> str:
    ref = m.group(1)
    if ref[0] != "#" and not (ref[-1] == ";" and ref in _ENTITIES):
        name = ref if ref in _ENTITIES else next((ref[:x] for x in range(len(ref) - 1, 1, -1) if ref[:x] in _ENTITIES), "")
        if name and name[-1] != ";":
            after = ref[len(name):len(name) + 1] or m.string[m.end():m.end() + 1]
            if after == "=" or (after.isascii() and after.isalnum()):
                return m.group(0)
    return unescape(m.group(0))


def split(source: str) -> list[str]:
    """`source` cut into pieces that concatenate back to it exactly.

    The text of `<script>`, `<style>` and the other raw-text elements runs to their closing
    tag, "<" or not, and is one text piece.
    """
    if not _RAW_OPEN.search(source):
        return _cut_off(_PIECE.findall(source))
    pieces: list[str] = []
    pos = 0
    while pos < len(source):
        for m in _PIECE.finditer(source, pos):
            piece = m.group()
            pieces.append(piece)
            if piece[-1] == ">" and (raw := _RAW_OPEN.match(piece)):
                end = _raw_end(raw.group(1).lower()).search(source, m.end())
                pos = end.start() if end else len(source)
                if pos > m.end():
                    pieces.append(RawText(source[m.end():pos]))
                break
        else:
            break
    return _cut_off(pieces)


def _cut_off(pieces: list[str]) -> list[str]:
    """The pieces, the last one made text if it is a tag the end of the input cut off (only the
    last piece can run to the end)."""
    if pieces and is_tag(last := pieces[-1]) and not _CLOSED_TAG.fullmatch(last):
        pieces[-1] = RawText(last)
    return pieces


@functools.cache
def _raw_end(name: str) -> re.Pattern[str]:
    """The end tag of a raw-text element, as the tokenizer finds it: its name and then white
    space, "/" or ">" (`</script foo>` ends a script too)."""
    return re.compile(rf"</{name}(?=[{_WS}/>])", re.IGNORECASE)


# --- nesting ------------------------------------------------------------------------------------
#
# nh3 (html5ever) and lexbor (extract.py) slow down with the depth of the tree: 100,000 nested
# <div> take nh3 49 s and lexbor minutes, since every start tag walks the stack of open elements.
# Chromium caps the depth of the DOM at 512. `bound_nesting` replays the HTML tree builder over the
# pieces (WHATWG 13.2.6, as far as depth goes) and drops the start tags that would open an
# element deeper than MAX_DEPTH, with their end tags; text stays. Every element the model
# closes, the tree builder closes too (where unsure, the model keeps it open), so that the real
# depth never runs away from the model's; and it closes what browsers close (a <p> ends an open
# <p>, a <li> an open <li>...), so that an ordinary body, however sloppy, is left as it is.

MAX_DEPTH = 256
# Formatting elements a browser reopens after an element that closed them (`<p><i>a<p>b`: "b" is
# italic too); a few hundred of them reopened at every paragraph made 80 KB a 36 MB tree. Past
# this many reopenings in one body, the ones pending are closed for good (by inserting their
# end tags) instead.
RECONSTRUCTION_BUDGET = 16384

_VOID = frozenset(["area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
                   "input", "keygen", "link", "meta", "param", "source", "track", "wbr"])
_IGNORED = frozenset(["html", "head", "body", "frameset"])  # never opened in a body
_FORMATTING = frozenset(["a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong",
                         "tt", "u"])
_HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
_SPECIAL = frozenset(
    ["address", "applet", "area", "article", "aside", "base", "basefont", "bgsound", "blockquote", "body", "br",
     "button", "caption", "center", "col", "colgroup", "dd", "details", "dir", "div", "dl", "dt", "embed",
     "fieldset", "figcaption", "figure", "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6",
     "head", "header", "hgroup", "hr", "html", "iframe", "img", "input", "keygen", "li", "link", "listing", "main",
     "marquee", "menu", "meta", "nav", "noembed", "noframes", "noscript", "object", "ol", "p", "param", "plaintext",
     "pre", "script", "search", "section", "select", "source", "style", "summary", "table", "tbody", "td",
     "template", "textarea", "tfoot", "th", "thead", "title", "tr", "track", "ul", "wbr", "xmp"])
# MathML and SVG elements inside which markup is HTML again (annotation-xml only with an HTML
# encoding: counting it always keeps elements open, never closes them).
_INTEGRATION = frozenset(["mi", "mo", "mn", "ms", "mtext", "annotation-xml", "foreignobject", "desc", "title"])
_SCOPE = frozenset(["applet", "caption", "html", "table", "td", "th", "marquee", "object", "template"])
_MARKERS = frozenset(["applet", "caption", "marquee", "object", "td", "template", "th"])
_TABLE_PARTS = frozenset(["caption", "col", "colgroup", "tbody", "td", "tfoot", "th", "thead", "tr"])
_SECTIONS = ("tbody", "tfoot", "thead")
_CELLS = frozenset(["td", "th", "caption", "template"])  # closing one clears the formatting to its marker
# Start tags that close an open <p> ("table" does too, but not in quirks mode, where lexbor reads
# a page without a doctype; "form" not when a form is open).
_P_CLOSERS = frozenset(
    ["address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl", "fieldset",
     "figcaption", "figure", "footer", "header", "hgroup", "main", "menu", "nav", "ol", "p", "search", "section",
     "summary", "ul", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "listing", "plaintext", "xmp", "hr", "li", "dd",
     "dt"])
# Start tags before which a browser does not reopen formatting elements; every other one does.
_NO_REOPEN = _P_CLOSERS | _TABLE_PARTS | _IGNORED | frozenset(
    ["base", "basefont", "bgsound", "link", "meta", "noframes", "script", "style", "template", "title", "form",
     "table", "param", "source", "track", "textarea", "iframe", "noembed", "rb", "rtc", "rp", "rt", "frame"])
_SELECT_AWARE = frozenset(["select", "input", "keygen", "option", "optgroup", "hr"])  # what a <select> changes
_IMPLIED_END = frozenset(["dd", "dt", "li", "optgroup", "option", "p", "rb", "rp", "rt", "rtc"])
_BLOCK_END = frozenset(
    ["address", "article", "aside", "blockquote", "button", "center", "details", "dialog", "dir", "div", "dl",
     "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "listing", "main", "menu", "nav", "ol",
     "pre", "search", "section", "summary", "ul"])
# Start tags that leave SVG or MathML content ("font" only with some attributes: never counted).
_BREAKOUT = frozenset(
    ["b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em", "embed", "h1", "h2",
     "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing", "menu", "meta", "nobr", "ol", "p", "pre",
     "ruby", "s", "small", "span", "strong", "strike", "sub", "sup", "table", "tt", "u", "ul", "var"])

# The start tags with a rule of their own; any other is simply opened.
_RULED = (_IGNORED | _TABLE_PARTS | _SELECT_AWARE | _P_CLOSERS | _HEADINGS
          | frozenset(["svg", "math", "table", "form", "a", "nobr", "button", "rb", "rtc", "rp", "rt"]))

# The kinds of open element the tree builder looks for: a position list of each is kept.
(_K_SCOPE, _K_BUTTON, _K_LIST, _K_TABLE, _K_SPECIAL, _K_LI_STOP, _K_DD_STOP, _K_HTML) = range(8)
_KINDS = 8


@functools.lru_cache(maxsize=1024)  # bounded: a hostile body may invent any number of names
def _kinds(name: str) -> tuple[int, ...]:
    """The kinds (_K_*) an open element of this name is (an SVG or MathML name ends in " ")."""
    if name[-1] == " ":
        return (_K_SCOPE, _K_BUTTON, _K_LIST, _K_SPECIAL, _K_LI_STOP, _K_DD_STOP) if name[:-1] in _INTEGRATION else ()
    kinds = [_K_HTML]
    if name in _SCOPE or name == "select":  # inside a <select>, html5ever ignores the end tags of what is outside
        kinds += [_K_SCOPE, _K_BUTTON, _K_LIST]
    elif name == "button":
        kinds.append(_K_BUTTON)
    elif name in ("ol", "ul"):
        kinds.append(_K_LIST)
    if name in ("html", "table", "template"):
        kinds.append(_K_TABLE)
    if name in _SPECIAL:
        kinds.append(_K_SPECIAL)
        if name not in ("address", "div", "p", "li"):
            kinds.append(_K_LI_STOP)
        if name not in ("address", "div", "p", "dd", "dt"):
            kinds.append(_K_DD_STOP)
    return tuple(kinds)


_OPEN, _PENDING, _REMOVED = 0, 1, 2


class _Entry:
    """An active formatting element: open, pending (closed by another element, to be reopened),
    or removed from the list."""

    __slots__ = ("level", "name", "piece", "position", "state")

    def __init__(self, name: str, piece: str, level: _Formatting) -> None:
        self.name, self.piece, self.level, self.state, self.position = name, piece, level, _OPEN, -1


class _Formatting:
    """The list of active formatting elements after the last marker (a marker goes in with a table
    cell, a caption, an <object>..., and the entries after it go when the cell is closed, or the
    object by its end tag)."""

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.by_name: dict[str, list[_Entry]] = {}
        self.same: dict[str, list[_Entry]] = {}  # by spelling: the browser keeps three alike at most
        self.removed = 0
        self.pending = 0

    def add(self, name: str, piece: str) -> _Entry:
        same = self.same.setdefault(piece, [])
        if len(same) >= 3:  # the "Noah's Ark" clause
            self.remove(same[0])
        entry = _Entry(name, piece, self)
        self.entries.append(entry)
        self.by_name.setdefault(name, []).append(entry)
        same.append(entry)
        return entry

    def last(self, name: str) -> _Entry | None:
        """The latest entry of a name."""
        entries = self.by_name.get(name)
        while entries and entries[-1].state == _REMOVED:
            entries.pop()
        return entries[-1] if entries else None

    def remove(self, entry: _Entry) -> None:
        self.same[entry.piece].remove(entry)  # three at most
        self.pending -= entry.state == _PENDING
        entry.state = _REMOVED
        self.removed += 1
        if self.removed > 64 and self.removed * 2 > len(self.entries):
            self.entries = [e for e in self.entries if e.state != _REMOVED]
            self.removed = 0

    def to_reopen(self) -> list[_Entry]:
        """The pending entries after the last open one, in order (what a browser reopens)."""
        found = []
        for entry in reversed(self.entries):
            if entry.state == _OPEN:
                break
            if entry.state == _PENDING:
                found.append(entry)
        found.reverse()
        return found


# Elements moved or taken out of the middle of the stack (the adoption agency for misnested
# formatting elements, a second <a>, </form>) cost a pass over what is above them; past this
# many in one body the tag that asks for it is dropped instead.
_REARRANGEMENTS = 1024


class _Tree:
    """The stack of open elements, as the tree builder would have it, for depth only. Names of
    SVG and MathML elements are kept with a trailing space, apart from HTML ones."""

    def __init__(self, max_depth: int, table_closes_p: bool | None) -> None:
        self.max_depth = max_depth
        self.table_closes_p = table_closes_p
        self.names: list[str] = []
        self.entries: list[_Entry | None] = []
        self.open_at: dict[str, list[int]] = {}
        self.kinds: list[list[int]] = [[] for _ in range(_KINDS)]
        self.formatting = [_Formatting()]
        self.form = False  # the tree builder's form element pointer
        self.dropped: dict[str, int] = {}  # start tags dropped, by name: their end tags go too
        self.budget = RECONSTRUCTION_BUDGET
        self.rearrangements = _REARRANGEMENTS

    def walk(self, pieces: list[str]) -> list[str]:
        out: list[str] = []
        for piece in pieces:
            if piece[:1] == "<" and piece[1:2] not in ("", "!", "?") and type(piece) is str:  # a tag
                m = _NAME.match(piece)
                assert m, piece
                name = m.group(2).lower()
                keep = self.end(name, out) if m.group(1) else self.start(name, piece, out)
                out.append(piece if keep else "")
            else:
                if piece and type(piece) is str and piece[:2] not in ("<!", "<?"):
                    self.text(piece, out)
                out.append(piece)
        return out

    def text(self, text: str, out: list[str]) -> None:
        if self.top() == "colgroup" and not text.isspace():
            self.pop_to(len(self.names) - 1)
        if self.formatting[-1].pending:
            self.reopen(out)  # text reopens formatting elements

    # --- the stack ---------------------------------------------------------------------------

    def last(self, kind: int) -> int:
        """Position of the innermost open element of a kind, -1 if none."""
        positions = self.kinds[kind]
        return positions[-1] if positions else -1

    def at(self, name: str) -> int:
        """Position of the innermost open HTML element of this name, -1 if none."""
        positions = self.open_at.get(name)
        return positions[-1] if positions else -1

    def at_any(self, *names: str) -> int:
        """Position of the innermost open HTML element of these names, -1 if none."""
        return max(self.at(name) for name in names)

    def in_scope(self, position: int, kind: int) -> bool:
        """Whether the element at `position` is open with no boundary of `kind` inside it."""
        return position >= 0 and position >= self.last(kind)

    def top(self) -> str:
        return self.names[-1] if self.names else ""

    def foreign_top(self) -> bool:
        """Whether the current node is an SVG or MathML element where markup is not HTML."""
        return bool(self.names) and (top := self.names[-1])[-1] == " " and top[:-1] not in _INTEGRATION

    def push(self, name: str, piece: str, entry: _Entry | None = None) -> bool:
        """Open an element; False (its start tag is to be dropped) past the depth bound."""
        if len(self.names) >= self.max_depth:
            self.dropped[name] = self.dropped.get(name, 0) + 1
            return False
        if name in _FORMATTING and entry is None:
            entry = self.formatting[-1].add(name, piece)
        self._append(name, entry)
        if name in _MARKERS:
            self.formatting.append(_Formatting())
        return True

    def _append(self, name: str, entry: _Entry | None) -> None:
        position = len(self.names)
        self.names.append(name)
        self.entries.append(entry)
        if entry is not None:
            entry.position = position
        self.open_at.setdefault(name, []).append(position)
        for kind in _kinds(name):
            self.kinds[kind].append(position)

    def _pop(self) -> tuple[str, _Entry | None]:
        name = self.names.pop()
        self.open_at[name].pop()
        for kind in _kinds(name):
            self.kinds[kind].pop()
        return name, self.entries.pop()

    def _truncate(self, position: int) -> list[tuple[str, _Entry | None]]:
        """Take the elements from `position` up off the stack (nothing else changes); returned
        bottom first."""
        taken = [self._pop() for _ in range(len(self.names) - position)]
        taken.reverse()
        return taken

    def pop_to(self, position: int) -> None:
        """Close the element at `position` and every element inside it."""
        names, entries, open_at, kinds = self.names, self.entries, self.open_at, self.kinds
        while len(names) > position:
            name, entry = names.pop(), entries.pop()
            open_at[name].pop()
            for kind in _kinds(name):
                kinds[kind].pop()
            if name in _CELLS:
                self.clear_to_marker()  # closing a cell forgets the formatting inside it
            elif entry is not None and entry.state == _OPEN:
                entry.state = _PENDING
                entry.level.pending += 1
        if self.dropped:
            self._closed()

    def clear_to_marker(self) -> None:
        if len(self.formatting) > 1:
            self.formatting.pop()

    def _closed(self) -> None:
        if len(self.names) < self.max_depth:
            self.dropped.clear()  # what was dropped was inside what just closed

    def pop_while(self, names: frozenset[str]) -> None:
        while self.names and self.names[-1] in names:
            self.pop_to(len(self.names) - 1)

    def rearrange(self, position: int, order: list[tuple[str, _Entry | None]]) -> None:
        """Replace the elements from `position` up by `order` (the same ones, fewer, moved)."""
        self._truncate(position)
        for name, entry in order:
            self._append(name, entry)
        self._closed()

    def reopen(self, out: list[str]) -> None:
        """Reopen the pending formatting elements, as a browser does before text and most start
        tags; past the depth bound or the budget, close them for good with end tags instead (an
        end tag for a formatting element that is not open only takes it off the list)."""
        formatting = self.formatting[-1]
        entries = formatting.to_reopen()
        if not entries:
            return
        if len(entries) > self.budget or len(self.names) + len(entries) > self.max_depth:
            for entry in reversed(entries):
                out.append(f"</{entry.name}>")
                formatting.remove(entry)
            return
        self.budget -= len(entries)
        formatting.pending -= len(entries)
        for entry in entries:
            entry.state = _OPEN
            self.push(entry.name, entry.piece, entry)

    # --- start tags --------------------------------------------------------------------------

    def start(self, name: str, piece: str, out: list[str]) -> bool:
        """Process a start tag; False when it is to be dropped."""
        names = self.names
        if names and names[-1][-1] == " " and self.foreign_top():
            if name not in _BREAKOUT:
                return _self_closing(piece) or self.push(name + " ", piece)
            while self.foreign_top():
                self.pop_to(len(names) - 1)
        if names and names[-1] == "colgroup" and name not in ("col", "template"):
            self.pop_to(len(names) - 1)  # a column group holds only <col>: anything else ends it
        if name in _RULED:
            done = self.start_rules(name, piece, out)
            if done is not None:
                return done
        if name not in _NO_REOPEN and self.formatting[-1].pending:
            self.reopen(out)
        return name in _VOID or self.push(name, piece)

    def start_rules(self, name: str, piece: str, out: list[str]) -> bool | None:
        """The start tags the tree builder has a rule for: True or False when that settles the
        tag (False: dropped), None when it is then opened like any other."""
        if name in ("svg", "math"):
            self.reopen_before(out)
            return _self_closing(piece) or self.push(name + " ", piece)
        if name in _IGNORED:
            return True
        if name in _TABLE_PARTS or name == "table":
            opened = self.table_part(name, out)
            if opened is not None:
                return self.push(name, piece) if opened and name != "col" else True
        select = self.at("select") if name in _SELECT_AWARE else -1
        if name == "select" and self.in_scope(select, _K_SCOPE):
            self.pop_to(select)  # a select in a select ends the first
            return True
        if name in ("input", "keygen") and self.in_scope(select, _K_SCOPE):
            self.pop_to(select)
        if name == "form":
            if self.form and self.at("template") < 0:
                return True  # a form in a form is ignored
            self.form = self.at("template") < 0
        if name == "li":
            self.close(self.at("li"), _K_LI_STOP)
        elif name in ("dd", "dt"):
            self.close(self.at_any("dd", "dt"), _K_DD_STOP)
        elif name in ("option", "optgroup", "hr") and self.in_scope(select, _K_SCOPE):
            self.pop_while(_IMPLIED_END - {"optgroup"} if name == "option" else _IMPLIED_END)
        elif name in ("option", "optgroup") and self.top() == "option":
            self.pop_to(len(self.names) - 1)
        if name in _P_CLOSERS or name == "form":
            self.close(self.at("p"), _K_BUTTON)
        if name in _HEADINGS and self.top() in _HEADINGS:
            self.pop_to(len(self.names) - 1)
        elif name == "a" and (entry := self.formatting[-1].last("a")) is not None:
            if self.adopt("a") is False or not self.take_out(entry):  # a second <a> ends the first
                return False  # out of rearrangements: the tag goes
        elif name == "nobr" and self.in_scope(self.at("nobr"), _K_SCOPE) and self.adopt("nobr") is False:
            return False
        elif name == "button":
            self.close(self.at("button"), _K_SCOPE)
        elif name in ("rb", "rtc", "rp", "rt") and self.in_scope(self.at("ruby"), _K_SCOPE):
            self.pop_while(_IMPLIED_END if name in ("rb", "rtc") else _IMPLIED_END - {"rtc"})
        return None

    def reopen_before(self, out: list[str]) -> None:
        if self.formatting[-1].pending:
            self.reopen(out)

    def close(self, position: int, boundary: int) -> None:
        """Close the element at `position` if no element of the boundary kind is inside it."""
        if self.in_scope(position, boundary):
            self.pop_to(position)

    def table_part(self, name: str, out: list[str]) -> bool | None:
        """A table tag: True to open it, False to ignore it, None to treat it as any other tag."""
        context = self.last(_K_TABLE)
        if context < 0:
            if name != "table":
                return False  # table parts outside a table are ignored
            if self.in_scope(self.at("p"), _K_BUTTON):
                if self.table_closes_p is None:
                    out.append("</p>")  # quirks mode or not, the paragraph ends here
                if self.table_closes_p is not False:
                    self.pop_to(self.at("p"))
            return None
        if self.names[context] != "table":
            return True  # inside a <template>: opened where it is
        if self.at_any("td", "th", "caption") > context:  # a table in a cell or caption is nested
            return None if name == "table" else self.cell_part(name, context)
        if name == "table":
            self.pop_to(context)  # a table directly in a table ends the first one
            return None
        return self.cell_part(name, context)

    def cell_part(self, name: str, context: int) -> bool:
        """Back to the table's own context, closing the cell, row or section the tag ends."""
        keep = context
        if name in ("td", "th"):
            keep = max(context, self.at("tr"), self.at_any(*_SECTIONS))
        elif name == "tr":
            keep = max(context, self.at_any(*_SECTIONS))
        self.pop_to(keep + 1)
        return True

    def take_out(self, entry: _Entry) -> bool:
        """After the adoption agency for a second <a>: the first leaves the list and, wherever it
        is, the stack. False when out of rearrangements."""
        if entry.state == _PENDING:
            entry.level.remove(entry)
        return entry.state != _OPEN or self.take_out_at(entry.position, entry)

    def take_out_at(self, position: int, entry: _Entry | None = None) -> bool:
        """Take one element out of the middle of the stack; False when out of rearrangements."""
        if self.rearrangements <= 0:
            return False
        self.rearrangements -= 1
        order = self._truncate(position)[1:]
        if entry is not None:
            entry.level.remove(entry)
        self.rearrange(position, order)
        return True

    def adopt(self, name: str) -> bool | None:
        """The adoption agency algorithm for an end tag (or a second <a>) of a formatting element,
        as far as depth goes: True when done, None when the tag is to be read as any other end
        tag, False when it is to be dropped (out of rearrangements)."""
        formatting = self.formatting[-1]
        if self.top() == name and (self.entries[-1] is None or self.entries[-1].state == _REMOVED):
            self.pop_to(len(self.names) - 1)
            return True
        if self.rearrangements < 8:
            return False
        for attempt in range(8):
            entry = formatting.last(name)
            if entry is None:
                return None if attempt == 0 else True
            if entry.state != _OPEN:
                formatting.remove(entry)
                return True
            position = entry.position
            if not self.in_scope(position, _K_SCOPE):
                return True  # ignored
            specials = self.kinds[_K_SPECIAL]
            above = bisect.bisect_right(specials, position)
            if above == len(specials):  # no block inside it: close it and what is inside
                self.pop_to(position)
                formatting.remove(entry)
                return True
            self.rearrangements -= 1
            self.furthest_block(position, specials[above], entry)
        return True

    def furthest_block(self, position: int, block: int, entry: _Entry) -> None:
        """The formatting element at `position` leaves the stack and comes back right inside the
        block at `block`; of the elements between, the three nearest the block that are active
        formatting elements stay, the others go."""
        between = self._truncate(position)
        kept = []
        for counter, (name, node) in enumerate(reversed(between[1:block - position]), 1):
            if node is not None and node.state == _OPEN:
                if counter <= 3:
                    kept.append((name, node))
                    continue
                node.level.remove(node)
        kept.reverse()
        self.rearrange(position, [*kept, between[block - position], (between[0][0], entry), *between[block - position + 1:]])

    # --- end tags ----------------------------------------------------------------------------

    def end(self, name: str, out: list[str]) -> bool:
        """Process an end tag; False when it is to be dropped."""
        if self.dropped.get(name):
            self.dropped[name] -= 1
            return False
        if self.foreign_top():
            if name in ("br", "p"):
                while self.foreign_top():
                    self.pop_to(len(self.names) - 1)
            else:
                foreign = self.open_at.get(name + " ")
                if foreign and foreign[-1] > self.last(_K_HTML):
                    self.pop_to(foreign[-1])
                    return True
        if name in _IGNORED:
            return True
        if name == "br":  # read as <br>
            self.reopen_before(out)
            return True
        if name in _FORMATTING:
            done = self.adopt(name)
            if done is not None:
                return done
        position = self.at(name)
        if name == "p":
            self.close(position, _K_BUTTON)
        elif name == "li":
            self.close(position, _K_LIST)
        elif name in ("applet", "marquee", "object"):
            if self.in_scope(position, _K_SCOPE):
                self.pop_to(position)
                self.clear_to_marker()
        elif name in ("dd", "dt", "select") or name in _BLOCK_END:
            self.close(position, _K_SCOPE)
        elif name == "template":
            if position >= 0:
                self.pop_to(position)
        elif name in _HEADINGS:
            self.close(self.at_any(*_HEADINGS), _K_SCOPE)
        elif name == "table":
            self.close(position, _K_TABLE)
        elif name in _TABLE_PARTS:
            if position > self.last(_K_TABLE):  # not past a table opened inside it
                self.pop_to(position)
        elif name == "form":
            return self.end_form(position)
        elif position >= 0 and self.last(_K_SPECIAL) <= position:
            self.pop_to(position)  # any other end tag: closes it unless a special element is inside
        return True

    def end_form(self, position: int) -> bool:
        """</form>: outside a template, the form the pointer names leaves the stack, not what is
        inside it."""
        if self.at("template") >= 0:
            self.close(position, _K_SCOPE)
            return True
        had, self.form = self.form, False
        if not had or not self.in_scope(position, _K_SCOPE):
            return True
        self.pop_while(_IMPLIED_END)
        if position == len(self.names) - 1:
            self.pop_to(position)
            return True
        return self.take_out_at(position)


def _self_closing(piece: str) -> bool:
    """Whether a tag ends with a "/" of its own (`<g/>`, `<g a="1"/>`), not with one that ends an
    unquoted value (`<g a=b/>`): only the first closes an SVG or MathML element at once."""
    if not piece.endswith("/>"):
        return False
    m = _NAME.match(piece)
    assert m, piece
    tail = deque(_ATTR_SPLIT.finditer(piece, m.end()), maxlen=1)  # the last match only
    return not tail or tail[0].end() < len(piece) - 1


def bound_nesting(pieces: list[str], max_depth: int = MAX_DEPTH, table_closes_p: bool | None = True) -> list[str]:
    """`pieces` with every start tag that would open an element deeper than `max_depth` dropped,
    with its end tag (text stays), and formatting elements a browser would reopen past
    RECONSTRUCTION_BUDGET times closed. A body without that many start tags is left alone.

    `table_closes_p`: whether the parser is in no-quirks mode (nh3 is; lexbor, on a page without
    a doctype, is not), where a <table> ends an open <p>; None when unknown: the <p> is then
    ended before the <table> with an end tag, which every mode reads alike.
    """
    if not may_nest("".join(pieces), max_depth):
        return pieces
    return _Tree(max_depth, table_closes_p).walk(pieces)


def may_nest(source: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether `source` has more than `max_depth` start tags (or might: the count is an upper bound,
    and costs two scans of the text, the second only for long bodies)."""
    n = source.count("<")
    return n > max_depth and n - source.count("</") > max_depth
