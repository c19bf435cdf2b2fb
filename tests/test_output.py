"""The files a pass writes, beyond each article: here, the mirror list that README.md and every
list page end with, so that a reader who finds one copy finds the others."""

from __future__ import annotations

from pathlib import Path

from support import item, newsmirror, rss

MIRRORS = """
[publish]
mirrors = [
  { name = "GitHub", url = "https://github.com/you/news" },
  { name = "备份 *2*", url = "git@codeberg.org:you/news.git" },
]
"""
FOOT = "全部镜像\n------\n\n[GitHub](https://github.com/you/news)\n\n备份 \\*2\\*：`git@codeberg.org:you/news.git`\n"


def mirror(tmp_path: Path, site, top: str = "", tables: str = "") -> Path:
    """A mirror of one feed; `top`: top-level keys, `tables`: tables after the feed's."""
    archive = tmp_path / "m"
    archive.mkdir()
    feed = f'[[feeds]]\nid = "voa"\ntitle = "美国之音"\nurl = "{site.add("/f.xml", rss(item(1)))}"\n'
    (archive / "newsmirror.toml").write_text(top + feed + tables, encoding="utf-8")
    return archive


def test_readme_and_every_list_end_with_the_mirrors_in_each_edition(tmp_path, site):
    archive = mirror(tmp_path, site, 'editions = ["zh-Hant"]\n', MIRRORS)
    assert newsmirror("--archive", archive, "run").code == 0
    listing = (archive / "lists/美国之音.md").read_text(encoding="utf-8")
    assert listing.startswith("美国之音\n------\n\n5-8 [文章1](/articles/voa/1048574.md)\n\n") and listing.endswith(FOOT)
    readme = (archive / "README.md").read_text(encoding="utf-8")
    assert readme.endswith("[美国之音](lists/美国之音.md)\n\n" + FOOT + "<!-- newsmirror:end -->\n")
    # In an edition: the heading in its script, the names as configured.
    assert (archive / "zh-Hant/lists/美国之音.md").read_text(encoding="utf-8").endswith(FOOT.replace("全部镜像", "全部鏡像"))


def test_without_mirrors_nothing_is_added_and_a_change_of_mirrors_rewrites_the_lists(tmp_path, site):
    archive = mirror(tmp_path, site)
    assert newsmirror("--archive", archive, "run").code == 0
    listing = archive / "lists/美国之音.md"
    assert listing.read_text(encoding="utf-8") == "美国之音\n------\n\n5-8 [文章1](/articles/voa/1048574.md)\n\n"
    assert "全部镜像" not in (archive / "README.md").read_text(encoding="utf-8")

    config = archive / "newsmirror.toml"
    config.write_text(config.read_text(encoding="utf-8") + MIRRORS, encoding="utf-8")
    assert newsmirror("--archive", archive, "run").code == 0  # nothing new, yet the lists show the mirrors
    assert listing.read_text(encoding="utf-8").endswith(FOOT)
