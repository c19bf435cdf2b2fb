"""A lossless HTML tokenizer: each token keeps its exact source text.

The house format wants markup that passes sanitization unchanged written exactly as received
(same quotes, same `<br />`, same entities). An HTML parser forgets all of that, so the cleaning
stage works on these tokens: a token it does not touch is written back byte for byte, and only
the tokens it changes are serialized again.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field

_ATTR = r"""[^\s"'>/=\x00]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
_TOKEN = re.compile(
    r"(?P<comment><!--.*?(?:-->|$))"
    r"|(?P<decl><![^>]*>|<\?[^>]*>)"
    rf"|(?P<tag><(?P<close>/)?(?P<name>[A-Za-z][A-Za-z0-9:-]*)(?P<attrs>(?:\s+{_ATTR}|\s*/(?=[^>]))*)\s*(?P<slash>/)?>)",
    re.S,
)
_ATTR_SPLIT = re.compile(r"""([^\s"'>/=\x00]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"})


@dataclass(slots=True)
class Token:
    """One piece of markup. `raw` is the source text; `dirty` marks a token to serialize anew."""

    kind: str  # "tag", "text", "comment", "decl"
    raw: str
    name: str = ""
    closing: bool = False
    attrs: dict[str, str] = field(default_factory=dict)
    dirty: bool = False

    @property
    def text(self) -> str:
        """Decoded text of a text token."""
        return html.unescape(self.raw)

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    def set(self, name: str, value: str | None) -> None:
        """Change or (with None) remove an attribute; the token will be serialized anew."""
        if value is None:
            if name in self.attrs:
                del self.attrs[name]
                self.dirty = True
        elif self.attrs.get(name) != value:
            self.attrs[name] = value
            self.dirty = True

    def html(self) -> str:
        """The token as it will be written: its source text unless it was changed."""
        if not self.dirty or self.kind != "tag":
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


def tokenize(source: str) -> list[Token]:
    """Split `source` into tokens whose raw texts concatenate back to `source` exactly.

    A "<" that starts no tag, comment or declaration is text (a stray "<" in a title).
    """
    tokens: list[Token] = []
    pos, n = 0, len(source)
    search = _TOKEN.search
    while pos < n:
        m = search(source, pos)
        if m is None:
            _text(tokens, source[pos:])
            break
        start = m.start()
        if start > pos:
            _text(tokens, source[pos:start])
        pos = m.end()
        if not m.group("tag"):
            tokens.append(Token("comment" if m.group("comment") else "decl", m.group(0)))
            continue
        name = m.group("name").lower()
        if m.group("close"):
            tokens.append(Token("tag", m.group(0), name, True))
            continue
        attrs = m.group("attrs")
        tokens.append(Token("tag", m.group(0), name, False, parse_attrs(attrs) if attrs and not attrs.isspace() else {}))
        if name in RAW_TEXT:  # <script>, <style>...: their text runs to the closing tag, "<" or not
            end = _raw_end(name).search(source, pos)
            stop = end.start() if end else n
            if stop > pos:
                tokens.append(Token("text", source[pos:stop]))
            pos = stop
    return tokens


@functools.cache
def _raw_end(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{name}\s*>", re.I)


def _text(tokens: list[Token], raw: str) -> None:
    if tokens and tokens[-1].kind == "text" and not tokens[-1].dirty:
        tokens[-1].raw += raw
    else:
        tokens.append(Token("text", raw))


def join(tokens: list[Token]) -> str:
    return "".join(t.html() for t in tokens)
