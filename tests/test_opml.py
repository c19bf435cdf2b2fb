"""OPML in and out."""

from __future__ import annotations

from newsmirror import config
from newsmirror.opml import read
from support import newsmirror

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
