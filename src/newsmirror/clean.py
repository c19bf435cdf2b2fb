"""Cleaning an article body: absolute links, real images, rewritten image URLs, sanitizing.

Order matters and is fixed here (Miniflux-style, sanitizer last):
1. resolve lazy-loading images and `srcset`, make links and images absolute, drop tracking pixels;
2. rewrite image URLs (proxy, local copy or keep) through the `rewrite_image` callable;
3. sanitize with nh3 (the authority on what is safe);
4. give back the source text of every token nh3 kept unchanged (the house format's byte rule);
5. fold the body onto one line.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable

import nh3

from . import urls
from .htmltokens import Token, join, parse_attrs, tokenize

ALLOWED_TAGS = frozenset(
    "a abbr b bdi bdo blockquote br caption cite code col colgroup dd del details dfn div dl dt em "
    "figcaption figure h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q rp rt ruby s samp small "
    "span strike strong sub summary sup table tbody td tfoot th thead time tr u ul video audio".split()
)
ALLOWED_ATTRIBUTES = {
    "*": {"style", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "video": {"src", "poster", "controls", "width", "height"},
    "audio": {"src", "controls"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start", "type"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "time": {"datetime"},
    "abbr": {"title"},
}
ALLOWED_STYLES = frozenset({"color", "background-color", "text-align", "font-weight", "font-style", "text-decoration"})
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel=None,
    strip_comments=True,
    clean_content_tags={"script", "style", "template", "iframe", "object", "embed", "form", "button",
                        "select", "textarea", "svg", "math", "noembed", "noframes"},
    filter_style_properties=set(ALLOWED_STYLES),
)

# Attributes lazy-loading scripts keep the real image in, best first.
LAZY_SRC = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-url", "data-lazy",
            "data-echo", "data-hi-res-src", "data-full-src", "original", "file")
LAZY_SRCSET = ("data-srcset", "data-lazy-srcset", "srcset")
_PLACEHOLDER = re.compile(r"^(data:|about:blank)|(^|/)(blank|spacer|placeholder|pixel|lazy|loading|grey|transparent)[^/]*\.(gif|png|svg)(\?|$)", re.I)
_TRACKER_HOSTS = re.compile(
    r"(^|\.)(feeds\.feedburner\.com|feedsportal\.com|pixel\.wp\.com|stats\.wordpress\.com|google-analytics\.com|"
    r"doubleclick\.net|scorecardresearch\.com|quantserve\.com|pixel\.quantserve\.com|analytics\.twitter\.com|"
    r"facebook\.com/tr|sb\.scorecardresearch\.com|counter\.[a-z.]+|pubads\.g\.doubleclick\.net)$"
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_BLOCK = frozenset("address article aside blockquote dd details div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
                   "header hr li main nav ol p pre section table tbody td tfoot th thead tr ul br img video audio".split())

# How far the source may run ahead of nh3's output: tokens nh3 dropped (a removed element's
# contents, e.g. a <script> or a class-laden wrapper) lie in between.
_LOOKAHEAD = 256

ImageRewriter = Callable[[str], "str | None"]


def absolute(base: str, ref: str) -> str:
    """`ref` made absolute against `base`; an already absolute URL is kept byte for byte."""
    ref = ref.strip()
    if not ref or _SCHEME.match(ref) or not base:
        return ref
    return urls.join(base, ref)


def best_srcset(srcset: str) -> str | None:
    """The widest (or densest) candidate of a `srcset`."""
    best, best_score = None, -1.0
    for candidate in re.split(r",\s+(?=\S)", srcset.strip()):
        parts = candidate.strip().split()
        if not parts:
            continue
        score = 1.0
        if len(parts) > 1 and (m := re.fullmatch(r"([\d.]+)([wx])", parts[-1])):
            score = float(m.group(1)) * (1 if m.group(2) == "w" else 1000)
        if score > best_score:
            best, best_score = parts[0].rstrip(","), score
    return best


def real_image(tag: Token) -> str | None:
    """The image a lazy-loading `<img>` really shows, not its placeholder."""
    src = tag.get("src") or ""
    for name in LAZY_SRC:
        if value := (tag.get(name) or "").strip():
            if not _PLACEHOLDER.search(value):
                return value
    if src and not _PLACEHOLDER.search(src):
        return src
    for name in LAZY_SRCSET:
        if value := tag.get(name):
            return best_srcset(value)
    return None  # only a placeholder: the real image may be in <picture><source>


def is_tracker(tag: Token, url: str) -> bool:
    """A 1x1 image or one from a known counter: it shows nothing and tells on the reader."""
    if tag.get("width") in ("0", "1") and tag.get("height") in ("0", "1"):
        return True
    return bool(_TRACKER_HOSTS.search(urls.host(url)))


def image_urls(body: str, base: str) -> list[str]:
    """Every image URL `clean` would ask `rewrite_image` for (for local copies, fetched first)."""
    found: list[str] = []
    _rewrite(tokenize(body), base, lambda u: found.append(u) or u)
    return list(dict.fromkeys(found))


def clean(body: str, base: str = "", rewrite_image: ImageRewriter = lambda u: u) -> str:
    """The article body sanitized, with absolute URLs and rewritten images, on one line."""
    tokens = tokenize(body)
    _rewrite(tokens, base, rewrite_image)
    before = [t for t in tokens if t.kind in ("tag", "text")]
    return fold(_restore(before, _CLEANER.clean(join(before))))


def _rewrite(tokens: list[Token], base: str, rewrite_image: ImageRewriter) -> None:
    """Step 1 and 2 in place: links, lazy images, picture sources, posters, trackers."""
    picture_source: str | None = None
    last_image: str | None = None
    in_noscript = False
    for t in tokens:
        if t.kind != "tag":
            if t.kind == "text" and t.raw.strip():
                last_image = None
            continue
        if t.name == "noscript":
            t.kind = "comment"  # unwrap <noscript>: its <img> is often the only real one
            in_noscript = not t.closing
            continue
        if t.closing:
            if t.name == "picture":
                picture_source = None
            continue
        if t.name == "a" and (href := t.get("href")) is not None:
            new = absolute(base, href)
            if new != href.strip() or href != href.strip():
                t.set("href", new)
        elif t.name == "source" and (srcset := t.get("srcset") or t.get("data-srcset")):
            picture_source = best_srcset(srcset)
        elif t.name == "img":
            url = real_image(t) or picture_source
            if not url:
                t.kind = "comment"
                continue
            url = absolute(base, url)
            new = None if is_tracker(t, url) else rewrite_image(url)
            if new is None or (in_noscript and new == last_image):  # a tracker, or the <noscript> twin of the last image
                t.kind = "comment"
                continue
            if t.get("src") != new:
                t.set("src", new)
            for name in (*LAZY_SRC, *LAZY_SRCSET):
                t.set(name, None)
            last_image = new
        elif t.name == "video" and (poster := t.get("poster")):
            t.set("poster", rewrite_image(absolute(base, poster)))


def _key(t: Token) -> tuple:
    """What a token means, ignoring how it is spelled."""
    if t.kind == "text":
        return ("text", html.unescape(t.raw))
    return _tag_key(t.closing, t.name, t.attrs)


def _tag_key(closing: bool, name: str, attrs: dict[str, str]) -> tuple:
    return ("tag", closing, name, tuple(sorted((k, _style(v) if k == "style" else v) for k, v in attrs.items())))


def _style(value: str) -> str:
    decls = [tuple(p.strip().lower() if i == 0 else p.strip() for i, p in enumerate(d.split(":", 1)))
             for d in value.split(";") if d.strip()]
    return ";".join(":".join(d) for d in decls)


# nh3's output, cut into tags and text: it is well-formed (no comments, no stray "<"), so this is
# all it takes, at a fraction of the general tokenizer's cost.
_PIECE = re.compile(r"""<(/?)([A-Za-z][A-Za-z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>|[^<]+|<""")


def _restore(before: list[Token], sanitized: str) -> list[Token]:
    """nh3's output as tokens, each replaced by its source token wherever the two mean the same.

    nh3 only drops, rewrites or adds tokens (closing unclosed tags), never reorders them, so a
    forward walk with a short look-ahead aligns the two in linear time. Alignment is by kind
    and name (a tag nh3 stripped of an attribute is still the same tag); the source token is
    written back only when it means exactly what nh3 wrote. Equal spellings cost no parsing.
    """
    places: list[tuple | None] = [None] * len(before)

    def place(k: int) -> tuple:
        if places[k] is None:
            t = before[k]
            places[k] = ("text", html.unescape(t.raw)) if t.kind == "text" else (t.kind, t.closing, t.name)
        return places[k]  # type: ignore[return-value]

    out: list[Token] = []
    i = 0
    for m in _PIECE.finditer(sanitized):
        raw, name = m.group(0), m.group(2)
        if i < len(before) and before[i].raw == raw:
            out.append(before[i] if _safe(before[i]) else Token("text", raw))
            i += 1
            continue
        closing = bool(m.group(1))
        wanted = ("tag", closing, name.lower()) if name else ("text", html.unescape(raw))
        k = next((k for k in range(i, min(len(before), i + _LOOKAHEAD)) if place(k) == wanted), -1)
        if name:
            attrs = parse_attrs(m.group(3)) if m.group(3).strip() else {}
            same = k >= 0 and _key(before[k]) == _tag_key(closing, wanted[2], attrs)
            out.append(before[k] if same else Token("tag", raw, wanted[2], closing, attrs))
        else:
            out.append(before[k] if k >= 0 and _safe(before[k]) else Token("text", raw))
        if k >= 0:
            i = k + 1
    return out


def _safe(t: Token) -> bool:
    """A source token may be written back only if a browser cannot read more into it."""
    return t.kind == "tag" or "<" not in t.raw


def fold(tokens: Iterable[Token]) -> str:
    """One physical line: line breaks at tag boundaries vanish with the white space around them,
    a line break between words becomes one space, `<pre>` keeps its breaks as `&#10;`."""
    tokens = list(tokens)
    out: list[str] = []
    pre = 0
    for i, t in enumerate(tokens):
        if t.kind == "tag":
            if t.name == "pre":
                pre += -1 if t.closing else 1
            out.append(t.html())
            continue
        text = t.raw
        if pre > 0:
            out.append(text.replace("\r\n", "\n").replace("\n", "&#10;"))
            continue
        if "\n" in text or "\r" in text:
            prev = tokens[i - 1] if i else None
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            text = re.sub(r"^[ \t\f]*[\r\n]\s*", _edge(prev, text, True), text)
            text = re.sub(r"\s*[\r\n]\s*$", _edge(nxt, text, False), text)
            text = re.sub(r"[ \t\f]*[\r\n]\s*", " ", text)
        out.append(text)
    return "".join(out).strip()


def _edge(tag: Token | None, text: str, leading: bool) -> str:
    """Line break at a tag boundary: nothing, unless it separates two words around an inline tag."""
    if tag is None or tag.name in _BLOCK:
        return ""
    inner = text.strip()
    if not inner:
        return ""
    return " " if re.match(r"[A-Za-z0-9]", inner[0] if leading else inner[-1]) else ""
