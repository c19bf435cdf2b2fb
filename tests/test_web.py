"""`newsmirror serve`: the site and server-side search, through Starlette's test client."""

from __future__ import annotations

from starlette.testclient import TestClient
from support import item, newsmirror, rss

from newsmirror.archive import Archive
from newsmirror.store import Store
from newsmirror.web import create_app


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


def test_a_query_without_a_word_is_answered_with_the_reason(tmp_path, site):
    client = reader(tmp_path, site)
    answer = client.get("/api/search", params={"q": "："})  # every article with a colon matched it
    assert answer.status_code == 400 and answer.json() == {"error": "nothing to search for in '：'"}
    page = client.get("/search", params={"q": ":"}).text
    assert "nothing to search for in &#x27;:&#x27;" in page and "<li>" not in page
    assert [h["number"] for h in client.get("/api/search", params={"q": "选举："}).json()] == [1048574]


def test_nothing_outside_the_site_is_served(tmp_path, site):
    client = reader(tmp_path, site)
    for path in ("/../newsmirror.toml", "/%2e%2e/newsmirror.toml", "/../.newsmirror/archive.db"):
        assert client.get(path).status_code == 404
    assert client.get("/search", params={"q": "<script>"}).text.count("<script>") == 0


def test_serve_runs_the_reader_on_the_guarded_server(tmp_path, site, monkeypatch):
    from newsmirror.web import server

    started = []
    monkeypatch.setattr(server, "serve", lambda app, host, port: started.append((app, host, port)))
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1))), "--id", "voa", "--title", "美国之音")
    result = newsmirror("--archive", archive, "serve", "--host", "0.0.0.0", "--port", "8123")
    [(app, host, port)] = started
    assert (host, port) == ("0.0.0.0", 8123) and "at http://0.0.0.0:8123/" in result.out
    assert "美国之音" in TestClient(app).get("/").text


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
