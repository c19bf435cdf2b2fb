"""The golden cases of ../shared/golden/check.py, run from the project's own copy of the fixtures:
the command line in a fresh archive, byte-exact article and list, and a second run that changes
nothing."""

from __future__ import annotations

import re
from pathlib import Path

from support import FIXTURES, Site, newsmirror

GOLDEN = FIXTURES / "golden"
BOILERPLATE = ["相关新闻", "相关内容", "隐私政策", "分享", "推特", "analyticsData", "loader.bundle"]


def serve_tree(root: Path) -> Site:
    site = Site()
    for path in root.rglob("*"):
        if path.is_file():
            kind = "application/rss+xml; charset=utf-8" if path.suffix == ".xml" else "text/html"
            site.add("/" + path.relative_to(root).as_posix(), path.read_bytes(), content_type=kind)
    return site


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".newsmirror" not in p.parts}


def paragraphs(html: str) -> list[str]:
    html = re.sub(r"<br\s*/?>\s*<br\s*/?>", "</p><p>", html)
    texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", p)).strip() for p in re.split(r"</?p[^>]*>", html)]
    return [t for t in texts if t]


def mirror(tmp_path: Path, site: Site) -> Path:
    archive = tmp_path / "archive"
    assert newsmirror("--archive", archive, "add", site.url("/feed.xml"), "--id", "voa", "--title", "美国之音").code == 0
    assert newsmirror("--archive", archive, "run").code == 0
    return archive


def test_full_content_feed_is_archived_byte_exact(tmp_path):
    site = serve_tree(GOLDEN / "feedx")
    try:
        archive = mirror(tmp_path, site)
        assert (archive / "articles/voa/1048574.md").read_bytes() == (GOLDEN / "feedx/expected-article.md").read_bytes()
        assert (archive / "lists/美国之音.md").read_bytes() == (GOLDEN / "feedx/expected-list.md").read_bytes()
        before = snapshot(archive)
        assert newsmirror("--archive", archive, "run").code == 0
        assert snapshot(archive) == before
    finally:
        site.close()


def test_summary_feed_is_completed_from_the_article_page(tmp_path):
    site = serve_tree(GOLDEN / "direct/site")
    try:
        archive = mirror(tmp_path, site)
        got = (archive / "articles/voa/1048574.md").read_text(encoding="utf-8")
        want = (GOLDEN / "direct/expected-article.md").read_text(encoding="utf-8").replace("__BASE__", site.base)
        got_lines, want_lines = got.split("\n"), want.split("\n")
        assert got_lines[:4] == want_lines[:4]
        assert len(got_lines) == 6 and got_lines[5] == ""
        head = re.match(r"<div><i>.*?</i></div><img [^>]*><div><small [^>]*>.*?</small></div>", want_lines[4]).group(0)
        assert got_lines[4].startswith(head)
        assert paragraphs(got_lines[4][len(head):]) == paragraphs(want_lines[4][len(head):])
        assert not [w for w in BOILERPLATE if w in got]
        before = snapshot(archive)
        assert newsmirror("--archive", archive, "run").code == 0
        assert snapshot(archive) == before
    finally:
        site.close()
