"""Cleaning an article body: absolute links, real images, rewritten image URLs, sanitizing.

Order matters and is fixed here (Miniflux-style, sanitizer last):
0. replace every player or embedded page (iframe, object, embed, video, audio) by a plain link
   to its source (`embed_links`);
1. resolve lazy-loading images and `srcset`, make links and images absolute, drop tracking pixels;
2. rewrite image URLs (proxy, local copy or keep) through the `rewrite_image` callable;
3. bound the nesting depth (htmltokens.bound_nesting), which nh3's time grows with;
4. sanitize with nh3 (the authority on what is safe), which keeps only http(s) or relative URLs
   and a short list of style values;
5. give back the source text of every token nh3 kept unchanged (the house format's byte rule);
6. fold the body onto one line.
Every step is linear in the body, whatever the body.
"""

from __future__ import annotations

import functools
import html
import re
from collections import deque
from collections.abc import Callable

import nh3

from . import urls
from .htmltokens import (
    RawText,
    Tag,
    bound_nesting,
    is_tag,
    is_text,
    may_nest,
    split,
    tag_name,
    unescape,
)

ALLOWED_TAGS = frozenset(
    ["a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
     "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i",
     "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span",
     "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u",
     "ul"]
)
ALLOWED_ATTRIBUTES = {
    "*": {"style", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start", "type"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "time": {"datetime"},
    "abbr": {"title"},
}
ALLOWED_STYLES = frozenset({"color", "background-color", "text-align", "font-weight", "font-style", "text-decoration"})
# The attributes above whose value is a URL: only http(s) ones, or paths relative to the article
# (the local copies of images newsmirror writes), are ever written.
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
URL_SCHEMES = frozenset({"http", "https"})
# CSS named colours (CSS Color Module Level 4).
NAMED_COLORS = frozenset(
    ["aliceblue", "antiquewhite", "aqua", "aquamarine", "azure", "beige", "bisque", "black", "blanchedalmond",
     "blue", "blueviolet", "brown", "burlywood", "cadetblue", "chartreuse", "chocolate", "coral", "cornflowerblue",
     "cornsilk", "crimson", "cyan", "darkblue", "darkcyan", "darkgoldenrod", "darkgray", "darkgreen", "darkgrey",
     "darkkhaki", "darkmagenta", "darkolivegreen", "darkorange", "darkorchid", "darkred", "darksalmon",
     "darkseagreen", "darkslateblue", "darkslategray", "darkslategrey", "darkturquoise", "darkviolet", "deeppink",
     "deepskyblue", "dimgray", "dimgrey", "dodgerblue", "firebrick", "floralwhite", "forestgreen", "fuchsia",
     "gainsboro", "ghostwhite", "gold", "goldenrod", "gray", "green", "greenyellow", "grey", "honeydew", "hotpink",
     "indianred", "indigo", "ivory", "khaki", "lavender", "lavenderblush", "lawngreen", "lemonchiffon", "lightblue",
     "lightcoral", "lightcyan", "lightgoldenrodyellow", "lightgray", "lightgreen", "lightgrey", "lightpink",
     "lightsalmon", "lightseagreen", "lightskyblue", "lightslategray", "lightslategrey", "lightsteelblue",
     "lightyellow", "lime", "limegreen", "linen", "magenta", "maroon", "mediumaquamarine", "mediumblue",
     "mediumorchid", "mediumpurple", "mediumseagreen", "mediumslateblue", "mediumspringgreen", "mediumturquoise",
     "mediumvioletred", "midnightblue", "mintcream", "mistyrose", "moccasin", "navajowhite", "navy", "oldlace",
     "olive", "olivedrab", "orange", "orangered", "orchid", "palegoldenrod", "palegreen", "paleturquoise",
     "palevioletred", "papayawhip", "peachpuff", "peru", "pink", "plum", "powderblue", "purple", "rebeccapurple",
     "red", "rosybrown", "royalblue", "saddlebrown", "salmon", "sandybrown", "seagreen", "seashell", "sienna",
     "silver", "skyblue", "slateblue", "slategray", "slategrey", "snow", "springgreen", "steelblue", "tan", "teal",
     "thistle", "tomato", "turquoise", "violet", "wheat", "white", "whitesmoke", "yellow", "yellowgreen",
     "transparent"])
_COLOR = re.compile(r"#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})|rgba?\(\s*[0-9.]+%?(?:\s*[,/]?\s*[0-9.]+%?){2,3}\s*\)")
_WEIGHTS = frozenset({"normal", "bold", "bolder", "lighter", *(str(n) for n in range(100, 1000, 100))})
# What each allowed property may say; anything else (`expression(...)`, `url(...)`, comments,
# escapes, `!important`) drops the declaration.
STYLE_VALUES: dict[str, Callable[[str], bool]] = {
    "color": lambda v: v in NAMED_COLORS or bool(_COLOR.fullmatch(v)),
    "background-color": lambda v: v in NAMED_COLORS or bool(_COLOR.fullmatch(v)),
    "text-align": lambda v: v in {"left", "right", "center", "justify", "start", "end"},
    "font-weight": lambda v: v in _WEIGHTS,
    "font-style": lambda v: v in {"normal", "italic", "oblique"},
    "text-decoration": lambda v: v == "none" or (bool(v) and set(v.split()) <= {"underline", "overline", "line-through"}),
}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    """nh3's last word on an attribute it allows: URLs and style declarations checked."""
    if attribute in URL_ATTRIBUTES:
        return value if safe_url(value) else None
    if attribute == "style":
        return safe_style(value)
    return value


def safe_url(value: str) -> bool:
    """An http(s) URL, or one without a scheme, as a browser reads it: tabs and line breaks
    anywhere and control characters or spaces around it do not count (`java\tscript:` is
    `javascript:`). nh3 checks only href and src, and passes mailto: and the like."""
    url = value.translate(_TAB_OR_NEWLINE).strip(_C0_AND_SPACE)
    scheme = _SCHEME.match(url)
    return scheme is None or scheme.group(0)[:-1].lower() in URL_SCHEMES


def safe_style(value: str) -> str | None:
    """The declarations of a style attribute whose values are on the short list: the value as it
    was when all are, None (no attribute: `style=""` says nothing) when none is."""
    kept, dropped = [], not value.strip(" \t\n\f\r;")
    for declaration in value.split(";"):
        if not declaration.strip():
            continue
        name, _, setting = declaration.partition(":")
        check = STYLE_VALUES.get(name.strip().lower())
        if check is not None and check(setting.strip().lower()):
            kept.append(declaration.strip())
        else:
            dropped = True
    if not dropped:
        return value
    return "; ".join(kept) or None


_DROPPED = frozenset({"script", "style", "template", "iframe", "object", "embed", "video", "audio", "form", "button",
                      "select", "textarea", "svg", "math", "noembed", "noframes"})  # with their content
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    url_schemes=set(URL_SCHEMES),
    link_rel=None,
    strip_comments=True,
    clean_content_tags=set(_DROPPED),
    filter_style_properties=set(ALLOWED_STYLES),
)
# Start tags nh3 unwraps (neither allowed nor dropped with their content) and tables (misplaced
# content goes before them): the two ways its output can read as another tree (see clean).
_RESHAPED = re.compile(rf"<(?:table|(?!(?:{'|'.join(sorted(ALLOWED_TAGS | _DROPPED))})[\s/>])[a-z])", re.IGNORECASE)

# Attributes lazy-loading scripts keep the real image in, best first.
LAZY_SRC = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-url", "data-lazy",
            "data-echo", "data-hi-res-src", "data-full-src", "original", "file")
LAZY_SRCSET = ("data-srcset", "data-lazy-srcset", "srcset")
_LAZY = frozenset(LAZY_SRC + LAZY_SRCSET)
_PLACEHOLDER = re.compile(r"^(data:|about:blank)"
                          r"|(^|/)(blank|spacer|placeholder|pixel|lazy|loading|grey|transparent)[^/]*\.(gif|png|svg)(\?|$)",
                          re.IGNORECASE)
_TRACKER_HOSTS = re.compile(
    r"(^|\.)(feeds\.feedburner\.com|feedsportal\.com|pixel\.wp\.com|stats\.wordpress\.com|google-analytics\.com|"
    r"doubleclick\.net|scorecardresearch\.com|quantserve\.com|pixel\.quantserve\.com|analytics\.twitter\.com|"
    r"facebook\.com/tr|sb\.scorecardresearch\.com|counter\.[a-z.]+|pubads\.g\.doubleclick\.net)$"
)
_BLOCK = frozenset(["address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt", "figcaption",
                    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
                    "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "br",
                    "img"])

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


def real_image(tag: Tag) -> str | None:
    """The image a lazy-loading `<img>` really shows, not its placeholder."""
    src = tag.get("src") or ""
    for name in LAZY_SRC:
        if (value := (tag.get(name) or "").strip()) and not _PLACEHOLDER.search(value):
            return value
    if src and not _PLACEHOLDER.search(src):
        return src
    for name in LAZY_SRCSET:
        if srcset := tag.get(name):
            return best_srcset(srcset)
    return None  # only a placeholder: the real image may be in <picture><source>


def is_tracker(tag: Tag, url: str) -> bool:
    """A 1x1 image or one from a known counter: it shows nothing and tells on the reader."""
    if tag.get("width") in ("0", "1") and tag.get("height") in ("0", "1"):
        return True
    host = urls.host(url)
    # A name of more than 253 characters resolves nowhere (RFC 1035), and the counter.* pattern
    # scans from every "." of a long one to its end: 40 KB of "counter." took 2 s.
    return len(host) <= 253 and bool(_TRACKER_HOSTS.search(host))


def image_urls(body: str, base: str) -> list[str]:
    """Every image URL `clean` would ask `rewrite_image` for (for local copies, fetched first)."""
    found: list[str] = []

    def note(url: str) -> str:
        found.append(url)
        return url

    _rewrite(embed_links(split(body), base), base, note)
    return list(dict.fromkeys(found))


def clean(body: str, base: str = "", rewrite_image: ImageRewriter = lambda u: u) -> str:
    """The article body sanitized, with absolute URLs and rewritten images, on one line."""
    pieces = embed_links(split(body), base)
    _rewrite(pieces, base, rewrite_image)
    before = [p for p in pieces if p]  # comments stay: nh3 drops them where a browser sees them end
    source = "".join(before)
    if may_nest(source):
        before = [p for p in bound_nesting(before) if p]
        source = "".join(before)
    sanitized = _CLEANER.clean(_for_sanitizer(before, source))
    if sanitized != source and "<" in sanitized and _RESHAPED.search(source):
        # What nh3 writes may parse into another tree: a tag it drops keeps its content, so
        # <dd><section><dd> comes out as <dd><dd>, two siblings when read again; <a><table><a>
        # comes out as an <a> in an <a>. Its reading of its own output is stable, and is what
        # cleaning the result again (a body kept for a later pass) gives: clean(clean(x)) ==
        # clean(x). Only then: a second pass costs a sixth more on hostile megabytes of tags.
        sanitized = _CLEANER.clean(sanitized)
    return fold(before if sanitized == source else _restore(before, sanitized))


# Players and embedded pages, and what each is called in the link that replaces it.
EMBEDS = {"iframe": "视频", "object": "视频", "embed": "视频", "video": "视频", "audio": "音频"}
_EMBED_PIECE = re.compile(r"</?(?:iframe|object|embed|video|audio|source|param)[\s/>]", re.IGNORECASE)
_MOVIE_PARAMS = frozenset({"movie", "src", "url"})  # <object><param name="movie" value="..."> (Flash players)
_BESIDE = 4  # pieces on either side of an embed where the page's own link to it would be


def embed_links(pieces: list[str], base: str) -> list[str]:
    """The pieces with every player or embedded page (iframe, object, embed, video, audio) and
    its contents replaced by one plain link to its source, `<p><a href="URL">视频：TITLE</a></p>`
    (音频 for audio; TITLE its title, else its URL's host), or by nothing when it has no http(s)
    source. The sanitizer drops iframes, objects and embeds, and with them the only trace of a
    video in the article. Video and audio elements, which run no code, get the same link rather
    than a player: a player loads the media from the outlet as the article opens (for a reader
    behind a block, from a blocked host, and telling it who reads), while a link loads nothing
    until followed and works in every Markdown view, most of which drop players. A link to the
    same source that the page already has beside the embed is not written twice."""
    marks = [i for i, piece in enumerate(pieces) if _EMBED_PIECE.match(piece) and not isinstance(piece, RawText)]
    if not marks:
        return pieces
    out: list[str] = []
    done = 0  # pieces before this one are in `out`
    start, outer, depth, url, title = -1, "", 0, None, ""
    for i in marks:
        name, closing = tag_name(pieces[i]), pieces[i][1] == "/"
        if start < 0:
            if closing or name not in EMBEDS:
                continue  # a <source> or <param> of no player, or a stray end tag: the sanitizer drops it
            t = Tag.parse(pieces[i])
            start, outer, depth, url, title = i, name, 0 if name == "embed" else 1, _embed_source(t, base), t.get("title") or ""
        elif name == outer:
            depth += -1 if closing else 1
        elif not closing and url is None:
            url = _embed_source(Tag.parse(pieces[i]), base)  # a <source>, <param> or inner <embed>
        if depth == 0:  # the end of the outermost one (an <embed> has no end tag)
            done = _replace(pieces, out, done, (start, i), base, url, outer, title)
            start = -1
    if start >= 0:  # never closed: an iframe's text runs to the end; another element is its start tag
        done = _replace(pieces, out, done, (start, len(pieces) - 1 if outer == "iframe" else start), base, url, outer, title)
    out.extend(pieces[done:])
    return out


def _embed_source(t: Tag, base: str) -> str | None:
    """The http(s) URL a player or one of its parts plays, if it names one."""
    if t.name == "param":
        refs = [t.get("value") if (t.get("name") or "").lower() in _MOVIE_PARAMS else None]
    else:  # lazy-loaded players keep theirs in data-src (src: about:blank)
        refs = [t.get("data")] if t.name == "object" else [t.get("src"), t.get("data-src")]
    return next((url for ref in refs if (url := _http_url(ref, base))), None)


def _http_url(ref: str | None, base: str) -> str | None:
    """`ref` made absolute, if that is an http(s) URL; protocol-relative is https (every player
    host serves it)."""
    ref = (ref or "").strip()
    if ref.startswith("//"):
        ref = "https:" + ref
    url = absolute(base, ref) if ref else ""
    return url if url and urls.is_http(url) else None


def _replace(pieces: list[str], out: list[str], done: int, span: tuple[int, int], base: str, url: str | None,
             name: str, title: str) -> int:
    """Write pieces[done:start] and the link that replaces pieces[start:end + 1] (`span`) to
    `out`; the index of the first piece after them."""
    start, end = span
    out.extend(pieces[done:start])
    if url and not _linked_beside(pieces, range(max(done, start - _BESIDE), start), url, base) \
            and not _linked_beside(pieces, range(end + 1, min(len(pieces), end + 1 + _BESIDE)), url, base):
        label = " ".join(title.split()) or urls.host(url)
        link = [f'<a href="{html.escape(url)}">', html.escape(f"{EMBEDS[name]}：{label}", quote=False), "</a>"]
        before, after = start - 1 - _is_blank(pieces, start - 1), end + 1 + _is_blank(pieces, end + 1)
        alone = _is_start(pieces, before, "p") and _is_end(pieces, after, "p")  # <p><iframe></iframe></p>
        out.extend(link if alone else ["<p>", *link, "</p>"])
    return end + 1


def _linked_beside(pieces: list[str], where: range, url: str, base: str) -> bool:
    """Whether a link among these pieces goes to `url` (a fallback the page gives, often in <noscript>)."""
    return any(_is_start(pieces, k, "a") and _http_url(Tag.parse(pieces[k]).get("href"), base) == url for k in where)


def _is_blank(pieces: list[str], k: int) -> bool:
    return 0 <= k < len(pieces) and pieces[k].isspace()


def _is_start(pieces: list[str], k: int, name: str) -> bool:
    return 0 <= k < len(pieces) and is_tag(pieces[k]) and pieces[k][1] != "/" and tag_name(pieces[k]) == name


def _is_end(pieces: list[str], k: int, name: str) -> bool:
    return 0 <= k < len(pieces) and is_tag(pieces[k]) and pieces[k][1] == "/" and tag_name(pieces[k]) == name


# html5ever (nh3's parser) slows down with the square of the character references, or would-be
# ones (any "&"), in one text node: 1 MB of "&" took 10 s. A comment before every 512th "&" of a
# long text starts a new text node; nh3 drops comments, so its output is the same.
_AMPERSANDS = 512
_PLAINTEXT = re.compile("<plaintext", re.IGNORECASE)


def _for_sanitizer(pieces: list[str], source: str) -> str:
    """The body as nh3 is given it: `source`, with its long runs of "&" broken up."""
    if source.count("&") < _AMPERSANDS or _PLAINTEXT.search(source):  # after <plaintext>, all is text
        return source
    out, previous = [], ""
    for piece in pieces:
        # Not in raw text, nor after a stray "<" (`</&...` opens a bogus comment a ">" would end).
        if piece.count("&") >= _AMPERSANDS and is_text(piece) and not isinstance(piece, RawText) and previous != "<":
            runs = piece.split("&")
            piece = "<!---->&".join("&".join(runs[i:i + _AMPERSANDS]) for i in range(0, len(runs), _AMPERSANDS))
        out.append(piece)
        previous = piece
    return "".join(out)


# The tags step 1 and 2 look at; every other piece is passed by with one C call.
_REWRITTEN = re.compile(r"<(?:a|img|source|noscript|picture)[\s/>]|</(?:noscript|picture)[\s/>]", re.IGNORECASE)


def _rewrite(pieces: list[str], base: str, rewrite_image: ImageRewriter) -> None:
    """Step 1 and 2 in place: links, lazy images, picture sources, trackers; a piece
    that goes is replaced by ""."""
    picture_source: str | None = None
    last_image: str | None = None
    in_noscript = False
    match = _REWRITTEN.match
    previous = -1
    for i in [i for i, piece in enumerate(pieces) if match(piece) and not isinstance(piece, RawText)]:
        if last_image and any(is_text(p) and not p.isspace() for p in pieces[previous + 1:i]):
            last_image = None  # words between two images: the second is no twin of the first
        previous = i
        t = Tag.parse(pieces[i])
        if t.name == "noscript":
            pieces[i] = ""  # unwrap <noscript>: its <img> is often the only real one
            in_noscript = not t.closing
            continue
        if t.closing:
            picture_source = None  # </picture>
            continue
        if t.name == "a" and (href := t.get("href")) is not None:
            resolved = absolute(base, href)
            if resolved != href.strip() or href != href.strip():
                t.set("href", resolved)
        elif t.name == "source" and (srcset := t.get("srcset") or t.get("data-srcset")):
            picture_source = best_srcset(srcset)
        elif t.name == "img":
            url = real_image(t) or picture_source
            if not url or not safe_url(url):  # nh3 would leave an <img> without src, which this drops
                pieces[i] = ""
                continue
            url = absolute(base, url)
            new = None if is_tracker(t, url) else rewrite_image(url)
            if new is None or (in_noscript and new == last_image):  # a tracker, or the <noscript> twin of the last image
                pieces[i] = ""
                continue
            if t.get("src") != new:
                t.set("src", new)
            for name in [n for n in t.attrs if n in _LAZY]:
                t.set(name, None)
            last_image = new
        pieces[i] = t.html()


def _text_key(piece: str) -> tuple:
    return ("text", unescape(piece))


def _tag_meaning(piece: str) -> tuple[tuple, tuple]:
    """What a tag is (for alignment: kind, closing, name) and what it says (its attributes,
    style declarations normalized), however it is spelled."""
    return _short_tag_meaning(piece) if len(piece) <= 200 else _read_tag(piece)


def _read_tag(piece: str) -> tuple[tuple, tuple]:
    t = Tag.parse(piece)
    return ("tag", t.closing, t.name), tuple(sorted((k, _style(v) if k == "style" else v) for k, v in t.attrs.items()))


# Most tags recur (<p>, </p>, <br />): each is read once. Only short ones are kept, so that a
# hostile body's huge tags cannot fill memory.
_short_tag_meaning = functools.lru_cache(maxsize=8192)(_read_tag)


def _style(value: str) -> str:
    decls = [tuple(p.strip().lower() if i == 0 else p.strip() for i, p in enumerate(d.split(":", 1)))
             for d in value.split(";") if d.strip()]
    return ";".join(":".join(d) for d in decls)


# nh3's output, cut into tags and text: it is well-formed (no comments, no stray "<"), so this is
# all it takes. Attribute values may hold a ">".
_OUT_PIECE = re.compile(r"""</?[A-Za-z][A-Za-z0-9:-]*+(?:[^>"']++|"[^"]*+"?|'[^']*+'?)*+>?|[^<]+|<""")


def _restore(before: list[str], sanitized: str) -> list[str]:
    """nh3's output in pieces, each replaced by its source piece wherever the two mean the same.

    nh3 only drops, rewrites or adds pieces (closing unclosed tags), never reorders them, so a
    forward walk with a short look-ahead on both sides aligns the two in linear time. Where an
    output piece is not the next source piece, either nh3 dropped the source pieces up to its
    match, or nh3 added it: whichever of the two is nearer wins, so that a `</p>` nh3 adds before
    a `<div>` is not matched with a `</p>` of the source further on, which made every piece in
    between keep nh3's spelling. Alignment is by kind and name (a tag nh3 stripped of an
    attribute is still the same tag); the source piece is written back only when it means
    exactly what nh3 wrote. Equal spellings cost no parsing.
    """
    pieces = _OUT_PIECE.findall(sanitized)
    source = _Ahead(before, _source_key)
    output = _Ahead(pieces, _output_key)
    out: list[str] = []
    i, n = 0, len(before)
    for j, piece in enumerate(pieces):
        if i < n and before[i] == piece:
            out.append(piece)
            i += 1
            continue
        k = source.find(output.key(j), i)
        if k < 0 or (k > i and 0 < output.find(source.key(i), j + 1) - j < k - i):  # not in the source, or added by nh3
            out.append(piece)
            continue
        if is_tag(piece):
            same = _tag_meaning(before[k])[1] == _tag_meaning(piece)[1]
        else:
            same = "<" not in before[k]  # a browser reads no more into it
        out.append(before[k] if same else piece)
        i = k + 1
    return out


def _source_key(piece: str) -> tuple:
    return _text_key(piece) if is_text(piece) else _tag_meaning(piece)[0] if is_tag(piece) else ("comment",)


def _output_key(piece: str) -> tuple:
    return _tag_meaning(piece)[0] if is_tag(piece) else _text_key(piece)


class _Ahead:
    """Where a piece of a given meaning next occurs in a list of pieces, at most _LOOKAHEAD
    pieces on from a position that only moves forward. The next two are looked at, the rest
    found through an index, so that a body where nh3 added a piece everywhere (a </p> to every
    unclosed <p>) is not scanned 256 pieces deep each time."""

    def __init__(self, pieces: list[str], meaning: Callable[[str], tuple]) -> None:
        self.pieces, self.meaning = pieces, meaning
        self.keys: list[tuple | None] = [None] * len(pieces) + [()]  # past the end: nothing
        self.where: dict[tuple, deque[int]] = {}
        self.indexed = 0

    def key(self, k: int) -> tuple:
        """The meaning of piece k."""
        key = self.keys[k]
        if key is None:
            key = self.keys[k] = self.meaning(self.pieces[k])
        return key

    def find(self, wanted: tuple, i: int) -> int:
        """The first k in [i, i + _LOOKAHEAD) whose piece means `wanted`, -1 if none."""
        end = min(len(self.pieces), i + _LOOKAHEAD)
        key = self.key
        if i < end and key(i) == wanted:
            return i
        if i + 1 < end and key(i + 1) == wanted:
            return i + 1
        indexed, where = max(self.indexed, i), self.where
        while indexed < end:
            where.setdefault(key(indexed), deque()).append(indexed)
            indexed += 1
        self.indexed = indexed
        found = where.get(wanted)
        while found and found[0] < i:
            found.popleft()
        return found[0] if found and found[0] < end else -1


_PRE = re.compile(r"<pre[\s/>]", re.IGNORECASE)


def fold(pieces: list[str]) -> str:
    """One physical line: line breaks at tag boundaries vanish with the white space around them,
    a line break between words becomes one space, `<pre>` keeps its breaks as `&#10;`."""
    joined = "".join(pieces)
    if "\n" not in joined and "\r" not in joined:
        return joined.strip()
    depth = _pre_depths(pieces) if _PRE.search(joined) else None
    out = list(pieces)
    for i in [i for i, p in enumerate(pieces) if "\n" in p or "\r" in p]:
        text = pieces[i]
        if is_tag(text):
            continue
        if depth and depth[i] > 0:
            out[i] = text.replace("\r\n", "\n").replace("\n", "&#10;")
        elif text.isspace():  # white space around a line break vanishes with it
            out[i] = ""
        else:
            prev = pieces[i - 1] if i else None
            nxt = pieces[i + 1] if i + 1 < len(pieces) else None
            if m := _LEADING_BREAK.match(text):
                text = _edge(prev, text, True) + text[m.end():]
            body = text.rstrip()
            if "\n" in text[len(body):] or "\r" in text[len(body):]:  # trailing white space with a break
                text = body + _edge(nxt, text, False)
            out[i] = _INNER_BREAK.sub(" ", text)
    return "".join(out).strip()


_LEADING_BREAK = re.compile(r"[ \t\f]*[\r\n]\s*")
# A match starts where a run of blanks starts (as the leftmost one always does): without the
# look-behind, a long run of blanks not followed by a line break was scanned again from each of
# its characters (40,000 spaces: 14 s).
_INNER_BREAK = re.compile(r"(?<![ \t\f])[ \t\f]*[\r\n]\s*")


def _pre_depths(pieces: list[str]) -> list[int]:
    """How many `<pre>` each piece is inside."""
    depths, depth = [], 0
    for p in pieces:
        if is_tag(p) and tag_name(p) == "pre":
            depth += -1 if p[1] == "/" else 1
        depths.append(depth)
    return depths


def _edge(tag: str | None, text: str, leading: bool) -> str:
    """Line break at a tag boundary: nothing, unless it separates two words around an inline tag."""
    if tag is None or (is_tag(tag) and tag_name(tag) in _BLOCK):
        return ""
    inner = text.strip()
    if not inner:
        return ""
    return " " if re.match(r"[A-Za-z0-9]", inner[0] if leading else inner[-1]) else ""
