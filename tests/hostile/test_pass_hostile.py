"""A real pass (`newsmirror --archive DIR run`, a subprocess) with a hostile feed beside a healthy one.

Each case checks: exit status 0 (a pass with a failed feed still completes); the healthy feed
archived (its articles and its list); the hostile feed's outcome (its line); the bounds: wall
time within twice the per-feed budget ([fetch] timeout + [limits] work_seconds, set short
here), the peak memory of the whole process tree (the pass and its workers) under 400 MB,
nothing written outside the archive folder (the folder around it, HOME and TMPDIR are the
test's own and are compared before and after), no worker left running; and that the next
`run` starts at once and completes. The figures are printed (`pytest -s` shows them).
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import html
import json
import os
import re
import struct
import threading
import time
import zlib
from pathlib import Path

import brotli
import pytest
from hostile_support import MiB, Watched, alive, environment, listing, query, state_numbers, watch
from lxml import etree
from lxml import html as lxml_html
from support import Site, item, rss

from newsmirror.parse import ENTITY_EXPANSION_LIMIT
from newsmirror.process import cut_mark
from newsmirror.render.markdown import read_article

TIMEOUT = 5.0  # [fetch] timeout
WORK = 4.0  # [limits] work_seconds
# Peak memory of the whole process tree, as PSS: RSS counts each page a forked worker shares with
# the pass once per process (RSS sums run 1.3 to 2 times the PSS sums here; both are printed).
MEMORY = 400 * MiB
T0 = 1_700_000_000  # dates of generated items: T0 + i minutes


def date(i: int) -> str:
    return email.utils.formatdate(T0 + i * 60, usegmt=True)


class Mirror:
    """A mirror folder `<tmp>/m` with a healthy feed; `run` runs `newsmirror` on it as a user would."""

    def __init__(self, tmp_path: Path, site: Site, timeout: float = TIMEOUT, work: float = WORK, settings: str = ""):
        self.tmp = tmp_path
        self.root = tmp_path / "m"
        self.root.mkdir()
        self.site = site
        self.timeout, self.work = timeout, work
        self.env = environment(tmp_path / "env")
        self.head = f"{settings}\n[fetch]\ntimeout = {timeout}\n[limits]\nwork_seconds = {work}\n"
        self.feeds: list[str] = []
        healthy = site.add("/healthy.xml", rss(*(item(i, date(i)) for i in (1, 2, 3)), title="健康"))
        self.feed("healthy", healthy, title="健康")

    @property
    def budget(self) -> float:
        """What one feed may take in a pass: its fetch, then its CPU work."""
        return self.timeout + self.work

    def feed(self, feed_id: str, url: str, **options: str) -> None:
        lines = [f'id = "{feed_id}"', f'url = "{url}"', *(f"{k} = {json.dumps(v)}" for k, v in options.items())]
        self.feeds.append("[[feeds]]\n" + "\n".join(lines) + "\n")
        self.write()

    def write(self) -> None:
        (self.root / "newsmirror.toml").write_text(self.head + "\n".join(self.feeds), encoding="utf-8")

    def run(self, *args: str, timeout: float = 120) -> Watched:
        """`newsmirror --archive m ARGS` from the folder around it, which must not change."""
        before = listing(self.tmp, skip=self.root)
        watched = watch(self.root, *args, env=self.env, timeout=timeout, cwd=self.tmp)
        assert listing(self.tmp, skip=self.root) == before, "written outside the archive folder"
        assert "Traceback" not in watched.err, watched.err
        return watched

    def articles(self, feed_id: str) -> dict[int, tuple[int, str, str, str]]:
        """number -> (T, title, link, body) of every article file of the feed (each house format)."""
        found = {}
        for path in (self.root / "articles" / feed_id).glob("*.md"):
            text = path.read_text(encoding="utf-8")
            assert text.count("\n") == 5 and text.endswith("\n"), path  # the body on one line (maybe empty)
            parsed = read_article(text)
            assert parsed is not None, path
            found[int(path.stem)] = parsed
        return found

    def outputs(self) -> list[Path]:
        """Every file a pass writes for readers (articles, lists, README, feeds out, site)."""
        return [p for p in self.root.rglob("*") if p.is_file() and ".newsmirror" not in p.parts
                and p.name not in ("newsmirror.toml", ".gitignore")]


def passed(mirror: Mirror, watched: Watched, case: str, budget: float | None = None, then: bool = True) -> None:
    """The pass completed within its bounds with the healthy feed archived; the next one starts at
    once (unless `then` is False: the test runs the next passes itself)."""
    print(f"\n{case}: {watched.figures()}")
    assert watched.code == 0, watched.err
    assert watched.line("healthy") == "healthy: 3 new"
    healthy = mirror.articles("healthy")
    assert sorted(healthy) == [1048572, 1048573, 1048574]
    assert [healthy[n][1] for n in sorted(healthy, reverse=True)] == ["文章1", "文章2", "文章3"]
    listed = (mirror.root / "lists" / "健康.md").read_text(encoding="utf-8")
    assert listed.count("/articles/healthy/") == 3
    assert watched.seconds < 2 * (budget or mirror.budget), watched.figures()
    assert watched.peak_pss < MEMORY, watched.figures()
    assert not alive(watched.pids), "a worker outlived the pass"
    if not then:
        return
    again = mirror.run("run")
    print(f"{case}, next run: {again.figures()}")
    assert again.code == 0 and "in use" not in again.err, again.err
    assert again.seconds < mirror.budget, again.figures()
    assert "healthy: unchanged" in again.out


@pytest.fixture
def mirror(tmp_path, site):
    return Mirror(tmp_path, site)


# --- text passes that were quadratic -------------------------------------------------------

QUADRATIC = {
    "a-x-40k": lambda: rss(item(1, body="<a x " * (40_000 // 5))),
    "a-x-1m": lambda: rss(item(1, body="<a x " * (MiB // 5))),
    "script-open": lambda: rss(item(1, body="<script " * 16_000)),
    "title-spaces": lambda: rss(item(1, title="a\nx" + " " * 40_000 + "y")),
    "body-spaces": lambda: rss(item(1, body="<p>第一句话" + " " * 40_000 + "\n第二句话。</p>" + "<p>这是一个完整的句子。</p>" * 6)),
    "nested-div": lambda: rss(item(1, body="<div>" * 100_000 + "深处的文字")),
}


@pytest.mark.parametrize("case", QUADRATIC)
def test_quadratic_shaped_input_is_archived_in_linear_time(mirror, site, case):
    mirror.feed("hostile", site.add("/hostile.xml", QUADRATIC[case]()))
    watched = mirror.run("run")
    assert watched.line("hostile") == "hostile: 1 new"
    ((_, title, link, body),) = mirror.articles("hostile").values()
    assert link == site.url("/a/1.html")
    if case == "title-spaces":
        assert title.startswith("a") and title.endswith("y") and "\n" not in title
    if case == "body-spaces":
        assert "第一句话 第二句话" in body
    if case == "nested-div":
        assert "深处的文字" in body and body.count("<div") == body.count("</div>") < 1000
    passed(mirror, watched, case)


# --- a pure-CPU hog: the deadline ----------------------------------------------------------------

def slow_feed(items: int) -> str:
    """Ill-formed XML (a stray <br>), which only feedparser's lenient reader takes: it reads some
    200 KB a second, so 40,000 items (4.4 MB) would take it about 20 s."""
    body = "".join(f"<item><title>t{i}</title><link>__BASE__/h/{i}</link><description><b>x<i>y</i></b> <br> z"
                   "</description></item>" for i in range(items))
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>hog</title><br>{body}</channel></rss>'


def test_a_feed_that_takes_too_long_is_killed_at_its_deadline(tmp_path, site):
    mirror = Mirror(tmp_path, site, work=2)
    document = slow_feed(40_000)
    assert len(document) > 4 * MiB
    mirror.feed("hog", site.add("/hog.xml", document))
    watched = mirror.run("run")
    assert watched.line("hog") == "hog: failed: took longer than 2 s to parse, extract and clean"
    assert watched.seconds > 2
    assert watched.pids, "no worker was started"
    passed(mirror, watched, "cpu hog")
    assert "hog: deferred:" in mirror.run("run").out  # it failed: it backs off


def test_jobs_that_waited_for_a_worker_past_their_feeds_deadline_cost_no_worker():
    """Five jobs of one feed on one worker, a budget that lasts for two: the one running at the
    deadline is killed with its worker; the ones still waiting fail without being sent to a worker.
    (Each was sent to a new worker, which was killed at once: a fork and a kill per page left.)"""
    import asyncio

    from newsmirror.workers import Budget, OverBudget, Workers

    async def five() -> list[object]:
        budget = Budget(0.5)
        return await asyncio.gather(*(workers.run(time.sleep, 0.3, budget=budget) for _ in range(5)),
                                    return_exceptions=True)

    workers = Workers(processes=1)
    try:
        outcomes = asyncio.run(five())
    finally:
        workers.close()
    assert outcomes[0] is None and all(isinstance(o, OverBudget) for o in outcomes[2:]), outcomes
    assert workers.started <= 2, workers.started  # the first, and the one that replaced the killed one


# --- entity expansion --------------------------------------------------------------------------

def entity_document(size: int) -> str:
    """One 10 KB literal entity, referenced until the document is `size` bytes (100 MB expanded at 40 KB)."""
    head = ('<?xml version="1.0" encoding="utf-8"?><!DOCTYPE rss [<!ENTITY big "' + "x" * 10_000 + '">]>'
            '<rss version="2.0"><channel><title>实体</title><item><title>实体</title><link>__BASE__/e.html</link>'
            "<guid>e1</guid><pubDate>" + date(1) + "</pubDate><description>")
    tail = "</description></item></channel></rss>"
    return head + "&big;" * ((size - len(head) - len(tail)) // 5) + tail


@pytest.mark.parametrize("size", [40_000, 400_000], ids=["40KB", "400KB"])
def test_entity_expansion_is_bounded(mirror, site, size):
    document = entity_document(size)
    mirror.feed("entities", site.add("/entities.xml", document))
    watched = mirror.run("run")
    assert watched.line("entities") == "entities: 1 new"
    article = next((mirror.root / "articles" / "entities").glob("*.md"))
    assert article.stat().st_size < len(document) + ENTITY_EXPANSION_LIMIT
    assert "x" * 10_000 not in article.read_text(encoding="utf-8")  # the references stayed references
    passed(mirror, watched, f"entities {size // 1000} KB")


# --- decompression -------------------------------------------------------------------------------

@functools.cache
def brotli_bomb(gib: int = 8) -> bytes:
    """`gib` GiB of zeros in about 7 KB: after a flush, every 16 MiB of zeros compresses to the same
    14 bytes, so one is compressed and repeated."""
    c = brotli.Compressor(quality=3, lgwin=24)
    zeros = b"\0" * (16 * MiB)
    first, repeated = c.process(zeros) + c.flush(), c.process(zeros) + c.flush()
    return first + repeated * (gib * 64 - 1) + c.finish()


@functools.cache
def gzip_gzip_bomb() -> bytes:
    """1 GiB of zeros as gzip (about 1 MB: each MiB after a full flush is the same deflate block), gzipped again."""
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = c.compress(b"\0" * MiB) + c.flush(zlib.Z_FULL_FLUSH)
    crc = functools.reduce(lambda crc, _: zlib.crc32(b"\0" * MiB, crc), range(1024), 0)
    inner = b"\x1f\x8b\x08\0\0\0\0\0\x02\xff" + block * 1024 + c.flush() + struct.pack("<II", crc, 0)
    return gzip.compress(inner, 9)


@pytest.mark.parametrize("encoding", ["br", "gzip, gzip"])
def test_a_decompression_bomb_fails_the_feed_at_the_size_limit(mirror, site, encoding):
    bomb = brotli_bomb() if encoding == "br" else gzip_gzip_bomb()
    assert len(bomb) < 8 * 1024
    mirror.feed("bomb", site.add("/bomb.xml", bomb, headers={"Content-Encoding": encoding}))
    watched = mirror.run("run")
    assert watched.line("bomb") == f"bomb: failed: too large: more than {16 * MiB:,} bytes"
    passed(mirror, watched, f"bomb {encoding}")


# --- the size of one article, and of one feed ---------------------------------------------------------

def test_a_5_mb_body_is_cut_at_a_block_boundary_and_marked(tmp_path, site):
    mirror = Mirror(tmp_path, site, work=10)  # cleaning 5 MB takes a second or two: not a hostile case
    paragraphs = [f"<p>第{i}段。这是一个完整的句子，用来把正文撑大。</p>" for i in range(5 * MiB // 78)]
    body = "".join(paragraphs)
    assert len(body.encode()) > 5_000_000
    mirror.feed("big", site.add("/big.xml", rss(item(1, date(1), body=body))))
    watched = mirror.run("run")
    assert watched.line("big") == "big: 1 new"
    path = next((mirror.root / "articles" / "big").glob("*.md"))
    assert 2 * MiB - 16 * 1024 < path.stat().st_size <= 2 * MiB + 1024
    ((_, _, _, stored),) = mirror.articles("big").values()
    mark = cut_mark(len(body.encode()))  # the size it had, cleaned (which kept it as it was)
    assert stored.endswith(mark)
    kept = stored[:-len(mark)]
    assert kept.endswith("</p>") and body.startswith(kept)  # whole paragraphs, from the first
    passed(mirror, watched, "5 MB body", budget=TIMEOUT + 10)


def test_items_over_max_items_wait_and_are_archived_oldest_first_even_when_the_feed_drops_them(tmp_path, site):
    mirror = Mirror(tmp_path, site)
    bodies = {i: f"<p>第{i}篇的正文。这是一个完整的句子。第二句话在这里。第三句话也在这里。</p>" * 3 for i in range(2510)}
    items = [item(i, date(i), body=bodies[i]) for i in range(2510)]
    url = site.add("/many.xml", rss(*reversed(items[:2500]), title="很多"), headers={"ETag": '"1"'})
    mirror.feed("many", url, full_text="never")
    first = mirror.run("run")
    assert first.line("many") == ("many: 1000 new (1,500 waiting for the next passes: over 1,000 new items or "
                                  "100 pages a pass)")
    assert len(mirror.articles("many")) == 1000
    passed(mirror, first, "2,500 items, pass 1", then=False)
    # The feed moves on before the waiting ones had their turn: it now carries ten new items only.
    site.add("/many.xml", rss(*reversed(items[2500:]), title="很多"), headers={"ETag": '"2"'})
    second = mirror.run("run")
    assert second.code == 0 and "in use" not in second.err
    assert second.line("many") == ("many: 1000 new (510 waiting for the next passes: over 1,000 new items or "
                                   "100 pages a pass)")
    print(f"2,500 items, pass 2: {second.figures()}")
    third = mirror.run("run")
    assert third.code == 0
    assert third.line("many") == "many: 510 new"
    print(f"2,500 items, pass 3: {third.figures()}")
    articles = mirror.articles("many")
    assert len(articles) == 2510 and state_numbers(mirror.root)["many"] == set(articles)
    by_title = {title: (n, body) for n, (_, title, _, body) in articles.items()}
    assert sorted(by_title) == sorted(f"文章{i}" for i in range(2510))  # each once
    for i in range(2510):
        number, body = by_title[f"文章{i}"]
        assert number == 1048574 - i  # oldest first: numbers follow the dates
        assert body == bodies[i]  # the feed's text, the dropped ones too
    assert query(mirror.root, "SELECT count(*) FROM waiting") == [(0,)]


def test_summary_only_items_fetch_at_most_max_pages_a_pass(tmp_path, site):
    """20,000 items, not 100,000: the pages a pass may fetch (max_pages, 100) are the bound under
    test, and 20,000 are already 200 passes' worth; 100,000 would take a 18 MB document (over the
    default max_feed_bytes) and some 12 s of parsing on the first pass for nothing more."""
    count, slow = 20_000, 40
    mirror = Mirror(tmp_path, site, work=30)  # parsing 20,000 items takes 2 to 4 s
    page = ("<html><head><title>页</title></head><body><article>"
            + "".join(f"<p>文章页的第{i}段。这是一个完整的句子，第二句话也在。</p>" for i in range(8))
            + "</article></body></html>")
    for i in range(count):
        site.add(f"/a/{i}.html", page.replace("<article>", f"<article><p>编号{i}。</p>"), content_type="text/html; charset=utf-8",
                 delay=3.0 if i == slow else 0.0)
    url = site.add("/summaries.xml", rss(*(item(i, date(i), body=f"摘要{i}") for i in reversed(range(count))),
                                         title="摘要"), headers={"ETag": '"1"'})
    mirror.feed("summaries", url)

    # While the slow page is being served (3 s), the entries whose pages are done are stored already.
    stored_meanwhile: list[int] = []
    done = threading.Event()

    def poll() -> None:
        asked = None
        while not done.is_set():
            if asked is None and site.hits[f"/a/{slow}.html"]:
                asked = time.monotonic()
            if asked is not None and time.monotonic() - asked < 2.5:  # its answer is not sent yet
                try:
                    stored_meanwhile.append(query(mirror.root, "SELECT count(*) FROM entries WHERE feed_id = 'summaries'")[0][0])
                except Exception:  # noqa: BLE001  the database is being written: the next sample
                    pass
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    pages = []
    for n in (1, 2, 3):
        before = sum(v for k, v in site.hits.items() if k.startswith("/a/"))
        watched = mirror.run("run")
        assert watched.code == 0 and "in use" not in watched.err
        pages.append(sum(v for k, v in site.hits.items() if k.startswith("/a/")) - before)
        waiting = count - 100 * n
        assert watched.line("summaries") == (f"summaries: 100 new ({waiting:,} waiting for the next passes: "
                                             "over 1,000 new items or 100 pages a pass)")
        if n == 1:
            done.set()
            passed(mirror, watched, "20,000 summaries, pass 1", budget=TIMEOUT + 30, then=False)
        else:
            print(f"20,000 summaries, pass {n}: {watched.figures()}")
    assert pages == [100, 100, 100]
    # Of the 100, stored as each page was done, not all at the end (over 50 on an idle machine, 11 at load 11).
    assert max(stored_meanwhile) >= 10, stored_meanwhile
    rows = query(mirror.root, "SELECT number, guid, title, from_page, body FROM entries WHERE feed_id = 'summaries'")
    assert len(rows) == 300 and len({r[1] for r in rows}) == 300  # nothing twice
    # The oldest first, numbered in the order of their dates, each built from its own page.
    assert [r[2] for r in sorted(rows, key=lambda r: -r[0])] == [f"文章{i}" for i in range(300)]
    assert all(r[3] == 1 and f"编号{r[2][2:]}。" in r[4] for r in rows)
    assert set(mirror.articles("summaries")) == {r[0] for r in rows}


# --- one bad item ------------------------------------------------------------------------------------

def json_feed(items: object, title: str = "JSON 源") -> str:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}, ensure_ascii=False)


def json_item(i: int, title: str, body: str, **more: object) -> dict:
    return {"id": f"j{i}", "url": f"http://127.0.0.1:9/j/{i}.html", "title": title, "date_published": "2024-05-07T10:00:00Z",
            "content_html": body, **more}


LONG = "这是一个完整的句子。" * 30


def test_control_characters_and_wrong_types_cost_only_what_they_spoil(mirror, site):
    mirror.feed("json-nul", site.add("/nul.json", json_feed([json_item(1, "标题\x00零\x01一 控制符甲",
                                                                          f"<p>正文\x00\x01控制符甲{LONG}</p>")]),
                                     content_type="application/feed+json"))
    xml = rss(item(1, title="标题\x00零\x01一 控制符乙", body=f"<p>正文\x00\x01控制符乙{LONG}</p>"), title="XML 源")
    xml = xml.replace("<![CDATA[", "").replace("]]>", "").replace("<p>", "&lt;p&gt;").replace("</p>", "&lt;/p&gt;")
    mirror.feed("xml-nul", site.add("/nul.xml", xml.encode("utf-8")))
    mirror.feed("json-items", site.add("/items.json", '{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": 5}',
                                       content_type="application/feed+json"))
    mirror.feed("json-attachments", site.add("/attachments.json", json_feed([
        json_item(1, "附件错了", f"<p>附件{LONG}</p>", attachments=5), json_item(2, "好的", f"<p>好的{LONG}</p>")]),
        content_type="application/feed+json"))
    watched = mirror.run("run")
    assert watched.line("json-nul") == "json-nul: 1 new"
    assert watched.line("xml-nul").startswith("xml-nul: 1 new (<unknown>:1:")  # what the lenient reader recovered from
    assert "not well-formed" in watched.line("xml-nul")
    assert watched.line("json-items") == "json-items: unchanged (skipped: items is not a list)"
    assert watched.line("json-attachments") == "json-attachments: 2 new (skipped: attachments is not a list)"
    for feed_id, mark in (("json-nul", "甲"), ("xml-nul", "乙")):
        ((_, title, _, body),) = mirror.articles(feed_id).values()
        assert title == f"标题零一 控制符{mark}" and f"正文控制符{mark}" in body
    assert sorted(t for _, t, _, _ in mirror.articles("json-attachments").values()) == ["好的", "附件错了"]
    for path in (mirror.root / "feeds").iterdir():
        if path.suffix in (".xml", ".atom"):
            etree.fromstring(path.read_bytes())  # well-formed: no forbidden character reached it
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    assert (mirror.root / "feeds" / "all.xml").exists()
    for mark in ("甲", "乙"):
        found = watch(mirror.root, "search", f"控制符{mark}", env=mirror.env)
        assert found.code == 0 and "1 result" in found.out, found.out + found.err
    passed(mirror, watched, "control characters, wrong types")


# --- script links --------------------------------------------------------------------------------------

SCRIPT_LINKS = ["javascript:alert(1)", "JaVaScRiPt:alert(2)", "  javascript:alert(3)", "\tjavascript:alert(4)",
                "java\tscript:alert(5)", "vbscript:msgbox(6)", " VBScript:msgbox(7)", "data:text/html,<script>alert(8)</script>",
                "DATA:text/html;base64,PHNjcmlwdD5hbGVydCg5KTwvc2NyaXB0Pg=="]
_SCHEME = re.compile(r"(?:java|vb)\s*script\s*:|data\s*:", re.IGNORECASE)


def test_script_links_are_written_nowhere(tmp_path, site):
    mirror = Mirror(tmp_path, site, settings="site = true")
    items = [item(i, date(i), link=html.escape(link), guid=f"s{i}", title=f"脚本链接{i}") for i, link in enumerate(SCRIPT_LINKS)]
    mirror.feed("scripts", site.add("/scripts.xml", rss(*items, title="脚本")))
    watched = mirror.run("run")
    assert watched.line("scripts") == f"scripts: {len(SCRIPT_LINKS)} new"
    articles = mirror.articles("scripts")
    assert len(articles) == len(SCRIPT_LINKS) and all(link == "" for _, _, link, _ in articles.values())
    outputs = mirror.outputs()
    assert any(p.suffix == ".html" for p in outputs) and any(p.name == "all.xml" for p in outputs)
    for path in outputs:
        text = path.read_text(encoding="utf-8")
        assert not _SCHEME.search(html.unescape(text)), (path, _SCHEME.search(html.unescape(text)))
        if path.suffix == ".html":
            for element in lxml_html.fromstring(text).iter():
                for name in ("href", "src", "action", "formaction"):
                    value = (element.get(name) or "").strip().lower()
                    assert not value or value.startswith(("http://", "https://", "/", "#", ".", "?")) \
                        or ":" not in value.split("/")[0], (path, name, value)
    passed(mirror, watched, "script links")


def test_entries_taken_by_a_pass_that_overran_wait_for_the_next_one(tmp_path, site):
    """A summary-only feed whose pages take longer to extract than its budget: the feed fails,
    and the entries the pass had taken (those not stored yet) wait for the next pass, which
    completes them, with the feed's text, even though the feed no longer carries them by then.
    (They were lost: neither stored nor waiting, and gone from the feed.)"""
    count = 100
    mirror = Mirror(tmp_path, site, work=0.5)
    page = "<html><body><article>" + "<p>文章页上的一个完整的句子。还有第二句话。</p>" * 8 + "</article></body></html>"
    for i in range(count + 10):
        site.add(f"/a/{i}.html", page, content_type="text/html; charset=utf-8")
    url = site.add("/summaries.xml", rss(*(item(i, date(i), body=f"摘要{i}") for i in reversed(range(count))), title="摘要"))
    mirror.feed("summaries", url)
    first = mirror.run("run")
    assert first.line("summaries") == "summaries: failed: took longer than 0.5 s to parse, extract and clean"
    assert any(k.startswith("/a/") for k in site.hits)  # the entries were taken: their pages were asked for
    # Only the jobs running at the deadline cost their workers; the others, which waited for a
    # worker meanwhile, are not sent to one (each was: a worker started, then killed at once).
    assert len(first.pids) <= 2 * (os.cpu_count() or 1), first.figures()
    passed(mirror, first, "overrun while building pages", then=False)
    # An hour later the feed carries ten newer items only; the mirror's budget is back to normal.
    site.add("/summaries.xml", rss(*(item(i, date(i)) for i in reversed(range(count, count + 10))), title="摘要"))
    mirror.head = mirror.head.replace("work_seconds = 0.5", "work_seconds = 30")
    mirror.write()
    second = mirror.run("run", "--force")  # the failed feed backs off: asked for all the same
    assert second.code == 0 and "in use" not in second.err
    articles = mirror.articles("summaries")
    titles = sorted(t for _, t, _, _ in articles.values())
    assert titles == sorted(f"文章{i}" for i in range(count + 10)), second.out  # each once, none lost
    by_title = {t: body for _, t, _, body in articles.values()}
    assert all(f"摘要{i}" in by_title[f"文章{i}"] or "文章页上" in by_title[f"文章{i}"] for i in range(count))
    assert query(mirror.root, "SELECT count(*) FROM waiting") == [(0,)]


def test_items_over_max_pages_wait_for_their_pages_and_new_items_behind_waiting_ones_get_theirs(tmp_path, site):
    """150 summary-only items, 100 pages a pass: 100 are built from their pages, 50 wait for the
    next pass, which builds them from their pages too; so does an item the feed adds meanwhile,
    queued behind them. (The 50, and any new item queued behind waiting ones, were taken for
    items the feed no longer carried: archived at once with their summary, never from their page.)"""
    mirror = Mirror(tmp_path, site, work=30)
    page = "<html><body><article>{mark}" + "<p>文章页上的一个完整的句子。还有第二句话。</p>" * 8 + "</article></body></html>"
    for i in range(151):
        site.add(f"/a/{i}.html", page.format(mark=f"<p>编号{i}。</p>"), content_type="text/html; charset=utf-8")
    url = site.add("/summaries.xml", rss(*(item(i, date(i), body=f"摘要{i}") for i in reversed(range(150))), title="摘要"))
    mirror.feed("summaries", url)
    first = mirror.run("run")
    assert first.line("summaries") == ("summaries: 100 new (50 waiting for the next passes: over 1,000 new items or "
                                       "100 pages a pass)")
    passed(mirror, first, "150 summaries, pass 1", budget=TIMEOUT + 30, then=False)
    site.add("/summaries.xml", rss(*(item(i, date(i), body=f"摘要{i}") for i in reversed(range(151))), title="摘要"))
    second = mirror.run("run")
    assert second.code == 0 and second.line("summaries") == "summaries: 51 new"
    articles = mirror.articles("summaries")
    assert sorted(t for _, t, _, _ in articles.values()) == sorted(f"文章{i}" for i in range(151))
    assert all(f"编号{title[2:]}。" in body for _, title, _, body in articles.values())  # each from its page
