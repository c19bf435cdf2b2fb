"""A repository per year (`[publish] split = "year"`): local bare repositories stand in for the
hosts, NEWSMIRROR_NOW for the clock."""

from __future__ import annotations

from pathlib import Path

from support import articles, item, newsmirror, rss
from test_publish import bare, git, quick_retries  # noqa: F401  (quick_retries: an autouse fixture)

from newsmirror.archive import Archive
from newsmirror.years import fill, held, relink, site_with_years, with_years, year_repositories

ADDRESS = "https://git.example/you/news-{year}/blob/main"
FIRST = 1048574  # the number of a feed's first article


def run_at(monkeypatch, archive: Path, now: str) -> str:
    monkeypatch.setenv("NEWSMIRROR_NOW", now)
    result = newsmirror("--archive", archive, "run")
    assert result.code == 0, result.out + result.err
    return result.out


def test_a_new_year_starts_a_new_repository_and_the_last_one_is_left_complete(tmp_path, site, monkeypatch):
    old, new = bare(tmp_path, "news-2025"), bare(tmp_path, "news-2026")
    archive = tmp_path / "m"
    feed = site.add("/f.xml", rss(item(1, date="Wed, 31 Dec 2025 15:00:00 GMT")))
    newsmirror("--archive", archive, "add", feed, "--id", "voa", "--title", "美国之音")
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text() + f'\n[publish]\nremotes = ["{tmp_path}/news-{{year}}.git"]\n'
                      f'split = "year"\nyear_url = "{ADDRESS}"\nretries = 1\n')

    out = run_at(monkeypatch, archive, "2025-12-31T23:30:00+08:00")
    assert f"push {old}: ok" in out
    assert list(articles(old, "main")) == [f"articles/voa/{FIRST}.md"]
    closing = git(old, "rev-parse", "main")

    # 00:30 in Shanghai is still 2025 in UTC: the year is the display zone's.
    site.add("/f.xml", rss(item(2, date="Wed, 31 Dec 2025 16:20:00 GMT"), item(1, date="Wed, 31 Dec 2025 15:00:00 GMT")))
    out = run_at(monkeypatch, archive, "2026-01-01T00:30:00+08:00")
    assert f"push {new}: ok" in out
    assert list(articles(new, "main")) == [f"articles/voa/{FIRST - 1}.md"]  # numbers go on counting down
    listed = git(new, "show", "main:lists/美国之音.md")
    assert f"[文章2](/articles/voa/{FIRST - 1}.md)" in listed  # this year's: relative, as always
    assert f"[文章1](https://git.example/you/news-2025/blob/main/articles/voa/{FIRST}.md)" in listed
    assert "[2025](https://git.example/you/news-2025/blob/main)" in git(new, "show", "main:README.md")
    assert newsmirror("--archive", archive, "site").code == 0  # the site spans every year, links the earlier ones
    run_at(monkeypatch, archive, "2026-01-01T01:30:00+08:00")
    home = git(new, "show", "main:site/index.html")
    assert '往年存档：<a href="https://git.example/you/news-2025/blob/main">2025</a>' in home
    assert "文章1" in home and git(old, "rev-parse", "main") == closing

    # The archive folder itself stays whole: every other command reads it as before.
    assert sorted(p.name for p in (archive / "articles/voa").glob("*.md")) == [f"{FIRST - 1}.md", f"{FIRST}.md"]
    assert f"/articles/voa/{FIRST}.md" in (archive / "lists/美国之音.md").read_text()
    assert newsmirror("--archive", archive, "history", f"voa/{FIRST}").code == 0

    site.add("/f.xml", rss(item(3, date="Fri, 02 Jan 2026 02:00:00 GMT"), item(2), item(1)))
    out = run_at(monkeypatch, archive, "2026-01-02T10:00:00+08:00")
    assert f"push {new}: ok" in out and str(old) not in out
    assert git(old, "rev-parse", "main") == closing  # 2025's repository is never pushed to again
    assert len(articles(new, "main")) == 2
    assert list(year_repositories(Archive(archive))) == [2025, 2026]


def test_the_final_push_of_a_year_is_retried_until_every_remote_has_it(tmp_path, site, monkeypatch):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1))), "--id", "voa")
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text() + f'\n[publish]\nremotes = ["{tmp_path}/news-{{year}}.git"]\n'
                      f'split = "year"\nyear_url = "{ADDRESS}"\nretries = 0\n')
    run_at(monkeypatch, archive, "2025-06-01T12:00:00+08:00")  # news-2025.git does not exist yet: push fails
    bare(tmp_path, "news-2026")
    out = run_at(monkeypatch, archive, "2026-01-01T08:00:00+08:00")
    assert "news-2025.git: ok" not in out and "news-2026.git: ok" in out
    old = bare(tmp_path, "news-2025")  # the host is back
    out = run_at(monkeypatch, archive, "2026-01-01T09:00:00+08:00")
    assert f"push {old}: ok" in out
    assert list(articles(old, "main")) == [f"articles/voa/{FIRST}.md"]
    out = run_at(monkeypatch, archive, "2026-01-01T10:00:00+08:00")
    assert str(old) not in out  # closed: left alone from now on


def test_list_lines_of_an_earlier_year_link_to_its_repository():
    page = "美国之音\n------\n\n1-2 [新](/articles/voa/9.md)\n\n12-31 [旧](/zh-Hant/articles/voa/10.md)\n"
    earlier = {"zh-Hant/articles/voa/10.md": 2025}
    assert relink(page, earlier, {2025: "https://h/news-2025"}) == (
        "美国之音\n------\n\n1-2 [新](/articles/voa/9.md)\n\n12-31 [旧](https://h/news-2025/zh-Hant/articles/voa/10.md)\n")


def test_the_readme_links_every_earlier_year_newest_first():
    assert with_years("front\n", {}) == "front\n"
    assert with_years("front\n", {2024: "https://h/24", 2025: "https://h/25"}) == (
        "front\n\n往年存档\n------\n\n[2025](https://h/25)\n\n[2024](https://h/24)\n")


def test_the_site_home_page_links_every_earlier_year():
    page = "<html><body><main>\n<h2>来源</h2>\n</main>\n</body></html>\n"
    assert site_with_years(page, {2025: "https://h/25?a&b"}) == (
        '<html><body><main>\n<h2>来源</h2>\n<p class="years">往年存档：<a href="https://h/25?a&amp;b">2025</a></p>\n'
        "</main>\n</body></html>\n")


def test_an_article_belongs_to_the_earliest_year_that_holds_it(tmp_path):
    for year, names in ((2024, ["articles/a/9.md", "media/ab/x.webp"]), (2025, ["articles/a/9.md", "articles/a/8.md",
                                                                                "articles/a/.identity.jsonl", "lists/a.md"])):
        for name in names:
            (tmp_path / str(year) / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / str(year) / name).write_text("x")
    assert held({2025: tmp_path / "2025", 2024: tmp_path / "2024"}) == {
        "articles/a/9.md": 2024, "media/ab/x.webp": 2024, "articles/a/8.md": 2025}


def test_doctor_checks_this_years_remotes(tmp_path, site, monkeypatch):
    this_year = bare(tmp_path, "news-2026")
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1))), "--id", "voa")
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text() + f'\n[publish]\nremotes = ["{tmp_path}/news-{{year}}.git"]\n'
                      f'split = "year"\nyear_url = "{ADDRESS}"\n')
    monkeypatch.setenv("NEWSMIRROR_NOW", "2026-03-01T12:00:00+08:00")
    result = newsmirror("--archive", archive, "doctor")
    assert f"remote {this_year}" in result.out and "reachable" in result.out


def test_a_year_holds_what_the_folder_publishes_besides_earlier_years_articles(tmp_path):
    folder, tree = tmp_path / "m", tmp_path / "2026"
    for name, text in (("articles/voa/9.md", "old"), ("articles/voa/8.md", "new"), ("lists/voa.md", "1-1 [旧](/articles/voa/9.md)\n"),
                       (".newsmirror/archive.db", "state"), ("README.md", "front\n")):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    for name in ("lists/gone.md", "NOTICE.md"):  # a list no longer written; a file someone pushed to the host
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("x")
    fill(folder, tree, {"articles/voa/9.md": 2025}, {2025: "https://h/25"})
    assert sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file()) == [
        "NOTICE.md", "README.md", "articles/voa/8.md", "lists/voa.md"]
    assert (tree / "lists/voa.md").read_text() == "1-1 [旧](https://h/25/articles/voa/9.md)\n"
    assert (tree / "articles/voa/8.md").stat().st_ino == (folder / "articles/voa/8.md").stat().st_ino  # no second copy


def test_a_redaction_rewrites_every_years_repository_closed_ones_too(tmp_path, site, monkeypatch):
    old, new = bare(tmp_path, "news-2025"), bare(tmp_path, "news-2026")
    archive = tmp_path / "m"
    secret = "".join(f"<p>被要求删除的第{i}段。这是一个完整的句子。</p>" for i in range(12))
    feed = site.add("/f.xml", rss(item(1, date="Wed, 31 Dec 2025 10:00:00 GMT", body=secret)))
    newsmirror("--archive", archive, "add", feed, "--id", "voa", "--title", "美国之音")
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text() + f'\n[publish]\nremotes = ["{tmp_path}/news-{{year}}.git"]\n'
                      f'split = "year"\nyear_url = "{ADDRESS}"\nretries = 1\n')
    run_at(monkeypatch, archive, "2025-12-31T20:00:00+08:00")
    site.add("/f.xml", rss(item(2, date="Fri, 02 Jan 2026 02:00:00 GMT"), item(1, date="Wed, 31 Dec 2025 10:00:00 GMT", body=secret)))
    run_at(monkeypatch, archive, "2026-01-02T12:00:00+08:00")
    assert "被要求删除" in git(old, "log", "--all", "-p")  # 2025's repository, closed, holds it

    result = newsmirror("--archive", archive, "redact", f"voa/{FIRST}", "--reason", "DMCA", "--yes")
    assert result.code == 0, result.out + result.err
    assert f"push {old}: rewritten" in result.out and f"push {new}: rewritten" in result.out
    for repository in (old, new, *year_repositories(Archive(archive)).values()):
        assert "被要求删除" not in git(repository, "log", "--all", "-p")
    assert f"articles/voa/{FIRST}.md" not in git(old, "ls-tree", "-r", "--name-only", "main")
    assert list(articles(new, "main")) == [f"articles/voa/{FIRST - 1}.md"]
