"""The per-site table: which row a page gets, how a feed's rule refines it, that every selector
in it matches the outlet's real page structure, and which Referer an image host wants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from newsmirror import sites
from newsmirror.config import SiteRule
from newsmirror.encoding import decode
from newsmirror.sites import EXTRACTION, REFERERS, referer_for, rule_for

GOLD = Path(__file__).parents[1] / "bench/extract/pages"


def gold_pages(outlet: str) -> list[tuple[str, LexborHTMLParser]]:
    """(url, parsed page) of the gold set's pages of one outlet."""
    pages = []
    for spec in sorted(GOLD.glob(f"{outlet}-*.json")):
        gold = json.loads(spec.read_text(encoding="utf-8"))
        html = decode(spec.with_suffix(".html").read_bytes(), gold["content_type"], html=True)
        pages.append((gold["url"], LexborHTMLParser(html)))
    return pages


OUTLETS = {"bbc": "bbc.com", "cdt": "chinadigitaltimes.net", "dw": "dw.com", "ft": "ftchinese.com", "nyt": "nytimes.com",
           "rfa": "rfa.org", "rfi": "rfi.fr", "voa": "voachinese.com"}


def test_one_row_per_default_outlet_alphabetised():
    assert list(EXTRACTION) == sorted(OUTLETS.values())
    assert list(REFERERS) == sorted(REFERERS)


@pytest.mark.parametrize("outlet", OUTLETS)
def test_every_gold_page_of_an_outlet_gets_its_row(outlet):
    for url, _ in gold_pages(outlet):
        assert rule_for(url) is EXTRACTION[OUTLETS[outlet]]


@pytest.mark.parametrize("outlet", OUTLETS)
def test_every_selector_of_a_row_matches_the_outlets_pages(outlet):
    """No selector in the table is a guess: each alternative of body, lead_image and caption, and
    each `remove`, matches something on at least one of the outlet's gold pages."""
    rule = EXTRACTION[OUTLETS[outlet]]
    trees = [tree for _, tree in gold_pages(outlet)]
    alternatives = [s.strip() for field in (rule.body, rule.lead_image, rule.caption) if field for s in field.split(",")]
    for selector in (*alternatives, *rule.remove):
        assert any(tree.css_first(selector) for tree in trees), selector


@pytest.mark.parametrize(("url", "row"), [
    ("https://www.voachinese.com/a/7601848.html", "voachinese.com"),
    ("https://cn.nytimes.com/china/20230921/xinjiang-tourism/", "nytimes.com"),
    ("https://www.bbc.com/zhongwen/simp/chinese-news-68822104", "bbc.com"),
    ("https://WWW.RFI.FR/cn/", "rfi.fr"),
])
def test_a_host_gets_the_row_of_its_nearest_listed_domain(url, row):
    assert rule_for(url) is EXTRACTION[row]


@pytest.mark.parametrize("url", ["https://news.example.org/a.html", "https://bbc.com.example.org/a", "https://notbbc.com/a",
                                 "http://127.0.0.1:8000/a/7601848.html", "not a url"])
def test_other_hosts_have_no_row(url):
    assert rule_for(url) is None


def test_a_feed_rule_refines_the_row():
    voa = EXTRACTION["voachinese.com"]
    refined = rule_for("https://www.voachinese.com/a/1.html", SiteRule(caption="div.cover-media .caption", remove=(".promo",)))
    assert refined == SiteRule(body=voa.body, lead_image=voa.lead_image, caption="div.cover-media .caption",
                               remove=(*voa.remove, ".promo"))
    assert rule_for("https://www.voachinese.com/a/1.html", SiteRule()) == voa


def test_a_feed_rule_stands_alone_where_there_is_no_row_only_with_a_body():
    own = SiteRule(body="div.story", remove=(".ad",))
    assert rule_for("https://news.example.org/a.html", own) is own
    assert rule_for("https://news.example.org/a.html", SiteRule(remove=(".ad",))) is None


def test_furniture_selectors_take_boxes_not_text():
    tree = LexborHTMLParser('<div class="share-tools">x</div><div id="related-news">x</div><h1>x</h1><p class="lead">y</p>')
    furniture = {node.tag + (node.attributes.get("class") or node.attributes.get("id") or "")
                 for selector in sites.FURNITURE for node in tree.css(selector)}
    assert furniture == {"divshare-tools", "divrelated-news", "h1"}


def test_referer_for_an_image_host():
    assert referer_for("https://img.ftchinese.com/a.jpg", {}) == "https://www.ftchinese.com/"
    assert referer_for("https://static01.nyt.com/images/a.jpg", {}) == "https://cn.nytimes.com/"
    assert referer_for("https://cdn.img.ftchinese.com/a.jpg", {}) == "https://www.ftchinese.com/"
    assert referer_for("https://gdb.voanews.com/a.jpg", {}) is None


def test_a_configured_referer_wins_over_the_bundled_one():
    overrides = {"ftchinese.com": "https://m.ftchinese.com/", "gdb.voanews.com": "https://www.voachinese.com/"}
    assert referer_for("https://img.ftchinese.com/a.jpg", overrides) == "https://m.ftchinese.com/"
    assert referer_for("https://gdb.voanews.com/a.jpg", overrides) == "https://www.voachinese.com/"
