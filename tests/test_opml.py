"""OPML in and out."""

from __future__ import annotations

from support import newsmirror

from newsmirror import config
from newsmirror.opml import read

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE opml [<!ENTITY boom "&#x26;boom;&#x26;boom;">]>
<opml version="2.0"><head><title>mine</title></head><body>
  <outline text="新闻">
    <outline type="rss" text="美国之音" xmlUrl="https://www.voachinese.com/api/zm_yql-vomx-tpeybti"/>
    <outline type="rss" text="BBC" title="BBC 中文" xmlUrl="https://feeds.bbci.co.uk/zhongwen/simp/rss.xml"/>
  </outline>
  <outline type="rss" text="again" xmlUrl="http://voachinese.com/api/zm_yql-vomx-tpeybti?utm_source=x"/>
  <outline type="rss" text="local file" xmlUrl="file:///etc/passwd"/>
</body></opml>"""


def test_import_adds_each_feed_once_and_export_round_trips(tmp_path):
    source = tmp_path / "feeds.opml"
    source.write_text(OPML, encoding="utf-8")
    archive = tmp_path / "m"
    result = newsmirror("--archive", archive, "import-opml", source)
    assert result.code == 0 and "Added 2 feeds" in result.out and "skipped 2" in result.out
    feeds = config.load(archive / "newsmirror.toml").feeds
    assert [(f.id, f.title) for f in feeds] == [("voachinese-com", "美国之音"), ("feeds-bbci-co-uk", "BBC 中文")]
    exported = newsmirror("--archive", archive, "export-opml").out
    assert [url for url, _ in read(exported.encode())] == [f.url for f in feeds]
    again = newsmirror("--archive", archive, "import-opml", source)
    assert "Added 0 feeds" in again.out


def test_a_file_that_is_not_opml_is_a_usage_error(tmp_path):
    bad = tmp_path / "x.opml"
    bad.write_text("<html><body>no</body></html>")
    assert newsmirror("--archive", tmp_path / "m", "import-opml", bad).code == 2
    assert newsmirror("--archive", tmp_path / "m", "import-opml", tmp_path / "missing.opml").code == 2


def test_outlines_whose_url_holds_white_space_or_control_characters_are_skipped_and_counted(tmp_path):
    source = tmp_path / "feeds.opml"
    source.write_text('<opml version="2.0"><body>'
                      '<outline text="新闻&#10;  中文" xmlUrl="https://example.com/ok.xml"/>'
                      '<outline text="newline" xmlUrl="https://example.com/a&#10;b.xml"/>'
                      '<outline text="tab" xmlUrl="https://example.com/a&#9;b.xml"/>'
                      '<outline text="del" xmlUrl="https://example.com/&#x7f;.xml"/>'
                      "</body></opml>", encoding="utf-8")
    archive = tmp_path / "m"
    result = newsmirror("--archive", archive, "import-opml", source)
    assert result.code == 0
    assert "Added 1 feeds" in result.out and "skipped 3 (0 already in the mirror, 3 not a usable http(s) URL)" in result.out
    assert result.err.count("skipped an outline: xmlUrl ") == 3 and "holds white space or a control character" in result.err
    text = (archive / "newsmirror.toml").read_text(encoding="utf-8")
    assert "a\nb" not in text and "\\n" not in text and "\t" not in text
    assert [(f.url, f.title) for f in config.load(archive / "newsmirror.toml").feeds] == [("https://example.com/ok.xml", "新闻 中文")]


def test_imported_ids_skip_those_in_use_in_any_case(tmp_path):
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text('[[feeds]]\nid = "Example-com"\nurl = "https://example.org/x"\n')
    source = tmp_path / "feeds.opml"
    source.write_text('<opml><body><outline xmlUrl="https://example.com/1"/><outline xmlUrl="https://example.com/2"/>'
                      '<outline xmlUrl="https://con/feed"/></body></opml>', encoding="utf-8")
    assert newsmirror("--archive", archive, "import-opml", source).code == 0
    ids = [f.id for f in config.load(archive / "newsmirror.toml").feeds]
    assert ids == ["Example-com", "example-com-2", "example-com-3", "con-2"]  # "con" is a device on Windows
