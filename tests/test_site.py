"""The static site, read in headless Chromium from file:// and from a sub-path of a local server.

Needs Debian's `chromium` and `chromium-driver` (/usr/bin/chromedriver) and the `selenium`
package; a machine without them fails here rather than skipping.
"""

from __future__ import annotations

import base64
import functools
import html
import http.server
import json
import re
import shutil
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import chromium
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from support import item, newsmirror, rss

from newsmirror import search as server_search
from newsmirror.model import new_entry
from newsmirror.render.markdown import read_article
from newsmirror.store import Store

HOUR = 3600 * 1000
FORK = "/some/fork-name/"  # the mirror folder as a fork under another name serves it
# The tests' output directory (git-ignored): screenshots of the site to look at after a run.
OUTPUT = Path(__file__).resolve().parent.parent / "build" / "test-output" / "site"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}

ORIGINAL = "".join(f"<p>{p}</p>" for p in (
    "白宫周二表示，希望以色列和哈马斯能够弥合停火谈判中的差距。", "科比说，以色列官员表示，这次行动的范围有限。",
    "联合国秘书长表示，对拉法的袭击将是一个战略错误。", "他说，两个主要援助过境点必须立即重新开放。"))
EDITED = ORIGINAL.replace("范围有限", "范围非常有限")
PICTURE = '<p><img src="__BASE__/img/3.jpg"></p>' + "".join(f"<p>第{i}段：新型芯片的能耗降低了一半。</p>" for i in range(8))
HK = "".join(f"<p>香港经济发展第{i}段，政府公布了新的措施。</p>" for i in range(8))
TW = "<p>台灣立法院今日通過新年度預算，行政院長表示將盡快執行。</p>" * 8  # Traditional as published: no variant

CONFIG = """\
[[feeds]]
id = "voa"
title = "美国之音"
url = "{base}/voa.xml"

[[feeds]]
id = "hk"
title = "香港新闻"
url = "{base}/hk.xml"
variant = "zh-Hant"

[[feeds]]
id = "many"
title = "快讯"
url = "{base}/many.xml"

[[feeds]]
id = "tw"
title = "自由時報"
url = "{base}/tw.xml"
"""


def voa(first: str, title: str) -> str:
    return rss(item(1, "Tue, 07 May 2024 21:39:03 GMT", body=first, title=title),
               item(2, "Mon, 06 May 2024 10:00:00 GMT", title="被删除的文章"),
               item(3, "Sun, 05 May 2024 18:00:00 GMT", body=PICTURE, title="芯片新闻"))  # 2024-05-06 in UTC+8


@pytest.fixture
def mirror(tmp_path: Path, site) -> Path:
    """Four feeds (one written in Traditional script, one published in it, one of 120 articles),
    built by two passes: the second sees article 1 edited and article 2 gone from its source
    (404); then `site`."""
    site.add("/voa.xml", voa(ORIGINAL, "拉法停火谈判"))
    site.add("/hk.xml", rss(item(1, "Wed, 08 May 2024 02:00:00 GMT", body=HK, title="香港经济发展", link="__BASE__/hk/1.html")))
    site.add("/many.xml", rss(*(item(n, f"Wed, 01 May 2024 {n // 60:02d}:{n % 60:02d}:00 GMT", link=f"__BASE__/m/{n}.html")
                                for n in range(1, 121))))
    site.add("/tw.xml", rss(item(1, "Sat, 04 May 2024 02:00:00 GMT", body=TW, title="立法院通過預算", link="__BASE__/tw/1.html")))
    for n in (1, 3):
        site.add(f"/a/{n}.html", "<html><body><article><p>仍在。</p></article></body></html>", content_type="text/html")
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text(CONFIG.format(base=site.base), encoding="utf-8")
    assert newsmirror("--archive", archive, "run").code == 0
    with sqlite3.connect(archive / ".newsmirror/archive.db") as db:  # archived two hours ago: due for a takedown check
        db.execute("UPDATE entries SET first_seen = first_seen - ? WHERE feed_id = 'voa'", (2 * HOUR,))
    site.add("/voa.xml", voa(EDITED, "拉法停火谈判（更新）"))
    assert "voa: nothing new, 1 revised" in newsmirror("--archive", archive, "run").out
    result = newsmirror("--archive", archive, "site")
    assert result.code == 0 and "site/index.html" in result.out
    return archive


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[WebDriver]:
    driver = chromium(tmp_path_factory.mktemp("chromium"),
                      capabilities={"goog:loggingPrefs": {"performance": "ALL"}})  # every request, file:// included
    driver.set_window_size(1024, 900)
    yield driver
    driver.quit()


@pytest.fixture
def fork_server(mirror: Path) -> Iterator[str]:
    """The mirror folder served under FORK on 127.0.0.1; returns the site's address."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".md": "text/markdown; charset=utf-8"}

        def translate_path(self, path: str) -> str:
            if not path.startswith(FORK):
                return str(mirror / "no such file")
            return super().translate_path("/" + path[len(FORK):])

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(mirror)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}{FORK}site/"
    server.shutdown()
    server.server_close()


def site_files(archive: Path) -> dict[Path, tuple[int, bytes]]:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted((archive / "site").rglob("*")) if p.is_file()}


def text(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def follow(driver: WebDriver, link_text: str) -> None:
    """Click the first link with this text and wait for the page it leads to."""
    link = driver.find_element(By.PARTIAL_LINK_TEXT, link_text)
    target = link.get_attribute("href")
    link.click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url.split("?")[0] == target.split("?")[0])


def own_requests(driver: WebDriver, base: str) -> list[str]:
    """The URLs the browser asked for since the last call (DevTools log), all in the mirror
    folder but for the images of article bodies (through the image proxy: content, not site)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
            if message["params"].get("type") != "Image":
                assert urls[-1].startswith(base.removesuffix("site/")), urls[-1]
    return urls


def walk(driver: WebDriver, base: str) -> None:
    """A reader's way through the site from `base` (the site folder's address, ending in /)."""
    driver.get_log("performance")  # what came before is not this site's
    driver.get(base + "index.html")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans"
    rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "table.feeds tbody tr")]
    assert rows == ["美国之音 3 2024-05-08", "香港新聞 1 2024-05-08", "快讯 120 2024-05-01", "自由時報 1 2024-05-04"]
    assert base + "assets/site.css" in own_requests(driver, base)

    follow(driver, "美国之音")
    assert driver.current_url == base + "feeds/voa/index.html"
    page = text(driver)
    assert "[已删除] 被删除的文章" in page and "2024-05-06 芯片新闻" in page  # 2024-05-05 18:00 GMT is the 6th in UTC+8
    follow(driver, "被删除的文章")
    assert "removed at the source on" in text(driver)
    assert driver.find_element(By.CSS_SELECTOR, ".removed-notice").is_displayed()
    driver.back()
    follow(driver, "拉法停火谈判（更新）")
    assert driver.current_url == base + "articles/voa/1048572.html"
    assert driver.find_element(By.TAG_NAME, "h1").text == "拉法停火谈判（更新）"
    assert "范围非常有限" in driver.find_element(By.CSS_SELECTOR, ".body").text
    assert [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".history .diff ins")] == ["（更新）", "非常"]
    assert not driver.find_elements(By.CSS_SELECTOR, ".history .diff del")
    assert "版本 2" in driver.find_element(By.CSS_SELECTOR, ".history").text
    source = driver.find_element(By.CSS_SELECTOR, "a.source").get_attribute("href")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/a/1\.html", source)
    assert not driver.find_elements(By.CSS_SELECTOR, ".removed-notice")
    own_requests(driver, base)
    follow(driver, "Markdown")
    assert text(driver).startswith("<!--1715117943000-->\n[拉法停火谈判（更新）](")
    driver.back()
    follow(driver, "美国之音")  # the article's way back to its feed
    assert driver.current_url == base + "feeds/voa/index.html"
    driver.back()
    follow(driver, "2024-05-08")
    assert driver.current_url == base + "days/2024-05-08.html"
    assert "香港新聞" in text(driver) and "香港經濟發展" in text(driver)
    follow(driver, "2024-05-06")  # the older day
    assert "芯片新闻" in text(driver)
    follow(driver, "新闻镜像")
    assert driver.current_url == base + "index.html"

    follow(driver, "快讯")  # 120 articles: the newest page holds 70, the older one 50
    assert len(driver.find_elements(By.CSS_SELECTOR, "ol.articles li")) == 70
    follow(driver, "较早")
    assert driver.current_url == base + "feeds/many/page-1.html"
    titles = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "ol.articles a")]
    assert len(titles) == 50 and titles[0] == "文章50" and titles[-1] == "文章1"
    follow(driver, "较新")
    assert driver.current_url == base + "feeds/many/index.html"

    search(driver, base, "拉法")
    follow(driver, "拉法停火谈判（更新）")
    assert driver.current_url == base + "articles/voa/1048572.html"


def search(driver: WebDriver, base: str, query: str) -> list[str]:
    """Type `query` on the search page; the titles found."""
    driver.get_log("performance")
    driver.get(base + "search.html")
    box = driver.find_element(By.NAME, "q")
    box.send_keys(query, Keys.ENTER)
    status = driver.find_element(By.ID, "status")
    WebDriverWait(driver, 10).until(lambda d: status.text.startswith(("找到", "没有找到")))
    own_requests(driver, base)
    return [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#results li > a")]


def test_a_reader_browses_and_searches_from_file(mirror, browser):
    walk(browser, (mirror / "site").as_uri() + "/")


def test_a_reader_browses_and_searches_under_a_sub_path_of_a_server(fork_server, browser):
    walk(browser, fork_server)


def test_search_finds_one_and_two_characters_in_either_script(mirror, browser):
    base = (mirror / "site").as_uri() + "/"
    assert search(browser, base, "芯片") == ["芯片新闻"]
    assert browser.find_element(By.CSS_SELECTOR, "#results .snippet mark").text == "芯片"
    assert search(browser, base, "談判") == ["拉法停火谈判（更新）"]  # Traditional query, Simplified text
    assert search(browser, base, "经济发展") == ["香港經濟發展"]  # and the reverse
    assert search(browser, base, "删") == ["被删除的文章"]
    assert len(search(browser, base, "段")) == 123  # every article but the edited one
    assert search(browser, base, "没有这个词") == []


def test_the_site_folds_scripts_with_the_table_of_the_server_search(mirror):
    shipped = (mirror / "site/search/fold.js").read_text(encoding="utf-8")
    pairs = list(json.loads(shipped.removeprefix("window.NM_FOLD = ").removesuffix(";\n")))  # code points, as search.js
    assert dict(zip(pairs[::2], pairs[1::2])) == server_search.script_pairs()


HEALTH = "<p>𠁞𠁞，公共卫生开支增加。</p>" * 8  # 𠁞 (Extension B) is the Traditional form of 𠀾


@pytest.fixture
def built_by_passes(tmp_path: Path, site) -> Path:
    """A mirror with `site = true`, after two passes (the second brings a second article)."""
    site.add("/f.xml", rss(item(1, title="公共卫生", body=HEALTH)))
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text(f'site = true\n\n[[feeds]]\nid = "f"\nurl = "{site.base}/f.xml"\n',
                                             encoding="utf-8")
    assert newsmirror("--archive", archive, "run").code == 0
    assert (archive / "site/articles/f/1048574.html").is_file()
    site.add("/f.xml", rss(item(2, title="第二篇"), item(1, title="公共卫生", body=HEALTH)))
    assert newsmirror("--archive", archive, "run").code == 0
    return archive


def test_site_true_builds_the_site_after_every_pass(built_by_passes):
    feed_page = (built_by_passes / "site/feeds/f/index.html").read_text(encoding="utf-8")
    assert "第二篇" in feed_page and "公共卫生" in feed_page
    assert (built_by_passes / "site/articles/f/1048573.html").is_file()
    assert (built_by_passes / "site/search/f/0.js").read_text(encoding="utf-8").count("第二篇") == 1


def test_the_site_search_finds_variant_forms_and_characters_past_the_bmp(built_by_passes, browser):
    """The browser folds as the server does: a Hong Kong variant form, and a pair past U+FFFF
    (typed in the address: ChromeDriver types only the BMP), each highlighted where it is."""
    base = (built_by_passes / "site").as_uri() + "/"
    assert search(browser, base, "衞生") == ["公共卫生"]
    assert browser.find_element(By.CSS_SELECTOR, "#results .snippet mark").text == "卫生"  # after two astral characters
    browser.get(base + "search.html?q=" + urllib.parse.quote("𠀾"))
    status = browser.find_element(By.ID, "status")
    WebDriverWait(browser, 10).until(lambda d: status.text.startswith(("找到", "没有找到")))
    assert [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#results li > a")] == ["公共卫生"]
    assert browser.find_element(By.CSS_SELECTOR, "#results .snippet mark").text == "𠁞"


def test_pages_fit_a_phone_screen(mirror, browser):
    browser.set_window_size(390, 844)
    try:
        for page in ("index.html", "articles/voa/1048574.html", "feeds/many/index.html", "search.html"):
            browser.get((mirror / "site" / page).as_uri())
            assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), page
    finally:
        browser.set_window_size(1024, 900)


def screenshot(driver: WebDriver, name: str) -> None:
    """The whole page (not only the window) as OUTPUT/<name>.png."""
    # The document's own size, read once the page is laid out (the layout metrics can say 0 before).
    width, height = driver.execute_script("const e = document.documentElement; return [Math.max(e.scrollWidth, "
                                          "window.innerWidth), Math.max(e.scrollHeight, window.innerHeight)]")
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, 6000), "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "clip": clip})
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def visible(driver: WebDriver, css: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_reader_at_desktop_and_phone_widths_from_file(mirror, browser, width):
    """Home, a feed, an article edited at the source, one taken down and one in Traditional
    script, each screenshot; nothing wider than a phone; flags, neighbours and lang as a reader
    meets them."""
    base = (mirror / "site").as_uri() + "/"
    browser.set_window_size(*WIDTHS[width])
    try:
        for name, page in (("home", "index.html"), ("feed", "feeds/voa/index.html"),
                           ("article-edited", "articles/voa/1048572.html"), ("article-removed", "articles/voa/1048573.html"),
                           ("article-traditional", "articles/tw/1048574.html")):
            browser.get(base + page)
            screenshot(browser, f"{name}-{width}")
            assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), page

        browser.get(base + "index.html")  # the newest headlines across feeds, by date, then the sources
        assert visible(browser, "h2") == ["最新文章", "来源"]
        headlines = browser.find_elements(By.CSS_SELECTOR, "ol.articles li")
        assert len(headlines) == 50
        assert [h.find_element(By.CSS_SELECTOR, "a").text for h in headlines[:6]] == [
            "香港經濟發展", "拉法停火谈判（更新）", "被删除的文章", "芯片新闻", "立法院通過預算", "文章120"]
        first = headlines[0].text.split("\n") if width == "phone" else headlines[0].text.split(" ", 3)
        assert " ".join(first).startswith("2024-05-08 10:00 UTC+8 香港新聞")  # labelled, in the display zone
        assert [h.get_dom_attribute("lang") for h in headlines[:6]] == ["zh-Hant", None, None, None, "zh-Hant", None]
        assert "已修改 1 次" in headlines[1].text and "[已删除]" in headlines[2].text
        assert visible(browser, ".flag.edited") == ["已修改 1 次"]

        browser.get(base + "feeds/voa/index.html")  # the same flags beside titles in a feed's list
        assert browser.execute_script("return document.documentElement.lang") == "zh-Hans"
        assert visible(browser, ".flag.edited") == ["已修改 1 次"] and visible(browser, ".removed") == ["[已删除]"]
        follow(browser, "已修改 1 次")
        assert browser.current_url == base + "articles/voa/1048572.html#history"

        browser.get(base + "articles/voa/1048572.html")  # the newest of its feed: an older neighbour only
        assert visible(browser, ".edited-notice")[0].startswith("原网站修改过此文 1 次（edited 1 times）")
        assert not browser.find_elements(By.CSS_SELECTOR, ".pager a[rel=prev], .removed-notice")
        follow(browser, "较早：被删除的文章")
        assert browser.current_url == base + "articles/voa/1048573.html"
        assert "removed at the source" in visible(browser, ".removed-notice")[0]
        assert not browser.find_elements(By.CSS_SELECTOR, ".edited-notice")
        follow(browser, "较早：芯片新闻")
        assert browser.current_url == base + "articles/voa/1048574.html"
        assert not browser.find_elements(By.CSS_SELECTOR, ".pager a[rel=next]")
        follow(browser, "较新：被删除的文章")
        assert browser.current_url == base + "articles/voa/1048573.html"
        assert browser.execute_script("return document.documentElement.lang") == "zh-Hans"

        for page in ("articles/tw/1048574.html", "articles/hk/1048574.html"):  # read from the text; written so
            browser.get(base + page)
            assert browser.execute_script("return document.documentElement.lang") == "zh-Hant", page
            assert "PingFang TC" in browser.execute_script("return getComputedStyle(document.body).fontFamily")
    finally:
        browser.set_window_size(1024, 900)


def test_the_site_shows_times_and_days_in_the_display_zone(mirror, browser):
    """[display] timezone = "UTC": labelled times, days cut at UTC midnight, search results' days
    too (in the browser); the house-format lists keep UTC+8."""
    with (mirror / "newsmirror.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[display]\ntimezone = "UTC"\n')
    assert newsmirror("--archive", mirror, "site").code == 0
    site = mirror / "site"
    assert "2024-05-07 21:39 UTC</time>" in (site / "articles/voa/1048572.html").read_text(encoding="utf-8")
    assert "芯片新闻" in (site / "days/2024-05-05.html").read_text(encoding="utf-8")  # 18:00 GMT: the 6th in UTC+8
    assert "<h1>按日期（UTC）</h1>" in (site / "days/index.html").read_text(encoding="utf-8")
    assert search(browser, site.as_uri() + "/", "芯片") == ["芯片新闻"]
    assert browser.find_element(By.CSS_SELECTOR, "#results .meta").text.startswith("美国之音 · 2024-05-05")
    assert "\n5-6 [芯片新闻]" in (mirror / "lists/美国之音.md").read_text(encoding="utf-8")


def test_every_link_and_asset_is_local(mirror):
    """All src/href of the site's own markup are relative and lead to a file; what is not the
    site's own (the article body, its images through the proxy, the source link) is left out."""
    site = mirror / "site"
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 130
    for page in pages:
        markup = page.read_text(encoding="utf-8")
        if page.parent.parent.name == "articles":
            md = mirror / "articles" / page.parent.name / f"{page.stem}.md"
            _, _, link, body = read_article(md.read_text(encoding="utf-8"))
            assert body in markup
            markup = markup.replace(body, "").replace(f'class="source" href="{html.escape(link)}"', "")
        assert 'name="viewport"' in markup and re.search(r'<html lang="zh(-Han[st])?">', markup)
        assert ("<script" in markup) == (page.name == "search.html")  # only search needs JavaScript
        for ref in re.findall(r'(?:src|href)="([^"]*)"', markup):
            assert not re.match(r"([a-z][a-z0-9+.-]*:|/)", ref, re.I), (page, ref)
            target = (page.parent / html.unescape(ref).split("#")[0]).resolve() if ref[0] != "#" else page
            assert target.is_file(), (page, ref)
    hk = (site / "articles/hk/1048574.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hant">' in hk and "香港經濟發展" in hk
    for asset in ("assets/site.css", "assets/search.js", "assets/icon.svg"):
        code = re.sub(r"^\s*//.*$|xmlns=\"[^\"]*\"", "", (site / asset).read_text(encoding="utf-8"), flags=re.M)
        assert not re.search(r"https?:|@import|url\(|fetch\(|XMLHttpRequest|WebSocket", code), asset


def test_a_second_build_changes_no_file_and_a_new_article_few(mirror, site):
    before = site_files(mirror)
    assert "(0 files written)" in newsmirror("--archive", mirror, "site").out
    assert site_files(mirror) == before
    site.add("/hk.xml", rss(item(1, "Wed, 08 May 2024 02:00:00 GMT", body=HK, title="香港经济发展", link="__BASE__/hk/1.html"),
                            item(2, "Thu, 09 May 2024 02:00:00 GMT", body=HK, title="第二篇", link="__BASE__/hk/2.html")))
    newsmirror("--archive", mirror, "run")
    assert "(9 files written)" in newsmirror("--archive", mirror, "site").out
    after = site_files(mirror)
    changed = sorted(str(p.relative_to(mirror / "site")) for p in after if after[p] != before.get(p))
    # the article before it gains a link to it (its newer neighbour)
    assert changed == ["articles/hk/1048573.html", "articles/hk/1048574.html", "days/2024-05-08.html", "days/2024-05-09.html",
                       "days/index.html", "feeds/hk/index.html", "index.html", "search.html", "search/hk/0.js"], changed


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def built_whole(archive: Path, tmp_path: Path) -> dict[str, bytes]:
    """The site of a copy of `archive` built from nothing (no site, no manifest): what a build
    that renders only the changed pages must have left."""
    copy = tmp_path / "whole"
    shutil.copytree(archive, copy, ignore=shutil.ignore_patterns("site", "site.json"))
    assert newsmirror("--archive", copy, "site").code == 0
    return tree(copy / "site")


def add_an_article(archive: Path, site) -> None:
    site.add("/hk.xml", rss(item(1, "Wed, 08 May 2024 02:00:00 GMT", body=HK, title="香港经济发展", link="__BASE__/hk/1.html"),
                            item(2, "Thu, 09 May 2024 02:00:00 GMT", body=HK, title="第二篇", link="__BASE__/hk/2.html")))
    assert "hk: 1 new" in newsmirror("--archive", archive, "run").out


def revise_an_article(archive: Path, site) -> None:
    site.add("/voa.xml", voa(EDITED.replace("战略错误", "严重的战略错误"), "拉法停火谈判（再次更新）"))
    assert "voa: nothing new, 1 revised" in newsmirror("--archive", archive, "run").out


def take_an_article_down(archive: Path, site) -> None:
    """As takedowns.py marks an article gone at its source (a page answering 404)."""
    store = Store(archive / ".newsmirror")
    try:
        store.update_entry(store.entry("many", 1048574 - 60).id, checked_at=1715200000000, removed_at=1715200000000)
    finally:
        store.close()


def add_a_feed(archive: Path, site) -> None:
    site.add("/new.xml", rss(item(1, "Thu, 09 May 2024 02:00:00 GMT", title="新的来源", link="__BASE__/new/1.html")))
    assert newsmirror("--archive", archive, "add", f"{site.base}/new.xml", "--id", "new", "--title", "新来源").code == 0
    assert "new: 1 new" in newsmirror("--archive", archive, "run").out


def remove_a_feed(archive: Path, site) -> None:
    assert newsmirror("--archive", archive, "remove", "hk").code == 0


@pytest.mark.parametrize("change", [add_an_article, revise_an_article, take_an_article_down, add_a_feed, remove_a_feed])
def test_a_build_after_a_change_leaves_the_site_a_whole_build_would(mirror, site, tmp_path, change):
    change(mirror, site)
    assert newsmirror("--archive", mirror, "site").code == 0
    assert tree(mirror / "site") == built_whole(mirror, tmp_path)


def test_a_build_reads_the_bodies_of_the_pages_it_renders_only(mirror, site, monkeypatch):
    """What a page shows of an article's body is known from its change number: a build reads
    bodies (the bulk of the state) only for the article pages and search shards it renders."""
    read: list[tuple[str, int]] = []
    entries_by_id = Store.entries_by_id

    def counted(store: Store, ids):
        rows = list(entries_by_id(store, ids))
        read.extend((r.feed_id, r.number) for r in rows)
        return iter(rows)

    monkeypatch.setattr(Store, "entries_by_id", counted)
    assert "(0 files written)" in newsmirror("--archive", mirror, "site").out
    assert read == []
    add_an_article(mirror, site)
    read.clear()
    newsmirror("--archive", mirror, "site")
    # the new article's page, its older neighbour's (its "newer" link), and the feed's search shard
    assert sorted(read) == [("hk", 1048573), ("hk", 1048573), ("hk", 1048574), ("hk", 1048574)]


LONG = 650  # articles: past three search shards and a dozen list pages, so that a build reads only the newest


def store_articles(archive: Path, numbers: range) -> None:
    """Articles of the feed "long" as a pass stores them, one every ten minutes (no feed served:
    one this long would take the test a while to fetch)."""
    store = Store(archive / ".newsmirror")
    try:
        store.add_entries([new_entry("long", n, title=f"第{1048574 - n}篇", link=f"https://example.com/{n}", canonical=None,
                                     published=1715000000000 + (1048574 - n) * HOUR // 6, first_seen=1715000000000,
                                     body=f"<p>第{1048574 - n}篇的正文。</p>", source_hash="", from_page=False)
                           for n in numbers], pending=False)
    finally:
        store.close()


@pytest.fixture
def long_mirror(tmp_path: Path) -> Path:
    archive = tmp_path / "long"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text('[[feeds]]\nid = "long"\ntitle = "长"\nurl = "http://127.0.0.1:9/f.xml"\n', encoding="utf-8")
    store_articles(archive, range(1048574, 1048574 - LONG, -1))
    assert newsmirror("--archive", archive, "site").code == 0
    return archive


def revise(archive: Path, number: int, **values: object) -> None:
    store = Store(archive / ".newsmirror")
    try:
        row = store.entry("long", number)
        if "removed_at" in values:
            store.update_entry(row.id, **values)
        else:
            store.revise(row, f"{row.title}（更新）", row.body + "<p>补充。</p>", "", None, 1716000000000)
    finally:
        store.close()


@pytest.mark.parametrize(("change", "most_read"), [
    (lambda archive: store_articles(archive, range(1048574 - LONG, 1048574 - LONG - 1, -1)), 252),  # the newest shard (251), and one more
    (lambda archive: store_articles(archive, range(1048574 - LONG, 1048574 - LONG - 150, -1)), 401),  # shard 2 split: both
    (lambda archive: revise(archive, 1048574 - LONG + 3), 251),  # a recent article revised: its shard (250), and one more
    (lambda archive: revise(archive, 1048574, removed_at=1716000000000), LONG),  # the oldest taken down: the feed read whole
])
def test_a_build_after_a_change_reads_the_newest_of_a_long_feed(long_mirror, tmp_path, monkeypatch, change, most_read):
    """The newest search shard holds up to 399 articles: a build reads the feed as far as the
    oldest page that can change (and one article more, its neighbour), and leaves the site a whole build would."""
    change(long_mirror)
    read = []
    listed = Store.listed

    def counted(store: Store, feed_id: str, limit: int):
        rows = listed(store, feed_id, limit)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(Store, "listed", counted)
    assert newsmirror("--archive", long_mirror, "site").code == 0
    monkeypatch.undo()
    assert max(read) == most_read
    assert tree(long_mirror / "site") == built_whole(long_mirror, tmp_path)


def test_site_full_builds_again_a_page_deleted_by_hand(long_mirror):
    """A build reads what changed in the state, not the site's folder: `--full` looks at every page."""
    page = long_mirror / "site/articles/long/1048574.html"
    page.unlink()
    assert "(0 files written)" in newsmirror("--archive", long_mirror, "site").out
    assert not page.exists()
    assert "(1 files written)" in newsmirror("--archive", long_mirror, "site", "--full").out
    assert page.is_file()


def test_an_article_two_feeds_carry_has_one_page_both_feed_pages_link_to(tmp_path, site):
    shared = item(1, title="同一篇文章", link="__BASE__/a/1.html")
    site.add("/a.xml", rss(shared))
    site.add("/b.xml", rss(shared, item(2, title="B 自己的文章", link="__BASE__/b/2.html")))
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text(f'dedupe = "mirror"\n\n[[feeds]]\nid = "a"\nurl = "{site.base}/a.xml"\n\n'
                                             f'[[feeds]]\nid = "b"\nurl = "{site.base}/b.xml"\n', encoding="utf-8")
    newsmirror("--archive", archive, "run", "--feed", "a")  # a archives it first; b then only lists it
    newsmirror("--archive", archive, "run")
    newsmirror("--archive", archive, "site")
    b = (archive / "site/feeds/b/index.html").read_text(encoding="utf-8")
    assert 'href="../../articles/a/1048574.html">同一篇文章' in b and 'href="../../articles/b/1048574.html">B 自己的文章' in b
    assert sorted(p.name for p in (archive / "site/articles").iterdir()) == ["a", "b"]
    assert [p.name for p in (archive / "site/articles/b").iterdir()] == ["1048574.html"]
    assert (archive / "site/search/b/0.js").read_text(encoding="utf-8").count("同一篇文章") == 0  # searched once, under a


def test_an_adopted_article_links_its_file_and_no_script_link(tmp_path, site):
    """Files of the original mirror keep their "<n>_<title>.md" names (any character a title
    holds) and their links (anything it stored): the page links the file, and a source only
    when it is http(s)."""
    archive = tmp_path / "m"
    folder = archive / "articles/f"
    folder.mkdir(parents=True)
    body = "<p>原来的正文。</p>"
    (folder / "1048574_C#新闻 100%?.md").write_text(f"<!--1715000000000-->\n[C#新闻](javascript:alert(1))\n------\n\n{body}\n")
    (folder / "1048573.md").write_text(f"<!--1715000000000-->\n[第二篇]({site.base}/a/2.html)\n------\n\n{body}\n")
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss()), "--id", "f", "--title", "F")
    assert newsmirror("--archive", archive, "reindex").code == 0
    assert newsmirror("--archive", archive, "site").code == 0
    page = archive / "site/articles/f/1048574.html"
    markup = page.read_text(encoding="utf-8")
    [ref] = re.findall(r'class="markdown" href="([^"]*)"', markup)
    path = urllib.parse.unquote(urllib.parse.urlsplit(html.unescape(ref)).path)  # as a browser reads the href
    assert (page.parent / path).resolve() == (folder / "1048574_C#新闻 100%?.md").resolve()
    assert "javascript" not in markup and 'class="source"' not in markup and "原来的正文" in markup
    second = (archive / "site/articles/f/1048573.html").read_text(encoding="utf-8")
    assert f'class="source" href="{site.base}/a/2.html"' in second


def test_every_page_ends_with_the_mirrors_escaped_and_only_http_s_linked(tmp_path, site):
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text(
        f'[[feeds]]\nid = "voa"\ntitle = "美国之音"\nurl = "{site.add("/voa.xml", rss(item(1)))}"\n'
        '[publish]\nmirrors = [\n  { name = "<b>GitHub</b> & *co*", url = "https://e.example/a)b<c\\"d" },\n'
        '  { name = "备份", url = "git@codeberg.org:you/news.git" },\n]\n', encoding="utf-8")
    assert newsmirror("--archive", archive, "run").code == 0
    assert newsmirror("--archive", archive, "site").code == 0
    pages = [archive / "site" / rel for rel in ("index.html", "feeds/voa/index.html", "articles/voa/1048574.html")]
    for page in pages:
        footer = re.search(r'<footer class="mirrors">(.*)</footer>', page.read_text(encoding="utf-8"))
        assert footer is not None, page
        assert footer.group(1) == ('全部镜像：<a href="https://e.example/a)b&lt;c&#34;d">&lt;b&gt;GitHub&lt;/b&gt; &amp; *co*</a>'
                                   " · 备份 <code>git@codeberg.org:you/news.git</code>")
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('"备份"', '"Codeberg"'), encoding="utf-8")
    assert newsmirror("--archive", archive, "site").code == 0  # the mirrors changed: every page is built again
    assert all("Codeberg <code>" in page.read_text(encoding="utf-8") for page in pages)


def test_without_mirrors_no_page_has_a_footer(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/voa.xml", rss(item(1))), "--id", "voa", "--title", "美国之音")
    assert newsmirror("--archive", archive, "run").code == 0
    assert newsmirror("--archive", archive, "site").code == 0
    assert not [p for p in (archive / "site").rglob("*.html") if "<footer" in p.read_text(encoding="utf-8")]
