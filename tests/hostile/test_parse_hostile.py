"""Hostile feed documents: parse() raises nothing but NotAFeed, and whatever it returns can be
written again as XML.

Documents are the fixtures and feedparser's own corpus, cut, spliced and sprinkled with the
bytes and constructs that ever broke a pass (control characters, unpaired surrogates, entity
declarations, wrong JSON types, huge numbers).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from newsmirror.model import ParsedFeed
from newsmirror.parse import NotAFeed, parse

FEEDS = Path(__file__).parents[1] / "fixtures" / "feeds"
CORPUS = Path("/work/shared/feedcorpus")
URL = "https://feeds.example.org/dir/feed.xml"
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
SPLICES = [
    b"\x00", b"\x01", b"\x0b", b"\x1f", b"\xef\xbf\xbe", b"\xef\xbf\xbf", b"\xed\xa0\x80", b"\xff", b"&#1;", b"&#xFFFE;",
    b"&#" + b"9" * 5000 + b";", b"<!ENTITY x '" + b"y" * 1000 + b"'>", b"&x;", b"<!DOCTYPE rss [", b"]>", b"<![CDATA[",
    b"]]>", b"<script ", b"javascript:", b"<link>java\tscript:alert(1)</link>", b"<ttl>\xc2\xb2</ttl>",
    b"<pubDate>2024-05-07T10:00:00+99:00</pubDate>", b"<", b">", b"\"", b"'", b"&", b" " * 1000,
]


def documents() -> list[bytes]:
    found = sorted(FEEDS.glob("*")) + sorted(CORPUS.glob("**/*.xml"))[:200]
    return [p.read_bytes() for p in found if p.is_file()]


DOCUMENTS = documents()


def written_again(feed: ParsedFeed) -> None:
    """What the re-published feeds do with the values: each must make an XML text node."""
    values = [feed.title, feed.link, feed.subtitle, feed.id, feed.author, feed.warning]
    values += [v for e in feed.entries for v in (e.title, e.guid, e.link, e.content, e.summary, e.image, e.author)]
    for value in values:
        if value is not None:
            assert not NOT_XML.search(value), repr(value)
            etree.Element("v").text = value  # raises ValueError on what XML forbids
    for e in feed.entries:
        for link in (e.link, e.image):
            assert link is None or link.startswith(("http://", "https://"))


def read(data: bytes, content_type: str | None = None) -> None:
    try:
        feed = parse(data, URL, content_type)
    except NotAFeed:
        return
    written_again(feed)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_spliced_documents_raise_nothing_but_not_a_feed(data):
    doc = bytearray(data.draw(st.sampled_from(DOCUMENTS)))
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(doc)))
        if data.draw(st.booleans()):
            doc[at:at] = data.draw(st.sampled_from(SPLICES))
        else:
            del doc[at: at + data.draw(st.integers(0, 64))]
    read(bytes(doc), data.draw(st.sampled_from([None, "application/rss+xml; charset=gb2312", "application/json"])))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30) | st.floats(allow_nan=True)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=20)
    | st.sampled_from(["javascript:alert(1)", "https://a.example/x", "/rel", "2024-05-07T10:00:00+99:00", "image/png"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["id", "url", "external_url", "title", "content_html", "content_text", "summary", "image", "banner_image",
         "date_published", "date_modified", "author", "authors", "name", "attachments", "mime_type", "items"]),
        inner, max_size=6),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "home_page_url", "feed_url", "description", "author", "authors", "items"]),
                       JSON_VALUES, max_size=6))
def test_json_feeds_of_any_shape_raise_nothing_but_not_a_feed(doc):
    doc["version"] = "https://jsonfeed.org/version/1.1"
    read(json.dumps(doc).encode("utf-8", "surrogatepass"))


@pytest.mark.timeout(60)
def test_generated_entity_bombs_stay_small():
    rng = random.Random(7)
    for _ in range(20):
        value = "x" * rng.choice([1, 100, 10_000, 60_000])
        references = rng.choice([1, 10, 1_000, 20_000])
        declare = rng.choice(["inside", "outside", "in a comment"])
        declaration = f'<!ENTITY e{rng.randint(0, 9)} "{value}">'
        name = declaration[9:11]
        head = {"inside": f"<!DOCTYPE rss [\n{declaration}\n]>\n",
                "outside": f"<!DOCTYPE rss>\n{declaration}\n",
                "in a comment": f"<!--\n{declaration}\n-->\n<!DOCTYPE rss [\n]>\n"}[declare]
        doc = (f'<?xml version="1.0"?>\n{head}<rss><channel><title>t</title><item><title>i</title>'
               f'<description>{("&" + name + ";") * references}</description></item></channel></rss>')
        try:
            feed = parse(doc.encode(), URL)
        except NotAFeed:
            continue
        size = sum(len(e.summary or "") + len(e.title) for e in feed.entries)
        assert size <= len(doc) + 64 * 1024, (declare, len(value), references, size)
