"""Hostile links and titles, clicked in headless Chromium: no link of the site runs a script.

A local feed full of script links (every spelling a browser still runs), markup titles and
bodies holding script links is mirrored by a real `newsmirror run`, next to rows an older
archive could hold (stored straight through the store, as no feed parser of today lets them
in); then every link of every page is clicked, from `file://` and from `serve`'s origin. Each
payload would leave a mark: an alert, the page's title or `window.name`, or a request to the
local server's /pwned.

Needs Debian's `chromium` and `chromium-driver` and the `selenium` package, as tests/test_site.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from html import escape
from pathlib import Path

import pytest
import uvicorn
from browser import chromium
from selenium.common.exceptions import ElementNotInteractableException, NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from support import Site, item, newsmirror, rss

from newsmirror.archive import Archive
from newsmirror.store import Store
from newsmirror.web import create_app

MARK = "NMPWNED"
T = 1715117943000


def payload(base: str, n: int) -> str:
    """JavaScript that leaves every mark newsmirror's pages are checked for."""
    return (f"new Image().src='{base}/pwned/{n}';document.title='{MARK}';window.name='{MARK}';"
            f"alert('{MARK}')")


def script_links(base: str) -> list[str]:
    """Every spelling of a script link the hostile-input review saw run."""
    js = [payload(base, n) for n in range(8)]
    return [f"javascript:{js[0]}", f" javascript:{js[1]}", f"java\tscript:{js[2]}", f"JaVaScRiPt:{js[3]}",
            f"data:text/html,<script>{js[4]}</script>", "vbscript:msgbox(1)", f"\njavascript:{js[5]}",
            f"{base}/a) [click](javascript:{js[6]})", f"javascript://x/%0A{js[7]}"]


def titles(base: str) -> list[str]:
    js = payload(base, 20)
    return [f"<img src=x onerror=\"{js}\">", f"</title><script>{js}</script>", f"](javascript:{js})",
            f"[click](javascript:{js})", f"<javascript:{js}>"]


def bodies(base: str) -> list[str]:
    """Script links in bodies (the sanitizer's work), and bodies a Markdown reader would parse."""
    js = payload(base, 30).replace("'", "&#39;")
    padding = "".join(f"<p>第{i}段：这是一篇完整的文章里的一个完整句子。</p>" for i in range(12))
    return [body + padding for body in (
        f'<p><a href="javascript:{js}">点这里</a></p>', f'<blockquote cite="javascript:{js}">引文</blockquote>',
        f"[点这里](javascript:{js}) 纯文本开头", f'<p><a href=" javascript:{js}">x</a><a href="java&#9;script:{js}">y</a></p>',
        f'<b>粗体开头</b><img src=x onerror="{js}"><a href="data:text/html,&lt;script&gt;{js}&lt;/script&gt;">z</a>')]


def hostile_feed(base: str) -> str:
    items = []
    for n, link in enumerate(script_links(base)):
        items.append(item(n, f"Tue, 07 May 2024 {n:02d}:00:00 GMT", link=escape(link, quote=False), title=f"脚本链接{n}"))
    for n, title in enumerate(titles(base), start=20):
        items.append(item(n, f"Mon, 06 May 2024 {n - 20:02d}:00:00 GMT", title=escape(title, quote=False)))
    for n, body in enumerate(bodies(base), start=30):
        items.append(item(n, f"Sun, 05 May 2024 {n - 30:02d}:00:00 GMT", body=body, title=f"正文{n}"))
    return rss(*items, title="恶意源")


def old_rows(base: str) -> list[dict]:
    """What an archive written before links were checked holds: script links as they came."""
    rows = []
    for i, link in enumerate([*script_links(base), f"javascript:{payload(base, 40)}"]):
        rows.append({"feed_id": "old", "number": 1048574 - i, "guid": f"old-{i}", "link": link, "canonical": None,
                     "title": titles(base)[i] if i < 5 else f"旧文章{i}", "published": T - i * 60000,
                     "first_seen": T, "body": "<p>旧存档里的正文。</p>" * 10, "source_hash": "", "from_page": 0,
                     "partial": 0, "page_attempts": 0, "removed_at": None, "feed_hash": None, "revised_at": None,
                     "checked_at": None})
    return rows


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Iterator[tuple[Path, Site]]:
    """The mirror, its site built; and the local server the payloads would call."""
    with pytest.MonkeyPatch.context() as env:  # as conftest's no_internet, for the whole module
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.setenv(name, "http://127.0.0.1:9")
        env.setenv("NO_PROXY", "127.0.0.1,localhost")
        env.setenv("no_proxy", "127.0.0.1,localhost")
        site = Site()
        archive = tmp_path_factory.mktemp("hostile") / "m"
        site.add("/evil.xml", hostile_feed(site.base))
        site.add("/old.xml", rss(item(99, title="旧源的新文章")))
        assert newsmirror("--archive", archive, "add", site.url("/evil.xml"), "--id", "evil", "--title", "恶意源").code == 0
        assert newsmirror("--archive", archive, "add", site.url("/old.xml"), "--id", "old", "--title", "旧存档").code == 0
        store = Store(Archive(archive).state_dir)
        try:
            store.add_entries(old_rows(site.base))
        finally:
            store.close()
        assert newsmirror("--archive", archive, "run").code == 0
        assert newsmirror("--archive", archive, "site").code == 0
        yield archive, site
        site.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[WebDriver]:
    driver = chromium(tmp_path_factory.mktemp("chromium"),
                      capabilities={"unhandledPromptBehavior": "ignore"},  # an alert is looked for, not dismissed
                      prefs={"download_restrictions": 3})  # feeds/*.atom would be saved
    driver.set_page_load_timeout(10)
    yield driver
    driver.quit()


@pytest.fixture
def server(hostile) -> Iterator[str]:
    """`serve`'s app (the site and server-side search) on 127.0.0.1; returns its address."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = uvicorn.Server(uvicorn.Config(create_app(Archive(hostile[0])), log_level="warning"))
    thread = threading.Thread(target=app.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not app.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    app.should_exit = True
    thread.join(5)
    sock.close()


def no_script_ran(driver: WebDriver, where: str) -> None:
    """No alert open, no mark on the page or the window (after the page's queued tasks ran)."""
    try:
        text = driver.switch_to.alert.text
    except NoAlertPresentException:
        text = None
    assert text is None, f"an alert ({text}) after {where}"
    driver.execute_async_script("setTimeout(arguments[0], 20)")  # a javascript: URL runs as a task
    marks = driver.execute_script("return [document.title, window.name]")
    assert MARK not in marks, f"a script ran after {where}"


def click_every_link(driver: WebDriver, page: str, clicked: set[str],
                     ready: Callable[[WebDriver], object] = lambda d: True) -> list[str]:
    """Click each link of `page` whose target (`href` as the browser resolves it) is not in
    `clicked` yet, going back to the page after each; returns every link's target.

    A target is clicked once per origin: the same resolved URL does the same from any page
    (the site's navigation repeats on every page, and clicking it again costs a page load)."""
    driver.get(page)
    WebDriverWait(driver, 10).until(ready)
    targets: list[str] = driver.execute_script("return Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    for i, target in enumerate(targets):
        if target in clicked:
            continue
        clicked.add(target)
        if driver.current_url != page:
            driver.get(page)
            WebDriverWait(driver, 10).until(ready)
        link = driver.find_elements(By.CSS_SELECTOR, "a[href]")[i]
        try:
            link.click()
        except ElementNotInteractableException:  # off screen or hidden: as a script would click it
            driver.execute_script("arguments[0].click()", link)
        no_script_ran(driver, f"{target!r} on {page}")
    return targets


def searched(driver: WebDriver) -> bool:
    """The static search page has shown its results (it searches ?q= on load)."""
    return driver.find_element(By.ID, "status").text.startswith(("找到", "没有找到"))


def pages(archive: Path, base: str) -> list[tuple[str, Callable[[WebDriver], object]]]:
    out: list[tuple[str, Callable[[WebDriver], object]]] = [
        (base + p.relative_to(archive / "site").as_posix(), lambda d: True)
        for p in sorted((archive / "site").rglob("*.html"))]
    return out + [(base + "search.html?q=%E6%96%87", searched)]  # 文: every title but the hostile ones


def assert_clicked_everything_safely(driver: WebDriver, archive: Path, site: Site, base: str,
                                     extra: list[tuple[str, Callable[[WebDriver], object]]] = ()) -> None:
    clicked: set[str] = set()
    targets = [t for page, ready in [*pages(archive, base), *extra] for t in click_every_link(driver, page, clicked, ready)]
    assert len(targets) > 300 and len(clicked) > 80  # the pages are really there, with their links
    assert not [path for path in site.hits if path.startswith("/pwned")]
    assert {t.split(":", 1)[0] for t in targets} <= {"http", "https", "file"}
    # The hostile titles are shown, as text.
    driver.get(base + "feeds/evil/index.html")
    shown = driver.find_element(By.TAG_NAME, "body").text
    assert all(title.strip() in shown for title in titles(site.base)), shown


def test_no_link_of_the_site_runs_a_script_from_file(hostile, browser):
    archive, site = hostile
    assert_clicked_everything_safely(browser, archive, site, (archive / "site").as_uri() + "/")


def test_no_link_of_the_reader_runs_a_script(hostile, browser, server):
    archive, site = hostile
    found = json.load(urllib.request.urlopen(server + "api/search?q=%E6%96%87&limit=200", timeout=10))
    assert len(found) > 20 and all(h["link"] == "" or h["link"].startswith(site.base + "/") for h in found)
    assert_clicked_everything_safely(browser, archive, site, server, [(server + "search?q=%E6%96%87", lambda d: True)])
