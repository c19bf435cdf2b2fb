"""Revisions that mean something: volatile parts, flips back and a daily limit (revisions.py).

First the pure rules, then whole passes against a local server, as a user runs them.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from support import item, newsmirror, rss

from newsmirror.revisions import (
    DAY,
    FLIP,
    LIMIT,
    VOLATILE,
    ReturnTo,
    Revise,
    Suppress,
    VersionKey,
    decide,
    stable_text,
    version_key,
)

HOUR = 3600 * 1000
PARAGRAPHS = ("白宫周二表示，希望以色列和哈马斯能够弥合停火谈判中的差距。", "科比说，以色列官员表示，这次行动的范围有限。",
              "联合国秘书长表示，对拉法的袭击将是一个战略错误。", "他说，两个主要援助过境点必须立即重新开放。")
RELATED = '<ul class="related"><li><a href="/a/{0}.html">相关报道{0}</a></li><li><a href="/a/{1}.html">相关报道{1}</a></li></ul>'


def body(*extra: str, text: tuple[str, ...] = PARAGRAPHS) -> str:
    return "".join(f"<p>{p}</p>" for p in text) + "".join(extra)


# --- the stable text ---------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [
    ("<p>正文。</p><p>1,234次阅读</p>", "<p>正文。</p><p>1,301次阅读</p>"),
    ("<p>正文。阅读：1234</p>", "<p>正文。阅读：1240</p>"),
    ("<p>正文。浏览 12 次</p>", "<p>正文。浏览 13 次</p>"),
    ("<p>Text. 56 comments · 1.2k views</p>", "<p>Text. 57 comments · 1.3k views</p>"),
    ("<p>正文。更新于 5分钟前</p>", "<p>正文。更新于 35分钟前</p>"),
    ("<p>正文。更新于 2024年5月7日 10:05</p>", "<p>正文。更新于 2024年5月7日 10:35</p>"),
    ("<p>Text. Updated 3 hours ago</p>", "<p>Text. Updated 4 hours ago</p>"),
    ("<p>Text. Last updated: 10:05 a.m.</p>", "<p>Text. Last updated: 11:40 a.m.</p>"),
    ("<p>正文。</p><span>刚刚</span>", "<p>正文。</p><span>2小时前</span>"),
    (body(RELATED.format(7, 8)), body(RELATED.format(9, 3))),
])
def test_volatile_parts_do_not_change_the_stable_text(a, b):
    assert stable_text(a) == stable_text(b) != ""


def test_the_words_around_volatile_parts_stay():
    assert stable_text("<p>他被捕后（1,234次阅读）获释。</p><p>Updated 3 hours ago: talks resume.</p>") == \
        "他被捕后（ ）获释。 : talks resume."


def test_a_box_of_links_goes_but_text_with_a_link_in_it_stays():
    page = ('<div><p>据<a href="/src">路透社</a>报道，谈判将于周四恢复，双方代表已抵达开罗。</p></div>'
            '<aside><a href="/1">一</a> <a href="/2">二</a> <a href="/3">三</a></aside>')
    assert stable_text(page) == "据 路透社 报道，谈判将于周四恢复，双方代表已抵达开罗。"


def test_a_box_inside_a_box_goes_with_it_and_unclosed_blocks_do_not_confuse_the_count():
    page = "<p>正文。</p><div><ul><li><a>一</a><li><a>二</a></ul><div><a>三</a><a>四</a></div></div></span></ul><p>完。</p>"
    assert stable_text(page) == "正文。 完。"


def test_real_edits_change_the_stable_text():
    assert stable_text("<p>范围有限。1,234次阅读</p>") != stable_text("<p>范围非常有限。1,234次阅读</p>")
    assert stable_text("<p>他第2次被捕，此前被拘留3次。</p>") != stable_text("<p>他第3次被捕，此前被拘留4次。</p>")
    assert version_key("停火谈判", "<p>正文。</p>") != version_key("停火谈判（更新）", "<p>正文。</p>")
    assert version_key(" 停火\n谈判 ", "<p>正文。</p>") == version_key("停火 谈判", "<p>正文。</p>")


# --- the decision --------------------------------------------------------------------------

NOW = 100 * DAY


def test_a_change_in_volatile_parts_only_is_suppressed():
    assert decide([VersionKey("a")], "a", NOW, limit=4, flips=0) == Suppress(VOLATILE)


def test_going_back_to_a_stored_version_returns_to_it_twice_then_is_counted_only():
    versions = [VersionKey("a", NOW - HOUR), VersionKey("b", NOW - 1), VersionKey("c")]
    assert decide(versions, "a", NOW, limit=4, flips=0) == ReturnTo(0)
    assert decide(versions, "b", NOW, limit=4, flips=1) == ReturnTo(1)
    assert decide(versions, "a", NOW, limit=4, flips=2) == Suppress(FLIP)


def test_at_most_limit_revisions_in_any_24_hours():
    today = [VersionKey(k, NOW - n * HOUR) for n, k in enumerate("abcd", 1)]
    assert decide([*today, VersionKey("e")], "f", NOW, limit=4, flips=0) == Suppress(LIMIT)
    assert decide([*today, VersionKey("e")], "f", NOW, limit=5, flips=0) == Revise()
    yesterday = [VersionKey(k, NOW - DAY - n) for n, k in enumerate("abcd")]
    assert decide([*yesterday, VersionKey("e")], "f", NOW, limit=4, flips=0) == Revise()


# --- whole passes --------------------------------------------------------------------------


def mirror(tmp_path, site, text: str, settings: str = ""):
    site.add("/f.xml", rss(item(1, body=text, title="停火谈判")))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.url("/f.xml"), "--id", "voa", "--title", "美国之音")
    if settings:
        config = archive / "newsmirror.toml"
        config.write_text(settings + "\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    newsmirror("--archive", archive, "run")
    return archive


def run(archive) -> str:
    """The feed's line of a pass."""
    return newsmirror("--archive", archive, "run").out.splitlines()[0]


def pass_with(site, archive, text: str) -> str:
    site.add("/f.xml", rss(item(1, body=text, title="停火谈判")))
    return run(archive)


def history(archive) -> dict:
    return json.loads(newsmirror("--archive", archive, "history", "voa/1048574", "--json").out)


def article(archive) -> str:
    return (archive / "articles/voa/1048574.md").read_text(encoding="utf-8")


def test_a_counter_that_changes_every_pass_makes_no_revision_and_is_counted(tmp_path, site):
    archive = mirror(tmp_path, site, body("<p>1,000次阅读 · 更新于 1分钟前</p>"))
    for n in range(1, 4):
        assert "voa: unchanged" == pass_with(site, archive, body(f"<p>1,{n}00次阅读 · 更新于 {n + 1}分钟前</p>"))
    found = history(archive)
    assert len(found["versions"]) == 1 and found["suppressed"] == {"volatile": 3, "flip": 0, "limit": 0}
    assert "1,000次阅读" in article(archive)  # the file is not rewritten for a counter
    text = newsmirror("--archive", archive, "history", "voa/1048574").out
    assert text.splitlines()[-1] == "changes not kept as versions: 3 volatile (counters, relative times, boxes of links)"


def test_a_rotating_box_of_related_links_makes_no_revision(tmp_path, site):
    archive = mirror(tmp_path, site, body(RELATED.format(7, 8)))
    assert "voa: unchanged" == pass_with(site, archive, body(RELATED.format(9, 3)))
    assert history(archive)["suppressed"]["volatile"] == 1


def test_a_real_edit_beside_a_counter_change_is_a_revision(tmp_path, site):
    archive = mirror(tmp_path, site, body("<p>1,000次阅读</p>"))
    edited = body("<p>1,100次阅读</p>", text=(*PARAGRAPHS[:3], "他说，援助过境点必须立即重新开放。"))
    assert "voa: nothing new, 1 revised" == pass_with(site, archive, edited)
    found = history(archive)
    assert len(found["versions"]) == 2 and found["suppressed"] == {"volatile": 0, "flip": 0, "limit": 0}
    assert "援助过境点必须" in article(archive)
    (feed,) = json.loads(newsmirror("--archive", archive, "list", "--json").out)
    assert (feed["articles"], feed["revised"], feed["removed"]) == (1, 1, 0)


def test_a_flip_back_keeps_two_versions_and_shows_the_one_returned_to(tmp_path, site):
    a = body()
    b = body(text=(*PARAGRAPHS[:3], "他说，援助过境点必须立即重新开放。"))
    archive = mirror(tmp_path, site, a)
    assert "voa: nothing new, 1 revised" == pass_with(site, archive, b)
    assert "voa: unchanged" == pass_with(site, archive, a)  # A -> B -> A: no third version
    found = history(archive)
    assert len(found["versions"]) == 2 and found["suppressed"]["flip"] == 1
    assert "两个主要援助过境点" in article(archive)  # the file shows the version returned to (A)...
    diff = newsmirror("--archive", archive, "diff", "voa/1048574").out
    assert "{+两个主要+}" in diff  # ...and the history ends with it: B, then A again


def test_a_page_flipping_between_two_texts_stops_rewriting_its_file_after_two_returns(tmp_path, site):
    a, b = body(), body(text=PARAGRAPHS[:3])
    archive = mirror(tmp_path, site, a)
    pass_with(site, archive, b)
    for text in (a, b):  # two returns: the file follows
        pass_with(site, archive, text)
    pass_with(site, archive, a)  # a third: counted only, the file stays as it is
    assert "两个主要援助过境点" not in article(archive)
    found = history(archive)
    assert len(found["versions"]) == 2 and found["suppressed"]["flip"] == 3


def edits(n: int) -> list[str]:
    return [body(text=(*PARAGRAPHS[:3], f"他说，第{i}次修改后的句子。")) for i in range(1, n + 1)]


def test_a_page_edited_six_times_in_a_day_keeps_four_revisions_and_counts_two(tmp_path, site):
    archive = mirror(tmp_path, site, body())
    lines = [pass_with(site, archive, text) for text in edits(6)]
    assert lines == ["voa: nothing new, 1 revised"] * 4 + ["voa: unchanged"] * 2
    found = history(archive)
    assert len(found["versions"]) == 5 and found["suppressed"] == {"volatile": 0, "flip": 0, "limit": 2}
    assert "第4次修改" in article(archive)
    # The source still shows the sixth: compared again on later passes, counted once, and
    # archived once the day's revisions allow.
    assert "voa: unchanged" == run(archive)
    assert history(archive)["suppressed"]["limit"] == 2
    with sqlite3.connect(archive / ".newsmirror/archive.db") as db:
        db.execute("UPDATE revisions SET replaced_at = replaced_at - ?", (DAY,))
    assert "voa: nothing new, 1 revised" == run(archive)
    assert "第6次修改" in article(archive)


def test_max_per_day_is_a_setting(tmp_path, site):
    archive = mirror(tmp_path, site, body(), settings="[revisions]\nmax_per_day = 1")
    assert [pass_with(site, archive, text) for text in edits(2)] == ["voa: nothing new, 1 revised", "voa: unchanged"]
    assert history(archive)["suppressed"]["limit"] == 1


@pytest.mark.parametrize("value", ["0", "-1", "1.5", '"4"', "1001"])
def test_a_bad_max_per_day_stops_every_command_with_exit_2(tmp_path, value):
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text(f"[revisions]\nmax_per_day = {value}\n", encoding="utf-8")
    result = newsmirror("--archive", archive, "list")
    assert result.code == 2 and "newsmirror.toml:2: revisions.max_per_day: must be" in result.err


def age(archive, hours: float) -> None:
    """Pretend every article was archived `hours` ago and last checked then (takedown re-checks)."""
    with sqlite3.connect(archive / ".newsmirror/archive.db") as db:
        db.execute("UPDATE entries SET first_seen = first_seen - ?, checked_at = checked_at - ?", (hours * HOUR, hours * HOUR))


def page(*paragraphs: str) -> str:
    return "<html><body><article>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article></body></html>"


def test_the_rules_apply_to_the_page_of_a_page_built_article_too(tmp_path, site):
    site.add("/a/1.html", page(*PARAGRAPHS, "1,000次阅读"), content_type="text/html")
    archive = mirror(tmp_path, site, "一句话摘要。")  # summary only: the article is built from its page
    site.add("/a/1.html", page(*PARAGRAPHS, "1,500次阅读"), content_type="text/html")
    age(archive, 7)
    assert "voa: unchanged" == run(archive)
    assert history(archive)["suppressed"]["volatile"] == 1
    site.add("/a/1.html", page(*PARAGRAPHS[:3], "2,000次阅读"), content_type="text/html")
    age(archive, 7)
    assert "voa: nothing new, 1 revised" == run(archive)
    assert len(history(archive)["versions"]) == 2
