"""Every text pass over feed or page input finishes in time on about 1 MB of hostile input.

Each function meets each pattern that ever made one of them superlinear, and the generic ones
(runs of "<", of half tags, of quotes, of "&", of white space around line breaks, deep nesting,
one huge attribute value). The bound, 5 s, leaves room to a linear pass on a busy machine (the
densest patterns, a tag every 4 characters, cost clean.clean 2 to 3.5 s of CPU on two shared
cores); the quadratic passes these patterns were found with took minutes on this size.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable

import pytest

from newsmirror import (
    clean,
    dates,
    encoding,
    extract,
    htmltokens,
    identity,
    revisions,
    urls,
)
from newsmirror.parse import NotAFeed, parse

SIZE = 1 << 20
BOUND = 5.0
URL = "https://feeds.example.org/dir/feed.xml"


def repeated(unit: str) -> Callable[[], str]:
    return lambda: unit * (SIZE // len(unit))


PATTERNS: dict[str, Callable[[], str]] = {
    "lt": repeated("<"),
    "lt-letter": repeated("<a"),
    "open-tag-with-attribute": repeated("<a x "),
    "open-tag-with-tab": repeated("<a\t"),
    "open-double-quote": repeated('<a x="'),
    "open-single-quote": repeated("<a x='"),
    "unquoted-value": repeated("<img src=x "),
    "equals": repeated("<a ="),
    "bogus-comment": repeated("<!"),
    "processing-instruction": repeated("<?"),
    "comment-open": repeated("<!--"),
    "end-tag-with-attribute": repeated("</a x "),
    "script-open": repeated("<script "),
    "script-end-open": repeated("</script "),
    "meta-open": repeated("<meta "),
    "meta-charset": repeated("<meta charset"),
    "ampersand": repeated("&"),
    "ampersand-letter": repeated("x&"),
    "numeric-reference-open": repeated("&#"),
    "hex-reference-open": repeated("&#x"),
    "quote": repeated('"'),
    "apostrophe": repeated("'"),
    "equals-sign": repeated("="),
    "spaces-before-line-break": repeated(" " * 40000 + "\nx "),
    "line-break-then-spaces": repeated("x\n" + " " * 40000),
    "tabs-then-word": repeated("\t" * 40000 + "x\n"),
    "nested-div": lambda: "<div>" * (SIZE // 5),
    "nested-dl-dd": repeated("<dl><dd>"),
    "misnested-b-p": repeated("<b></p>"),
    "misnested-b-div": repeated("<b><div></b>"),
    "reopened-formatting": lambda: "<p>" + "".join(f"<i id={i}>" for i in range(255)) + "<p>x" * (SIZE // 4),
    "huge-attribute-value": lambda: '<a title="' + "x" * SIZE + '">t</a>',
    "unclosed-attribute-value": lambda: '<img alt="' + "x" * SIZE,
    "long-decimal-reference": lambda: "&#" + "1" * SIZE + ";",
    "counter-host": lambda: '<img src="https://' + "counter." * (SIZE // 8) + 'x-1/a.gif">',
    "players": repeated('<video src=/v title=t><source src=/s>x</video><object><param name=movie value=/m><embed src=/e>'),
    "player-beside-its-link": repeated('<iframe src="//y.example/e"></iframe><noscript><a href="//y.example/e">v</a>'),
    "date-then-spaces": lambda: "2024-05-07" + " " * SIZE + "x",
}
# What revisions.stable_text looks for: counters, relative times, boxes of links.
STABLE_TEXT_PATTERNS: dict[str, Callable[[], str]] = {
    "digits": repeated("1"),
    "counter-words": repeated("阅读"),
    "updated-then-numbers": repeated("更新于 1 "),
    "boxes-of-links": repeated("<ul><li><a>x</a><a>y</a>"),
}
PATTERNS |= STABLE_TEXT_PATTERNS


def rss(text: str) -> bytes:
    escaped = html.escape(text, quote=False)
    return (f"<rss><channel><title>{escaped}</title><item><title>{escaped}</title>"
            f"<link>https://a.example/1</link><description>{escaped}</description></item></channel></rss>").encode()


def rss_raw(text: str) -> bytes:
    """The pattern as it is, usually making the document ill-formed: feedparser's lenient reader."""
    return f"<rss><channel><title>t</title><item><title>x</title><description>{text}</description></item></channel></rss>".encode()


def json_feed(text: str) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": text, "items": [
        {"id": "1", "title": text, "url": "https://a.example/1", "content_html": text, "summary": text}]}).encode()


def parsed(document: bytes) -> None:
    try:
        parse(document, URL)
    except NotAFeed:
        pass


FUNCTIONS: dict[str, Callable[[str], object]] = {
    "htmltokens.split": htmltokens.split,
    "htmltokens.bound_nesting": lambda t: htmltokens.bound_nesting(htmltokens.split(t)),
    "clean.clean": lambda t: clean.clean(t, "https://s.example/a/"),
    "clean.fold": lambda t: clean.fold(htmltokens.split(t)),
    "identity.normalized_text": identity.normalized_text,
    "revisions.stable_text": revisions.stable_text,
    "parse.parse(rss)": lambda t: parsed(rss(t)),
    "parse.parse(rss, as written)": lambda t: parsed(rss_raw(t)),
    "parse.parse(json feed)": lambda t: parsed(json_feed(t)),
    "encoding.detect(html)": lambda t: encoding.detect(t.encode(), html=True),
    "encoding.decode(xml)": lambda t: encoding.decode(b'<?xml version="1.0" ' + t.encode() + b"?>"),
    "extract.extract": lambda t: extract.extract(f"<html><body><article><p>{t}</p></article></body></html>",
                                                 "https://s.example/a"),
    "urls.canonical": lambda t: urls.canonical("https://a.example/?" + t),
    "urls.serialize": lambda t: urls.serialize("https://a.example/" + t),
    "dates.parse_date": dates.parse_date,
}
# Passes that cost a second or more on a megabyte even when linear, against the patterns that
# concern them (the cheap passes meet every pattern).
SOME = {
    "clean.clean": set(PATTERNS) - {"meta-open", "meta-charset", "date-then-spaces", *STABLE_TEXT_PATTERNS},
    "parse.parse(rss)": {"open-tag-with-attribute", "script-open", "ampersand", "nested-div", "spaces-before-line-break",
                         "date-then-spaces", "open-double-quote", "lt"},
    "parse.parse(rss, as written)": {"open-tag-with-attribute", "script-open", "lt", "bogus-comment",
                                     "processing-instruction", "comment-open", "ampersand", "nested-div"},
    "parse.parse(json feed)": {"open-tag-with-attribute", "script-open", "ampersand", "quote", "lt"},
    "extract.extract": {"nested-div", "nested-dl-dd", "misnested-b-p", "misnested-b-div", "open-tag-with-attribute",
                        "script-open", "reopened-formatting", "lt", "ampersand", "bogus-comment"},
}
# Linear but slow: feedparser's lenient reader, which reads what lxml refuses (about 200 KB of
# tags a second), and trafilatura on a page of a quarter of a million paragraphs (about 7,000
# elements a second): they get a part of the size.
SHARE = {("parse.parse(rss, as written)", p): 4 for p in PATTERNS} | {("extract.extract", "reopened-formatting"): 16}
CASES = [(f, p) for f in FUNCTIONS for p in PATTERNS if f not in SOME or p in SOME[f]]


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {name: make() for name, make in PATTERNS.items()}


@pytest.mark.timeout(60, method="thread")  # a pass gone quadratic fails the run instead of hanging it
@pytest.mark.parametrize(("function", "pattern"), CASES, ids=[f"{f}-{p}" for f, p in CASES])
def test_a_megabyte_of_hostile_input_takes_linear_time(texts, function, pattern):
    text = texts[pattern]
    text = text[: len(text) // SHARE.get((function, pattern), 1)]
    elapsed = cpu_seconds(function, text)
    if elapsed < BOUND:
        return
    # Slow: linear, or gone quadratic? A quarter of the input takes a quarter of the time when
    # linear, a sixteenth when quadratic.
    quarter = cpu_seconds(function, text[: len(text) // 4])
    assert elapsed < 8 * quarter, (f"{function} took {elapsed:.1f} s on {len(text):,} characters of {pattern}, "
                                   f"{quarter:.1f} s on a quarter of them")


def cpu_seconds(function: str, text: str) -> float:
    """CPU time of one call: other processes sharing the cores do not count."""
    start = time.process_time()
    FUNCTIONS[function](text)
    return time.process_time() - start
