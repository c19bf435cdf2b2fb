"""`newsmirror serve`: the site, the archive's files and server-side search, through Starlette's
test client; and the command itself on 127.0.0.1 (its port, a pass while it serves)."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import PurePath
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient
from support import item, newsmirror, rss

from newsmirror.archive import Archive
from newsmirror.store import Store
from newsmirror.web import create_app, readable


def reader(tmp_path, site) -> TestClient:
    archive = tmp_path / "m"
    items = [item(1, title="拉法过境点", body="<p>以色列占领拉法过境点加沙一侧。</p>" * 8),
             item(2, title="台湾选举", body="<p>台湾举行地方选举。</p>" * 8)]
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(*items)), "--id", "voa", "--title", "美国之音")
    newsmirror("--archive", archive, "run")
    newsmirror("--archive", archive, "site")
    return TestClient(create_app(Archive(archive)))


def test_the_site_is_served_and_search_is_ranked_on_the_server(tmp_path, site):
    client = reader(tmp_path, site)
    assert "美国之音" in client.get("/").text
    assert "拉法过境点" in client.get("/articles/voa/1048573.html").text
    found = client.get("/api/search", params={"q": "過境"}).json()  # Traditional finds Simplified
    assert [(h["feed"], h["number"], h["page"]) for h in found] == [("voa", 1048573, "articles/voa/1048573.html")]
    page = client.get("/search", params={"q": "选举"}).text
    assert '<a href="articles/voa/1048574.html">台湾选举</a>' in page and "<mark>选举</mark>" in page
    assert "1 条结果" in page


def test_search_is_served_from_postgresql_when_the_state_is_there(tmp_path, site, pg_url):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1, title="台湾选举"))), "--id", "voa", "--title", "V")
    with (archive / "newsmirror.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[store]\nurl = "{pg_url}"\n')
    newsmirror("--archive", archive, "migrate")
    newsmirror("--archive", archive, "run")
    client = TestClient(create_app(Archive(archive), store_url=pg_url))
    assert [h["number"] for h in client.get("/api/search", params={"q": "臺灣"}).json()] == [1048574]
    assert client.get("/api/search", params={"q": "："}).status_code == 400


def test_a_query_without_a_word_is_answered_with_the_reason(tmp_path, site):
    client = reader(tmp_path, site)
    answer = client.get("/api/search", params={"q": "："})  # every article with a colon matched it
    assert answer.status_code == 400 and answer.json() == {"error": "nothing to search for in '：'"}
    page = client.get("/search", params={"q": ":"}).text
    assert "nothing to search for in &#x27;:&#x27;" in page and "<li>" not in page
    assert [h["number"] for h in client.get("/api/search", params={"q": "选举："}).json()] == [1048574]


def test_every_link_the_site_writes_answers(tmp_path, site):
    """The site links the archive's own files (`../articles/<id>/<n>.md`, `../feeds/<id>.xml`...):
    under serve they answer as from `file://`, with their own content types."""
    client = reader(tmp_path, site)
    found: dict[str, tuple[int, str]] = {}
    for page in ("index.html", "feeds/voa/index.html", "articles/voa/1048573.html", "README.md", "lists/美国之音.md"):
        text = client.get(f"/{page}").text
        targets = [html.unescape(t) for t in re.findall(r'href="([^"]*)"', text)]
        targets += re.findall(r"\]\(([^)\s]+)\)", text)  # Markdown links: README and lists
        for target in targets:
            url = urljoin(f"http://testserver/{page}", target)
            if urlsplit(url).netloc == "testserver" and url not in found:
                response = client.get(url)
                found[url] = (response.status_code, response.headers["content-type"])
    assert [url for url, (status, _) in found.items() if status != 200] == []
    types = {urlsplit(url).path.rsplit(".", 1)[-1]: kind for url, (_, kind) in found.items()}
    assert types["md"] == "text/markdown; charset=utf-8" and types["xml"] == "application/rss+xml; charset=utf-8"
    assert types["atom"] == "application/atom+xml; charset=utf-8" and types["json"] == "application/feed+json; charset=utf-8"
    assert {"md", "html", "css", "svg", "xml"} <= types.keys() and len(found) >= 15


def test_nothing_outside_the_archive_is_served(tmp_path, site):
    client = reader(tmp_path, site)
    archive = tmp_path / "m"
    (archive / ".git").mkdir()
    (archive / ".git/config").write_text("[remote]\n")
    (archive / "notes.txt").write_text("private")
    (archive / "articles/voa/out.md").symlink_to(archive / "newsmirror.toml")  # inside the folder, yet not published
    (archive / "lists/passwd.md").symlink_to("/etc/passwd")
    for path in ("/../newsmirror.toml", "/%2e%2e/newsmirror.toml", "/../.newsmirror/archive.db", "/newsmirror.toml",
                 "/.newsmirror/archive.db", "/.newsmirror/lock", "/.git/config", "/.gitignore", "/notes.txt",
                 "/articles/voa/out.md", "/lists/passwd.md", "/articles/voa/.identity.jsonl", "/articles/../newsmirror.toml",
                 "/site/../newsmirror.toml", "/articles/voa/%2e%2e/%2e%2e/newsmirror.toml"):
        assert client.get(path).status_code == 404, path
    published = client.get("/articles/voa/1048573.md")
    assert published.status_code == 200 and published.headers["content-security-policy"] == "script-src 'none'"
    assert "content-security-policy" not in client.get("/search.html").headers  # the site's search runs its script
    assert client.head("/articles/voa/1048573.md").status_code == 200
    assert client.post("/articles/voa/1048573.md").status_code == 405
    assert client.get("/search", params={"q": "<script>"}).text.count("<script>") == 0


@pytest.mark.parametrize(("rel", "served"), [
    ("site/index.html", True), ("README.md", True), ("articles/voa/1048574.md", True), ("lists/美国之音.md", True),
    ("feeds/all.json", True), ("media/ab/abcd.svg", True), ("zh-Hant/articles/voa/1048574.md", True),
    ("newsmirror.toml", False), (".newsmirror/archive.db", False), (".git/config", False), (".github/workflows", False),
    ("articles/voa/.identity.jsonl", False), ("../etc/passwd", False), (".", False), ("zh-Hant", False),
    ("zh-Hant/newsmirror.toml", False), ("notes/private.md", False)])
def test_what_serve_may_answer_with(rel, served):
    """Paths relative to the archive, symbolic links resolved: the site and the published files."""
    assert readable(PurePath(rel)) is served


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_the_reader_on_the_guarded_server(tmp_path, site, monkeypatch):
    from newsmirror.web import server

    started = []
    monkeypatch.setattr(server, "serve", lambda app, sock: started.append((app, sock.getsockname())))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1))), "--id", "voa", "--title", "美国之音")
    port = free_port()
    result = newsmirror("--archive", archive, "serve", "--host", "0.0.0.0", "--port", str(port))
    [(app, address)] = started
    assert address == ("0.0.0.0", port) and f"at http://0.0.0.0:{port}/" in result.out
    assert "美国之音" in TestClient(app).get("/").text


def test_a_port_in_use_is_said_before_anything_else(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1))), "--id", "voa", "--title", "美国之音")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = newsmirror("--archive", archive, "serve", "--port", str(port))
    assert result.code == 1 and result.out == "" and not (archive / "site").exists()
    assert re.fullmatch(rf"newsmirror: port {port} is in use \(try --port \d+\)\n", result.err), result.err
    suggested = int(re.search(r"--port (\d+)", result.err)[1])
    with socket.create_server(("127.0.0.1", suggested)):  # it was free
        pass


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_serve_shows_what_a_pass_archived_while_it_serves(tmp_path, site):
    """A pass by another process (here `run`) is on the site, and in its search, within seconds."""
    archive = tmp_path / "m"
    feed = site.add("/f.xml", rss(item(1, title="拉法过境点")))
    newsmirror("--archive", archive, "add", feed, "--id", "voa", "--title", "美国之音")
    newsmirror("--archive", archive, "run")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "newsmirror", "--archive", str(archive), "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert "Reading" in proc.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        assert "拉法过境点" in fetch(f"{base}/feeds/voa/index.html")[1]
        site.add("/f.xml", rss(item(1, title="拉法过境点"), item(2, title="台湾选举")))
        assert newsmirror("--archive", archive, "run").code == 0
        deadline = time.monotonic() + 30
        while "台湾选举" not in fetch(f"{base}/feeds/voa/index.html")[1]:
            assert time.monotonic() < deadline and proc.poll() is None, "the site was not rebuilt after the pass"
            time.sleep(0.2)
        status, page = fetch(f"{base}/articles/voa/1048573.html")
        assert status == 200 and "台湾选举" in page
        status, found = fetch(f"{base}/api/search?q=%E9%80%89%E4%B8%BE")  # 选举: search and pages agree
        assert status == 200 and [h["page"] for h in json.loads(found)] == ["articles/voa/1048573.html"]
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def test_search_never_hands_out_a_script_link(tmp_path, site):
    """An archive from before links were checked may hold one: the reader gives no link instead."""
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1, title="拉法过境点"))), "--id", "voa")
    store = Store(Archive(archive).state_dir)
    try:
        store.add_entries([{
            "feed_id": "voa", "number": 1, "guid": "old", "link": " JaVaScRiPt:alert(1)", "canonical": None,
            "title": "台湾选举", "published": 1715117943000, "first_seen": 1715117943000, "body": "<p>台湾举行地方选举。</p>",
            "source_hash": "", "from_page": 0, "partial": 0, "page_attempts": 0, "removed_at": None, "feed_hash": None,
            "revised_at": None, "checked_at": None}])
    finally:
        store.close()
    newsmirror("--archive", archive, "run")
    client = TestClient(create_app(Archive(archive)))
    assert [(h["title"], h["link"]) for h in client.get("/api/search", params={"q": "选举"}).json()] == [("台湾选举", "")]
    assert client.get("/api/search", params={"q": "拉法"}).json()[0]["link"] == f"{site.base}/a/1.html"


def test_search_results_show_their_day_in_the_display_zone(tmp_path, site):
    """26 hours apart, Kiritimati (UTC+14) and Baker Island (UTC-12) never share a day."""
    reader(tmp_path, site)
    days = []
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        page = TestClient(create_app(Archive(tmp_path / "m"), ZoneInfo(zone))).get("/search", params={"q": "选举"}).text
        days += re.findall(r"voa · (\d{4}-\d\d-\d\d)", page)
    assert len(days) == 2 and days[0] != days[1]
