"""Decoding feeds and pages on their own evidence."""

from __future__ import annotations

import codecs
import time

import pytest

from newsmirror.encoding import decode, detect

TEXT = "镕基与喆、堃：中文"  # 镕/喆/堃 are outside GB2312: only GB18030 decodes them


def test_gb2312_label_is_decoded_as_gb18030():
    data = f'<?xml version="1.0" encoding="gb2312"?><rss>{TEXT}</rss>'.encode("gb18030")
    assert TEXT in decode(data)


def test_big5_label_is_decoded_as_big5_hkscs():
    hk = "香港𨋢"  # 𨋢 (lift) exists only in HKSCS
    data = f'<?xml version="1.0" encoding="big5"?><rss>{hk}</rss>'.encode("big5hkscs")
    assert hk in decode(data)


def test_bom_wins_over_everything():
    data = codecs.BOM_UTF16_LE + '<?xml version="1.0" encoding="gbk"?><rss>中文</rss>'.encode("utf-16-le")
    assert detect(data, "text/xml; charset=big5") == ("utf-16-le", 2)
    assert "中文" in decode(data)


def test_http_charset_comes_before_the_declaration():
    data = '<?xml version="1.0" encoding="utf-8"?><rss>中文</rss>'.encode("gbk")
    assert "中文" in decode(data, "application/xml; charset=GBK")


def test_meta_charset_after_the_first_1024_bytes_is_honoured():
    page = ("<html><head><title>x</title>" + "<!-- padding -->" * 100 + '<meta charset="gbk"></head><body>中文内容</body></html>')
    assert "中文内容" in decode(page.encode("gbk"), "text/html", html=True)


def test_gbk_page_labelled_utf8_is_recognized():
    page = '<html><head><meta charset="utf-8"></head><body>这是一段中文内容</body></html>'
    assert "这是一段中文内容" in decode(page.encode("gbk"), html=True)


def test_undeclared_chinese_falls_back_to_gb18030_and_bad_bytes_are_replaced():
    assert decode("<rss>中文</rss>".encode("gb18030")) == "<rss>中文</rss>"
    assert decode(b"<rss>\xff\xfe\xfa ok</rss>", "text/xml; charset=utf-8").endswith("ok</rss>")


def test_utf16_without_a_byte_order_mark_is_recognized_by_its_first_bytes():
    doc = '<?xml version="1.0" encoding="utf-16"?><rss>中文</rss>'
    assert decode(doc.encode("utf-16-be")) == doc and decode(doc.encode("utf-16-le")) == doc
    assert decode(doc.replace("16", "32").encode("utf-32-le")) == doc.replace("16", "32")


def test_a_meta_charset_is_found_within_its_tag_only():
    page = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"></head><body>中文内容</body></html>'
    assert detect(page.encode("gbk"), html=True) == ("gb18030", 0)
    assert detect(b"<head><meta name=x><p>charset=gbk</p></head>" + "中文".encode(), html=True) == ("utf-8", 0)


@pytest.mark.timeout(30)
def test_a_head_of_unclosed_meta_tags_is_read_in_linear_time():
    start = time.perf_counter()
    assert detect(b"<meta " * 10_000 + b"><meta charset=gbk>", html=True) == ("gb18030", 0)
    assert time.perf_counter() - start < 0.5  # each "<meta" was read to the end of the head: 1.5 s
