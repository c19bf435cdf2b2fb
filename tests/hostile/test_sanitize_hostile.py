"""Hostile bodies through the sanitizer: the splitter loses nothing, the text identity never
changes, no unsafe URL or style value comes out, and the nesting bound bounds what nh3 builds
while leaving bodies that are only sloppy alone."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmirror import identity
from newsmirror.clean import NAMED_COLORS, clean
from newsmirror.htmltokens import bound_nesting, split

NAMES = ["div", "p", "span", "b", "i", "a", "li", "ul", "ol", "dl", "dd", "dt", "table", "tr", "td", "th", "tbody",
         "caption", "select", "option", "optgroup", "font", "em", "strong", "u", "s", "nobr", "button", "h1", "h2",
         "section", "blockquote", "pre", "form", "ruby", "rt", "rp", "object", "marquee", "applet", "br", "img", "hr",
         "input", "col", "colgroup", "thead", "svg", "math", "q", "video", "script", "style", "textarea", "title"]
ATTRIBUTES = ["", ' id="1"', " id=2", "/", ' href="javascript:alert(1)"', " cite=' java&#9;script:x'", ' src="data:x"',
              ' poster="vbscript:x"', ' style="color: expression(x); position: fixed"', ' style="color: red"', " x='",
              ' href="mailto:a@b"', ' href="https://ok.example/"']
TOKENS = st.one_of(
    st.builds(lambda n, a: f"<{n}{a}>", st.sampled_from(NAMES), st.sampled_from(ATTRIBUTES)),
    st.builds(lambda n: f"</{n}>", st.sampled_from(NAMES)),
    st.sampled_from(["x", " ", "\n", "&amp;", "&", "<", "<!--", "-->", "<!x>", "<?y>", '"', "=", "字"]),
)
SOUP = st.lists(TOKENS, max_size=60).map("".join)

# Everything kept, to see the tree html5ever builds.
TREE = nh3.Cleaner(tags=set(NAMES) | {"foreignobject"}, clean_content_tags=set(), attributes={"*": {"id"}},
                   link_rel=None)
VOID = {"br", "img", "hr", "input", "col"}


def built_depth(body: str) -> int:
    """Depth of the tree html5ever builds for `body`."""
    depth = best = 0
    for m in re.finditer(r"<(/?)([a-z][a-z0-9]*)[^>]*>", TREE.clean(body)):
        if m.group(1):
            depth -= 1
        elif m.group(2) not in VOID:
            depth += 1
            best = max(best, depth)
    return best


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from('<>/!?-="\' \t\nabx&#;'), max_size=200))
def test_the_splitter_gives_back_every_character(text):
    assert "".join(split(text)) == text


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("<>ab &#;x0123456789\n"), max_size=200))
def test_the_text_identity_of_a_body_never_changes(text):
    former = " ".join(html.unescape(re.sub(r"<[^>]*>", " ", text)).split())
    assert identity.normalized_text(text) == former


@settings(max_examples=300, deadline=None)
@given(SOUP)
def test_no_unsafe_url_or_style_value_comes_out(body):
    out = clean(body, "https://s.example/a/")
    tags = re.findall(r'<[a-z][a-z0-9]*(?: [a-z-]+="[^"]*")*>', out)  # text has no "<": nh3 escapes it
    for name, value in re.findall(r' ([a-z-]+)="([^"]*)"', "".join(tags)):
        value = html.unescape(value)
        if name in ("href", "src", "cite", "poster"):
            assert value.startswith(("http://", "https://")), out
        if name == "style":
            for declaration in filter(None, value.split(";")):
                prop, _, setting = declaration.partition(":")
                assert prop.strip() in ("color", "background-color") and setting.strip() in NAMED_COLORS, out


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, min_size=20, max_size=150).map("".join))
def test_after_the_bound_html5ever_builds_no_deeper_than_a_few_times_it(body):
    limit = 6
    bounded = "".join(bound_nesting(split(body), limit))
    # the bound is on the elements the body opens; a browser adds a tbody and a tr to a table
    # that lacks them, and reopens formatting elements that another closed
    assert built_depth(bounded) <= 3 * limit + 4, bounded


BLOCKS = st.sampled_from([
    "<p>一段文字", "<p>一段<b>粗体</b>文字</p>", "<p><b>没有关上的粗体<p>下一段", "<ul><li>一<li>二<li>三</ul>",
    "<ol><li><p>段<li>项</ol>", "<table><tr><td>格<td>格<tr><td>格</table>", "<select><option>甲<option>乙</select>",
    "<dl><dt>词<dd>释义<dt>词<dd>释义</dl>", "<div><span>行内</span></div>", "<h2>标题<p>正文",
    "<blockquote><p>引文</blockquote>", "<p><a href='/x'>链接</a>", "<br>", "<img src='/a.jpg'>",
    "<p><font color=red>红字<p>又一段", "<div><p>未关的段落</div>",
])


@settings(max_examples=200, deadline=None)
@given(st.lists(BLOCKS, min_size=1, max_size=400).map("".join))
def test_a_sloppy_body_is_left_as_it_is(body):
    pieces = split(body)
    assert bound_nesting(pieces, built_depth(body) + 1) == pieces


# What pages and feeds send to run code or leave the page: handlers, scripting schemes (also
# spelled with tabs and entities), frames and embeds, lazy-loading attributes, relative URLs.
HOSTILE = st.one_of(
    TOKENS,
    st.builds(lambda n, a: f"<{n}{a}>", st.sampled_from(NAMES + ["iframe", "embed", "base", "meta", "link", "picture",
                                                               "source", "noscript", "template", "frame", "audio"]),
              st.sampled_from([" onerror=alert(1)", ' onclick="x()"', " ONLOAD='x'", ' src="jav&#x09;ascript:x"',
                               ' href="/relative/path"', " src=a.jpg", ' data-src="javascript:x"', ' srcset="a.jpg 1x"',
                               ' srcset="javascript:x 2x"', ' data="data:text/html,x"', ' http-equiv="refresh"',
                               ' content="0;url=javascript:x"', ' href="//other.example/x"', ' formaction="javascript:x"',
                               ' xlink:href="javascript:x"', ' style="background:url(javascript:x)"', " href=#top"])),
    st.text(max_size=8),
)
UNSAFE_TAGS = {"script", "style", "iframe", "frame", "embed", "object", "applet", "base", "meta", "link", "form", "svg",
               "math", "template", "noscript"}


class _Tags(HTMLParser):
    """Every start tag of a document, with its attributes, as a browser's tokenizer reads them."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def _scheme(url: str) -> str | None:
    """The scheme a browser reads in `url` (tabs and line breaks inside, control characters and
    spaces around, do not count), lower case; None for a relative URL."""
    m = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", re.sub(r"[\t\n\r]", "", url).strip("".join(map(chr, range(0x21)))))
    return m.group(1).lower() if m else None


@settings(max_examples=500, deadline=None)
@given(st.lists(HOSTILE, max_size=80).map("".join))
def test_any_body_comes_out_sanitized_idempotent_and_bounded(body):
    out = clean(body)
    for tag, attributes in _Tags(out).tags:
        assert tag not in UNSAFE_TAGS, out
        for name, value in attributes:
            assert not name.startswith("on"), out  # no event handler
            if name in ("href", "src", "cite", "poster", "srcset", "data", "action", "formaction", "xlink:href"):
                assert _scheme(value or "") in (None, "http", "https"), out  # http(s), or relative
    assert clean(out) == out  # cleaning again changes nothing: what is stored is what a re-check compares
    assert len(out) <= 4 * len(body) + 64, out  # nothing a body says makes the output grow past a few times it
