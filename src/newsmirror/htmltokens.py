"""A lossless HTML splitter: pieces of markup and text that keep their exact source text.

The house format wants markup that passes sanitization unchanged written exactly as received
(same quotes, same `<br />`, same entities). An HTML parser forgets all of that, so the cleaning
stage works on these pieces: a piece it does not touch is written back byte for byte, and only
the tags it changes are parsed (`Tag`) and serialized again.

Pieces are plain strings, cut by one regular expression: splitting a body costs one C call,
not a Python object per token. A piece is a comment or declaration (`<!...`, `<?...`), a tag
(`<` and a letter or `/`), or text (anything else; a stray `<` is a text piece of its own, and
the text of a raw-text element is a `RawText` piece, whatever it starts with).
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field

_ATTR = r"""[^\s"'>/=\x00]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
_PIECE = re.compile(
    r"<!--.*?(?:-->|$)"  # comment
    r"|<![^>]*>|<\?[^>]*>"  # declaration, processing instruction
    rf"|</?[A-Za-z][A-Za-z0-9:-]*(?:\s+{_ATTR}|\s*/(?=[^>]))*\s*/?>"  # tag
    r"|[^<]+|<",  # text; a "<" that starts nothing above is text
    re.S,
)
_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)")
_ATTR_SPLIT = re.compile(r"""([^\s"'>/=\x00]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
RAW_TEXT = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")
_RAW_OPEN = re.compile(rf"<({'|'.join(RAW_TEXT)})[\s/>]", re.I)


class RawText(str):
    """The text of a `<script>`, `<style>`...: text, whatever it looks like."""

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
            attrs[name] = html.unescape(value)
    return attrs


def split(source: str) -> list[str]:
    """`source` cut into pieces that concatenate back to it exactly.

    The text of `<script>`, `<style>` and the other raw-text elements runs to their closing
    tag, "<" or not, and is one text piece.
    """
    if not _RAW_OPEN.search(source):
        return _PIECE.findall(source)
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
    return pieces


@functools.cache
def _raw_end(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{name}\s*>", re.I)
