"""The static site under DIR/site/: the newest headlines, feeds, pages by day, articles with their history, search.

The site is read where no server can be trusted to run: from `file://`, from any sub-path of a
static host, from a fork under another name. So every link is relative (but an article's
link to its source, written only when it is http(s): `safe_link`), every asset is local, and
search runs in the browser over an index shipped as `<script>` files (Chromium refuses
`fetch()` of local files). Lists and search shards are cut into chunks counted from the oldest
article, so that a new article changes the newest chunk only and a git push stays small.

Only the main variant is built: with `editions` set, the site shows what `articles/` shows.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import sys
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import jinja2

from .. import archive as files
from .. import editions, history, tombstones
from ..archive import Archive
from ..config import Config
from ..dates import display
from ..htmltokens import is_text, split
from ..images import relocate
from ..store import EntryRow, Listed, Store
from .links import safe_link
from .markdown import NOT_MIRRORED, one_line

SITE_DIR = "site"
MANIFEST = "site.json"  # in the state directory: what each page was rendered from
PER_PAGE = 50
LATEST = 50  # headlines across feeds on the home page
SHARD_SIZE = 200  # articles per search shard: ~0.5 MB of Chinese text
WRITERS = 4  # threads writing files
DIFF_CONTEXT = 40  # characters kept at each end of an unchanged line in a diff
SITE_TITLE = "新闻镜像"
LANGS = {"zh-Hans": "zh-Hans", "zh-Hant": "zh-Hant", "zh-TW": "zh-Hant-TW", "zh-HK": "zh-Hant-HK"}  # variants written
SITE_LANG = "zh-Hans"  # the site's own words (来源, 按日期, 搜索) are Simplified
ASSETS = ("site.css", "search.js", "icon.svg")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Feed:
    id: str
    title: str
    variant: str
    stopped: str = ""  # NOT_MIRRORED, converted, for a feed removed from the configuration

    def lang_of(self, text: str, default: str) -> str:
        """The `lang` of this feed's `text`: its variant's when it writes one, else read from the text."""
        return LANGS.get(self.variant) or editions.lang_of(text, default)

    def convert(self, text: str) -> str:
        return editions.converter(self.variant)(text)


@dataclass(frozen=True, slots=True)
class _Link:
    """One line of a list: an article as a feed page, a day page or the search shows it."""

    href: str  # from the site's root
    title: str
    published: int
    removed: bool
    feed: str  # the title of the feed that archived it
    lang: str
    edits: int  # revisions since it was first archived
    redacted: bool = False  # removed on request (tombstones.py): no title, no link


@dataclass(frozen=True, slots=True)
class _Change:
    """One version after the first, with what changed since the one before."""

    number: int
    seen_at: int
    title: str
    segments: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _View:
    """A feed as a build after a change reads it (_Build._views)."""

    feed: _Feed
    rows: list[Listed]  # its list, newest first: as far as the oldest page to build, and one more (its neighbour)
    count: int  # articles its list shows
    shard: int  # the first of its search shards to build
    page: int  # the first of its list pages to build
    whole: bool  # read whole: it shares another feed's articles or lists redacted ones (their lines are not counted)
    newest: int | None  # the newest date among them
    lang: str
    changed: bool  # its pages may show a change


class _Pages:
    """The site's files, each rendered only when what it shows changed since the last build.

    Rendering every article page on every pass would cost minutes at 100,000 articles; a
    digest of each page's inputs, remembered in the state directory, costs a hash. The files
    stay the truth: a missing file is rendered again, and archive.write still leaves a file
    alone when the output is identical (a lost manifest only costs time).
    """

    def __init__(self, root: Path, manifest: Path, fingerprint: bytes):
        self.root = root
        self.manifest = manifest
        self.fingerprint = fingerprint
        try:
            saved = json.loads(manifest.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            saved = {}
        # What the last build knew (_State), beside the pages' digests; none in a manifest of before
        # migration 15 (its digests only), nor when this renderer or its templates changed since.
        self.before: dict[str, str] = saved.get("pages", saved)
        self.state: dict[str, Any] = saved if saved.get("fingerprint") == fingerprint.hex() else {}
        self.every = True  # pages not built this time are gone (a whole build); else they stay as they are
        self.now: dict[str, str] = {}
        # Creating a file costs up to a millisecond on some disks, rendering it a fraction of
        # that: threads write (the GIL is free during the system calls) while the next page renders.
        self.writers = ThreadPoolExecutor(WRITERS)
        self.writes: deque[Future[bool]] = deque()
        self.changed = 0

    def emit(self, rel: str, inputs: Iterable[object], render: Callable[[], str]) -> None:
        """Write `rel` from `render()` unless `inputs` (plain data, stable repr) are as last time.

        `render` is called before emit returns (callers may close over loop variables)."""
        # Strings (bodies) are hashed as UTF-8, not through repr(), which costs twice as much on CJK text.
        parts = [p.encode("utf-8", "surrogatepass") if isinstance(p, str) else repr(p).encode() for p in inputs]
        digest = hashlib.blake2b(self.fingerprint, digest_size=16)
        digest.update(repr([len(p) for p in parts]).encode())
        digest.update(b"".join(parts))
        self.now[rel] = digest.hexdigest()
        path = self.root / rel
        if self.before.get(rel) == self.now[rel] and path.exists():
            return
        self.writes.append(self.writers.submit(files.write, path, render()))
        while len(self.writes) > 4 * WRITERS:  # bounded: rendered pages wait in memory
            self.changed += self.writes.popleft().result()

    def finish(self, state: dict[str, Any]) -> int:
        """Remove the pages no longer built (e.g. renumbered by reindex) after a whole build, and
        remember `state`; how many files changed."""
        self.writers.shutdown()
        self.changed += sum(w.result() for w in self.writes)
        for rel in (self.before.keys() - self.now.keys()) if self.every else ():
            try:
                (self.root / rel).unlink()
                self.changed += 1
            except FileNotFoundError:
                pass
        pages = self.now if self.every else {**self.before, **self.now}
        saved = {**state, "fingerprint": self.fingerprint.hex(), "pages": pages}
        files.write(self.manifest, json.dumps(saved, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
        return self.changed

    def close(self) -> None:
        """Stop the writers (after a failure: pages not yet written are left for the next build)."""
        self.writers.shutdown(cancel_futures=True)


def build(archive: Archive, config: Config, store: Store, full: bool = False) -> int:
    """Write the site under DIR/site/; returns how many files changed (written or removed).

    After a first build, only what changed since is read (`full`: every page, as a first build)."""
    site = _Build(archive, config, store)
    try:
        return site.run(full)
    finally:
        site.pages.close()


class _Build:
    def __init__(self, archive: Archive, config: Config, store: Store):
        self.archive = archive
        self.config = config
        self.store = store
        self.templates = resources.files("newsmirror") / "templates"
        self.env = jinja2.Environment(loader=jinja2.PackageLoader("newsmirror", "templates"), autoescape=True,
                                      trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
        self.zone = config.display.zone
        self.env.filters["day"] = self._day
        self.env.filters["minute"] = lambda ms: display(ms, self.zone)
        self.env.globals["zone"] = config.display.timezone
        self.env.globals["mirrors"] = config.publish.mirrors  # the footer of every page
        self.pages = _Pages(archive.root / SITE_DIR, archive.state_dir / MANIFEST, self._fingerprint())
        self.lang = LANGS.get(config.variant, SITE_LANG)
        # Revisions are only ever added, so their count and last id say whether a history changed.
        self.revised: dict[int, tuple[int, int]] = store.revision_summary()
        self.tombstones = tombstones.read(archive.root)

    def _fingerprint(self) -> bytes:
        """What every page also depends on: this renderer, its templates and the mirrors in every
        footer (a change re-renders all)."""
        digest = hashlib.blake2b(Path(__file__).read_bytes() + self.config.display.timezone.encode()
                                 + repr(self.config.publish.mirrors).encode())
        for name in sorted(p.name for p in self.templates.iterdir() if p.is_file()):
            digest.update((self.templates / name).read_bytes())
        return digest.digest()

    def run(self, full: bool) -> int:
        feeds = self._feeds()
        state = self.pages.state
        mark = self.store.last_change()  # read first: no pass writes while the folder is held
        settings = repr((self.config.removed_marker, self.lang))
        if not full and state.get("settings") == settings:
            changed, deleted = self.store.changed_since(state["mark"])
            views = None if deleted else self._views(feeds, changed, state)
            if views is not None:
                self.pages.every = False
                return self.pages.finish({"mark": mark, "settings": settings, **self._update(feeds, views, changed, state)})
        return self.pages.finish({"mark": mark, "settings": settings, **self._whole(feeds)})

    def _whole(self, feeds: list[_Feed]) -> dict[str, Any]:
        """Every page, from every article (without their bodies); what the next build starts from."""
        titles = {f.id: f.title for f in feeds}
        days: dict[str, list[_Link]] = defaultdict(list)
        summaries: list[tuple[_Feed, int, int | None, str]] = []
        shards: dict[str, list[tuple[int, int, int]]] = {}
        latest: list[_Link] = []
        for feed in feeds:
            rows = self.store.listed(feed.id, sys.maxsize)
            lang = self._feed_lang(feed, rows)
            links = [self._link(r, feed, titles.get(r.feed_id, r.feed_id), lang) for r in rows]
            listed = self._with_redacted(feed, rows, links, lang)
            own = [r for r in rows if r.feed_id == feed.id]
            self._articles(feed, own, lang)
            shards[feed.id] = self._shards(feed, own)
            own_links = [link for row, link in zip(rows, links) if row.feed_id == feed.id]
            for row, link in zip(own, own_links):
                days[self._day(row.published)].append(link)
            # A feed's newest by date are among its newest by number (the order of archiving):
            # LATEST of each, not every article, make the home page's choice.
            latest += own_links[:LATEST]
            self._feed_pages(feed, listed, lang)
            summaries.append((feed, len(rows), max((r.published for r in rows), default=None), lang))
        counts = {day: len(links) for day, links in days.items()}
        self._days(counts, days)
        self._finish(feeds, summaries, latest, shards)
        return {"feeds": [repr((s[0], s[3])) for s in summaries], "shards": shards, "days": counts,
                "counts": {s[0].id: s[1] for s in summaries}}

    def _views(self, feeds: list[_Feed], changed: list[Listed], state: dict[str, Any]) -> list[_View] | None:
        """What each feed's pages need of it after these changes: its newest articles, as many as
        the pages that can change show (all of them when it shares another feed's, or when an older
        article changed); None when a whole build is needed (a feed added, removed, renamed, or
        written in another script: pages of every kind show it)."""
        views = []
        for feed in feeds:
            count, newest, shares = self.store.listed_summary(feed.id)
            whole = shares or bool(self.tombstones.of_feed(feed.id))
            mine = {r.number for r in changed if r.feed_id == feed.id}
            shard, page = (0, 0) if whole else _newest_chunks(count, state["counts"].get(feed.id, 0))
            start = 0 if whole else min(shard * SHARD_SIZE, page * PER_PAGE // SHARD_SIZE * SHARD_SIZE) if mine \
                else max(0, count - LATEST)
            rows = self.store.listed(feed.id, count - start + 1)
            if not mine <= {r.number for r in rows[:count - start - 1 if start else count]}:
                rows = self.store.listed(feed.id, sys.maxsize)  # an older article changed: the feed is read whole
            at = {r.number: count - 1 - i for i, r in enumerate(rows)}  # counted from the oldest
            for number in mine:  # and the pages that list a changed article
                shard = min(shard, max(1, count // SHARD_SIZE) - 1, at[number] // SHARD_SIZE)
                page = min(page, max(1, count // PER_PAGE) - 1, at[number] // PER_PAGE)
            views.append(_View(feed, rows, count, shard, page, whole, newest, self._feed_lang(feed, rows), bool(mine) or whole))
        if [repr((v.feed, v.lang)) for v in views] != state["feeds"]:
            return None
        return views

    def _update(self, feeds: list[_Feed], views: list[_View], changed: list[Listed], state: dict[str, Any]) -> dict[str, Any]:
        """The pages that show what changed: the changed articles and their neighbours, their feeds'
        newest list pages and search shards, their days, the home and search pages."""
        titles = {f.id: f.title for f in feeds}
        shards: dict[str, list[tuple[int, int, int]]] = {f: [(k, d, n) for k, d, n in v] for f, v in state["shards"].items()}
        latest: list[_Link] = []
        for view in views:
            feed, lang = view.feed, view.lang
            links = [self._link(r, feed, titles.get(r.feed_id, r.feed_id), lang) for r in view.rows]
            latest += [link for row, link in zip(view.rows, links) if row.feed_id == feed.id][:LATEST]
            if not view.changed:
                continue
            own = [r for r in view.rows if r.feed_id == feed.id]
            mine = {i for i, r in enumerate(own) if r.changed is not None and r.changed > state["mark"]}
            self._articles(feed, own, lang, {j for i in mine for j in (i - 1, i, i + 1) if 0 <= j < len(own)})
            older = [s for s in shards.get(feed.id, []) if s[0] < view.shard]
            shards[feed.id] = older + self._shards(feed, own[:view.count - view.shard * SHARD_SIZE], view.shard)
            if view.whole:
                self._feed_pages(feed, self._with_redacted(feed, view.rows, links, lang), lang)
            else:
                self._feed_pages(feed, links[:view.count - view.page * PER_PAGE], lang, view.page, max(1, view.count // PER_PAGE))
        counts: dict[str, int] = dict(state["days"])
        affected = {self._day(r.published) for r in changed}  # an article's date never changes: nor its day
        dated = {day: self._dated(day, feeds, {v.feed.id: v.lang for v in views}) for day in affected}
        counts.update({day: len(links) for day, links in dated.items()})
        order = sorted(counts, reverse=True)
        for i in [order.index(day) for day in affected if day not in state["days"]]:  # a new day: its neighbours link it
            for day in order[max(0, i - 1):i + 2]:
                dated.setdefault(day, self._dated(day, feeds, {v.feed.id: v.lang for v in views}))
        self._days(counts, dated)
        summaries = [(v.feed, v.count, v.newest, v.lang) for v in views]
        self._finish(feeds, summaries, latest, shards)
        return {"feeds": state["feeds"], "shards": shards, "days": counts, "counts": {v.feed.id: v.count for v in views}}

    def _dated(self, day: str, feeds: list[_Feed], langs: dict[str, str]) -> list[_Link]:
        """The links of a day page: the articles of that day, in the order a whole build lists them."""
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=self.zone)
        end = (start + timedelta(days=1, hours=3)).replace(hour=0)  # the next midnight, across a change of offset
        order = {f.id: i for i, f in enumerate(feeds)}
        by_id = {f.id: f for f in feeds}
        rows = [r for r in self.store.dated(int(start.timestamp() * 1000), int(end.timestamp() * 1000))
                if self._day(r.published) == day]
        rows.sort(key=lambda r: (order[r.feed_id], r.number))
        return [self._link(r, by_id[r.feed_id], by_id[r.feed_id].title, langs[r.feed_id]) for r in rows]

    def _finish(self, feeds: list[_Feed], summaries: list[tuple[_Feed, int, int | None, str]], latest: list[_Link],
                shards: dict[str, list[tuple[int, int, int]]]) -> None:
        """The pages every build writes: home, search, assets."""
        self._page("index.html", "index.html", feeds=summaries, marker=self._marker(),
                   latest=tuple(heapq.nlargest(LATEST, latest, key=lambda link: (link.published, link.href))))
        self._search(feeds, [(f.id, k, d, n) for f in feeds for k, d, n in shards.get(f.id, [])])
        for name in ASSETS:
            self.pages.emit(f"assets/{name}", (), (self.templates / name).read_text)

    def _feed_lang(self, feed: _Feed, rows: list[Listed]) -> str:
        """The feed's script, from its newest titles: what a title or article too short to tell is taken for."""
        return feed.lang_of(" ".join(one_line(feed.convert(r.title)) for r in rows[:20]), self.lang)

    def _feeds(self) -> list[_Feed]:
        """Configured feeds in their order, then feeds removed from the configuration whose articles stay."""
        configured = {f.id: f for f in self.config.feeds}
        ids = [*configured, *(i for i in self.store.feed_ids_with_entries() if i not in configured)]
        out = []
        for feed_id in ids:
            conf = configured.get(feed_id)
            variant = self.config.variant_for(conf) if conf else self.config.variant
            title = (conf and conf.title) or self.store.feed(feed_id).title or feed_id
            convert = editions.converter(variant)
            out.append(_Feed(feed_id, convert(title), variant, "" if conf else convert(NOT_MIRRORED)))
        return out

    def _link(self, row: Listed, feed: _Feed, source: str, lang: str) -> _Link:
        """`row` as a line of a list of `feed`'s (`source`: the title of the feed that archived it;
        `lang`: the feed's)."""
        title = one_line(feed.convert(row.title))
        return _Link(f"articles/{row.feed_id}/{row.number}.html", title, row.published, row.removed_at is not None,
                     source, feed.lang_of(title, lang), self.revised.get(row.id, (0, 0))[0])

    def _with_redacted(self, feed: _Feed, rows: list[Listed], links: list[_Link], lang: str) -> list[_Link]:
        """The feed's list with a line for each article of its removed on request."""
        stones = self.tombstones.of_feed(feed.id)
        if not stones:
            return links
        lines = tombstones.interleave([(r.feed_id, r.number, link) for r, link in zip(rows, links)], stones,
                                      lambda line: line[:2],
                                      lambda t: (t.feed, t.number, _Link("", "", t.published, False, feed.title, lang, 0, True)))
        return [link for _, _, link in lines]

    def _day(self, ms: int) -> str:
        """The day of `ms` in the display zone: the days of the site's pages."""
        return datetime.fromtimestamp(ms / 1000, self.zone).strftime("%Y-%m-%d")

    def _marker(self) -> str:
        return editions.converter(self.config.variant)(self.config.removed_marker)

    def _page(self, rel: str, template: str, lang: str | None = None, **context: object) -> None:
        """A page rendered from `context` (plain data), with links made relative to where it lies."""
        lang = lang or self.lang
        self.pages.emit(rel, (template, lang, context), lambda: self._render(rel, template, lang, **context))

    def _render(self, rel: str, template: str, lang: str, **context: object) -> str:
        return self.env.get_template(template).render(root="../" * rel.count("/"), lang=lang, site_title=SITE_TITLE,
                                                      **context)

    # --- articles ----------------------------------------------------------------------------

    def _articles(self, feed: _Feed, rows: list[Listed], lang: str, only: set[int] | None = None) -> None:
        """The pages of these articles (`only`: of those at these positions; `rows` holds their neighbours)."""
        folder = self.archive.feed_folder(feed.id)
        on_disk: dict[int, Path] | None = None  # an adopted file keeps its "<n>_<title>.md" name: read when needed
        same = repr((feed, lang))  # what every article of the feed shares: once, not per article
        # The neighbours in the feed's list order (newest first): (file name, title) of each.
        near = [(f"{r.number}.html", one_line(feed.convert(r.title))) for r in rows]
        for i in range(len(rows)) if only is None else sorted(only):
            row = rows[i]
            if only is not None and (folder / f"{row.number}.md").is_file():
                markdown = f"{row.number}.md"  # the name archive.scan prefers: no need to read the folder
            else:
                on_disk = self.archive.numbers_on_disk(feed.id) if on_disk is None else on_disk
                markdown = on_disk[row.number].name if row.number in on_disk else f"{row.number}.md"
            newer, older = near[i - 1] if i else None, near[i + 1] if i + 1 < len(rows) else None
            inputs = (same, row.title, row.link, row.published, row.changed, row.removed_at, markdown,
                      self.revised.get(row.id), newer, older)  # `changed` stands for the body: read only to render
            rel = f"articles/{feed.id}/{row.number}.html"
            self.pages.emit(rel, inputs, functools.partial(self._article, rel, feed, lang, row, markdown, newer, older))

    def _article(self, rel: str, feed: _Feed, feed_lang: str, line: Listed, markdown: str,
                 newer: tuple[str, str] | None, older: tuple[str, str] | None) -> str:
        [row] = self._bodies([line])
        body = row.body if feed.variant == "original" else editions.convert_html(row.body, feed.convert)
        body = relocate(body, 1)  # site/articles/<feed>/: local images one folder further up
        changes: list[_Change] = []
        first_seen = None
        if row.id in self.revised:
            versions = history.versions(self.store, row)
            texts = [feed.convert(v.text) for v in versions]
            for v, before, after in zip(versions[1:], texts, texts[1:]):
                segments = tuple((op, history.shorten(text, DIFF_CONTEXT) if op == "=" else text)
                                 for op, text in history.diff(before, after))
                changes.append(_Change(v.number, v.seen_at, one_line(feed.convert(v.title)), segments))
            first_seen = versions[0].seen_at
        title = one_line(feed.convert(row.title))
        return self._render(rel, "article.html", feed.lang_of(f"{title}\n{_text_sample(body)}", feed_lang), feed=feed, title=title,
                            link=safe_link(row.link), published=row.published, removed_at=row.removed_at, body=body,
                            markdown=f"articles/{feed.id}/{quote(markdown)}", changes=changes, first_seen=first_seen,
                            newer=newer, older=older)

    # --- lists -------------------------------------------------------------------------------

    def _feed_pages(self, feed: _Feed, links: list[_Link], lang: str, first: int = 0, total: int = 0) -> None:
        """The feed's list pages; `links` from the `first` of its `total` pages on (all of them by default)."""
        chunks = _chunks(links, PER_PAGE)
        total = total or len(chunks)
        names = [f"page-{i}.html" for i in range(1, total)] + ["index.html"]
        for i, chunk in enumerate(chunks, first):
            self._page(f"feeds/{feed.id}/{names[i]}", "feed.html", lang, feed=feed, links=tuple(chunk),
                       number=i + 1, newest=i == total - 1, marker=feed.convert(self.config.removed_marker),
                       newer=names[i + 1] if i + 1 < total else None, older=names[i - 1] if i else None)

    def _days(self, counts: dict[str, int], days: dict[str, list[_Link]]) -> None:
        """The pages of `days` (links in the order of the feeds), among all the days with articles (`counts`)."""
        order = sorted(counts, reverse=True)
        marker = self._marker()
        for i, day in enumerate(order):
            if day not in days:
                continue
            links = tuple(sorted(days[day], key=lambda link: link.published, reverse=True))
            self._page(f"days/{day}.html", "day.html", day=day, links=links, marker=marker,
                       newer=order[i - 1] if i else None, older=order[i + 1] if i + 1 < len(order) else None)
        months: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for day in order:
            months[day[:7]].append((day, counts[day]))
        self._page("days/index.html", "days.html", months=tuple((m, tuple(d)) for m, d in months.items()))

    # --- search ------------------------------------------------------------------------------

    def _shards(self, feed: _Feed, rows: list[Listed], first: int = 0) -> list[tuple[int, int, int]]:
        """The feed's search shards (`rows` from the `first` shard on); (shard, newest date, articles) of each."""
        out = []
        for k, chunk in enumerate(_chunks(rows, SHARD_SIZE), first):
            if not chunk:
                continue
            inputs = [feed, *(x for r in chunk for x in (r.number, r.title, r.published, r.removed_at is not None, r.changed))]
            self.pages.emit(f"search/{feed.id}/{k}.js", inputs, functools.partial(self._shard_js, feed, k, chunk))
            out.append((k, max(r.published for r in chunk), len(chunk)))
        return out

    def _shard_js(self, feed: _Feed, k: int, chunk: list[Listed]) -> str:
        return _shard(feed, k, self._bodies(chunk))

    def _bodies(self, lines: list[Listed]) -> list[EntryRow]:
        """The whole entries of these lines, in their order: what a page being rendered reads (bodies
        are read for no other page)."""
        by_id = {r.id: r for r in self.store.entries_by_id([line.id for line in lines])}
        return [by_id[line.id] for line in lines]

    def _search(self, feeds: list[_Feed], shards: list[tuple[str, int, int, int]]) -> None:
        data = {"feeds": {f.id: f.title for f in feeds},
                "shards": sorted(shards, key=lambda s: s[2], reverse=True),
                "marker": self._marker().strip(),
                "zone": self.config.display.timezone}  # the days search results show
        self._page("search.html", "search.html", data=data, total=sum(s[3] for s in shards))
        fold = _fold_pairs()
        self.pages.emit("search/fold.js", (fold,), lambda: f"window.NM_FOLD = {json.dumps(fold, ensure_ascii=False)};\n")


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """`items` (newest first) in chunks counted from the oldest, each newest first.

    Counting from the oldest keeps every chunk but the newest unchanged when articles arrive;
    the newest absorbs the remainder (size to 2*size - 1 items) so that it is never nearly empty.
    """
    oldest_first = list(items)[::-1]
    count = max(1, len(oldest_first) // size)
    bounds = [i * size for i in range(count)] + [len(oldest_first)]
    return [oldest_first[a:b][::-1] for a, b in zip(bounds, bounds[1:])]


def _newest_chunks(count: int, before: int) -> tuple[int, int]:
    """The first search shard and the first list page that articles added to a list of `before`
    (now `count`) change: the newest; when there are more of them now, the one that split (_chunks)
    and, of the pages, the one before it, which links it."""
    shards, shards_before = max(1, count // SHARD_SIZE), max(1, before // SHARD_SIZE)
    pages, pages_before = max(1, count // PER_PAGE), max(1, before // PER_PAGE)
    return shards_before - 1 if shards > shards_before else shards - 1, \
        max(0, pages_before - 2) if pages > pages_before else pages - 1


def _shard(feed: _Feed, k: int, rows: list[EntryRow]) -> str:
    """`search/<feed>/<k>.js`: [number, date ms, removed, "title\\n\\ntext"] per article, newest first.

    The title leads the text (one line: one_line), so one substring search covers both.
    """
    records = [[r.number, r.published, int(r.removed_at is not None),
                feed.convert(history.Version(0, r.published, one_line(r.title), r.body).text)] for r in rows]
    key = json.dumps(f"{feed.id}/{k}")
    return f"(window.NM_INDEX = window.NM_INDEX || {{}})[{key}] = {json.dumps(records, ensure_ascii=False)};\n"


def _fold_pairs() -> str:
    """`search.script_pairs` as one string, each Traditional character followed by its Simplified
    form ("發发臺台..."): the browser's search folds with the table the server's search uses."""
    # Imported only here: it loads OpenCC, which the rest of the build does not need.
    from ..search import script_pairs

    return "".join(t + s for t, s in script_pairs().items())


def _text_sample(body: str) -> str:
    """The text at the start of `body`, enough for editions.lang_of: a bounded read of a body of any size."""
    return "".join(p for p in split(body[:8 * editions.SAMPLE]) if is_text(p))
