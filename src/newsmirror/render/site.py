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
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import jinja2

from .. import archive as files
from .. import editions, history
from ..archive import Archive
from ..config import Config
from ..dates import display
from ..htmltokens import is_text, split
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


@dataclass(frozen=True, slots=True)
class _Change:
    """One version after the first, with what changed since the one before."""

    number: int
    seen_at: int
    title: str
    segments: tuple[tuple[str, str], ...]


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
            self.before: dict[str, str] = json.loads(manifest.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            self.before = {}
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

    def finish(self) -> int:
        """Remove the pages no longer built (e.g. renumbered by reindex); how many files changed."""
        self.writers.shutdown()
        self.changed += sum(w.result() for w in self.writes)
        for rel in self.before.keys() - self.now.keys():
            try:
                (self.root / rel).unlink()
                self.changed += 1
            except FileNotFoundError:
                pass
        files.write(self.manifest, json.dumps(self.now, sort_keys=True, separators=(",", ":")))
        return self.changed

    def close(self) -> None:
        """Stop the writers (after a failure: pages not yet written are left for the next build)."""
        self.writers.shutdown(cancel_futures=True)


def build(archive: Archive, config: Config, store: Store) -> int:
    """Write the site under DIR/site/; returns how many files changed (written or removed)."""
    site = _Build(archive, config, store)
    try:
        return site.run()
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
        self.pages = _Pages(archive.root / SITE_DIR, archive.state_dir / MANIFEST, self._fingerprint())
        self.lang = LANGS.get(config.variant, SITE_LANG)
        # Revisions are only ever added, so their count and last id say whether a history changed.
        self.revised: dict[int, tuple[int, int]] = store.revision_summary()

    def _fingerprint(self) -> bytes:
        """What every page also depends on: this renderer and its templates (a change re-renders all)."""
        digest = hashlib.blake2b(Path(__file__).read_bytes() + self.config.display.timezone.encode())
        for name in sorted(p.name for p in self.templates.iterdir() if p.is_file()):
            digest.update((self.templates / name).read_bytes())
        return digest.digest()

    def run(self) -> int:
        feeds = self._feeds()
        titles = {f.id: f.title for f in feeds}
        days: dict[str, list[_Link]] = defaultdict(list)
        summaries: list[tuple[_Feed, int, int | None, str]] = []
        shards: list[tuple[str, int, int, int]] = []
        latest: list[_Link] = []
        for feed in feeds:
            rows = self.store.listed(feed.id, sys.maxsize)
            # The feed's script, from its newest titles: what a title or article too short to tell is taken for.
            lang = feed.lang_of(" ".join(one_line(feed.convert(r.title)) for r in rows[:20]), self.lang)
            links = [self._link(r, feed, titles.get(r.feed_id, r.feed_id), lang) for r in rows]
            own = [r for r in rows if r.feed_id == feed.id]
            self._articles(feed, own, lang)
            shards += self._shards(feed, own)
            own_links = [link for row, link in zip(rows, links) if row.feed_id == feed.id]
            for row, link in zip(own, own_links):
                days[self._day(row.published)].append(link)
            # A feed's newest by date are among its newest by number (the order of archiving):
            # LATEST of each, not every article, make the home page's choice.
            latest += own_links[:LATEST]
            self._feed_pages(feed, links, lang)
            summaries.append((feed, len(rows), max((r.published for r in rows), default=None), lang))
        self._days(days)
        self._page("index.html", "index.html", feeds=summaries, marker=self._marker(),
                   latest=tuple(heapq.nlargest(LATEST, latest, key=lambda link: (link.published, link.href))))
        self._search(feeds, shards)
        for name in ASSETS:
            self.pages.emit(f"assets/{name}", (), (self.templates / name).read_text)
        return self.pages.finish()

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

    def _articles(self, feed: _Feed, rows: list[Listed], lang: str) -> None:
        on_disk = self.archive.numbers_on_disk(feed.id)  # an adopted file keeps its "<n>_<title>.md" name
        same = repr((feed, lang))  # what every article of the feed shares: once, not per article
        # The neighbours in the feed's list order (newest first): (file name, title) of each.
        near = [(f"{r.number}.html", one_line(feed.convert(r.title))) for r in rows]
        for i, row in enumerate(rows):
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

    def _feed_pages(self, feed: _Feed, links: list[_Link], lang: str) -> None:
        chunks = _chunks(links, PER_PAGE)
        names = [f"page-{i}.html" for i in range(1, len(chunks))] + ["index.html"]
        for i, chunk in enumerate(chunks):
            self._page(f"feeds/{feed.id}/{names[i]}", "feed.html", lang, feed=feed, links=tuple(chunk),
                       number=i + 1, newest=i == len(chunks) - 1, marker=feed.convert(self.config.removed_marker),
                       newer=names[i + 1] if i + 1 < len(chunks) else None, older=names[i - 1] if i else None)

    def _days(self, days: dict[str, list[_Link]]) -> None:
        order = sorted(days, reverse=True)
        marker = self._marker()
        for i, day in enumerate(order):
            links = tuple(sorted(days[day], key=lambda link: link.published, reverse=True))
            self._page(f"days/{day}.html", "day.html", day=day, links=links, marker=marker,
                       newer=order[i - 1] if i else None, older=order[i + 1] if i + 1 < len(order) else None)
        months: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for day in order:
            months[day[:7]].append((day, len(days[day])))
        self._page("days/index.html", "days.html", months=tuple((m, tuple(d)) for m, d in months.items()))

    # --- search ------------------------------------------------------------------------------

    def _shards(self, feed: _Feed, rows: list[Listed]) -> list[tuple[str, int, int, int]]:
        """The feed's search shards; (feed id, shard, newest date, articles) of each."""
        out = []
        for k, chunk in enumerate(_chunks(rows, SHARD_SIZE)):
            if not chunk:
                continue
            inputs = [feed, *(x for r in chunk for x in (r.number, r.title, r.published, r.removed_at is not None, r.changed))]
            self.pages.emit(f"search/{feed.id}/{k}.js", inputs, functools.partial(self._shard_js, feed, k, chunk))
            out.append((feed.id, k, max(r.published for r in chunk), len(chunk)))
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
