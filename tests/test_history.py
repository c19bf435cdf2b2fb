"""An archive that remembers: edits become revisions; history and diff show them."""

from __future__ import annotations

from support import item, newsmirror, rss

from newsmirror.history import Version, diff, plain


def body(*paragraphs: str) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


ORIGINAL = body("白宫周二表示，希望以色列和哈马斯能够弥合停火谈判中的差距。", "科比说，以色列官员表示，这次行动的范围有限。",
                "联合国秘书长表示，对拉法的袭击将是一个战略错误。", "他说，两个主要援助过境点必须立即重新开放。")
EDITED = ORIGINAL.replace("范围有限", "范围非常有限")


def mirror(tmp_path, site, text=ORIGINAL, title="停火谈判"):
    site.add("/f.xml", rss(item(1, body=text, title=title)))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.url("/f.xml"), "--id", "voa", "--title", "美国之音")
    newsmirror("--archive", archive, "run")
    return archive


def test_an_edit_at_the_source_becomes_a_revision_and_the_file_shows_the_latest(tmp_path, site):
    archive = mirror(tmp_path, site)
    site.add("/f.xml", rss(item(1, body=EDITED, title="停火谈判（更新）")))
    result = newsmirror("--archive", archive, "run")
    assert "voa: nothing new, 1 revised" in result.out
    text = (archive / "articles/voa/1048574.md").read_text(encoding="utf-8")
    assert "范围非常有限" in text and "[停火谈判（更新）]" in text
    history = newsmirror("--archive", archive, "history", "voa/1048574")
    lines = history.out.splitlines()
    assert lines[1].startswith("  1  ") and lines[1].endswith("停火谈判")
    assert lines[2].startswith("  2  ") and "(+6 chars)" in lines[2] and lines[2].endswith("停火谈判（更新）")
    by_link = newsmirror("--archive", archive, "history", f"{site.base}/a/1.html?utm_source=x")
    assert by_link.out == history.out


def test_diff_is_by_characters_for_chinese(tmp_path, site):
    archive = mirror(tmp_path, site)
    site.add("/f.xml", rss(item(1, body=EDITED, title="停火谈判")))
    newsmirror("--archive", archive, "run")
    result = newsmirror("--archive", archive, "diff", "voa/1048574")
    assert result.code == 0
    assert "{+非常+}" in result.out and "[-" not in result.out
    assert newsmirror("--archive", archive, "diff", "voa/1048574", "1", "2").out == result.out
    assert newsmirror("--archive", archive, "diff", "voa/1048574", "2", "1").code == 2


def test_words_are_compared_as_words():
    a = Version(1, 0, "T", "<p>The quick brown fox</p>")
    b = Version(2, 0, "T", "<p>The slow brown fox</p>")
    assert plain(diff(a.text, b.text)) == "T\n\nThe [-quick-]{+slow+} brown fox"


def test_volatile_changes_are_not_edits(tmp_path, site):
    archive = mirror(tmp_path, site)
    respaced = ORIGINAL.replace("</p><p>", "</p>\n  <p>").replace("<p>", '<p class="new-style">')
    site.add("/f.xml", rss(item(1, body=respaced, title="停火谈判", link="__BASE__/a/1.html?utm_campaign=rss")))
    assert "voa: unchanged" in newsmirror("--archive", archive, "run").out
    assert len(newsmirror("--archive", archive, "history", "voa/1048574").out.splitlines()) == 2


def test_unknown_items_are_usage_errors(tmp_path, site):
    archive = mirror(tmp_path, site)
    assert newsmirror("--archive", archive, "history", "voa/1").code == 2
    assert newsmirror("--archive", archive, "diff", "voa/1048574").code == 2  # one version only
