"""The files a pass writes: articles, list pages, README, re-published feeds and the identity
index, in the main tree and in every edition.

Articles are written on threads while the pass goes on (`write_pending`); `settle` waits for them
and only then marks them written, so an article is never marked before its file is. Lists and
re-published feeds are rendered again only when something they show changed.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import __version__, editions, failures, identity_index, tombstones
from . import archive as files
from .archive import Archive
from .config import Config, FeedConfig
from .images import relocate
from .model import Article
from .render import feeds as republish
from .render import markdown
from .store import EntryRow, FeedState, Store
from .tombstones import Tombstone, Tombstones
from .workers import WorkerDied, Workers


@dataclass
class Output:
    """The files of one pass. `state` and `save` reach the pass's feed states (a list's
    rendering is remembered there); `step` runs a step whose failure is reported, not raised."""

    archive: Archive
    config: Config
    store: Store
    workers: Workers
    state: Callable[[str], FeedState]
    save: Callable[[FeedState], None]
    step: Callable[..., None]
    written: list[int] = field(default_factory=list)  # ids of the entries written, for the search index
    submitted: set[int] = field(default_factory=set)  # entries whose files are being written...
    inflight: list[tuple[list[EntryRow], Future]] = field(default_factory=list)  # ...and how that is going
    rendering: list[tuple[str, asyncio.Future[int], tuple[object, ...]]] = field(default_factory=list)  # feeds out
    unlisted: Counter[str] = field(default_factory=Counter)  # articles written since their feed's list was
    feeds_out_changed: bool = False
    shared: set[str] = field(default_factory=set)  # feeds that newly share another feed's article
    on_written: Callable[[list[EntryRow]], None] = lambda rows: None  # given each article once its file is written

    def __post_init__(self) -> None:
        self._feeds = {f.id: f for f in self.config.feeds}

    def trees(self, feed: FeedConfig | None) -> list[tuple[Archive, str, str]]:
        """(folder, script variant, root of absolute links) for the main tree and each edition."""
        main = self.config.variant_for(feed) if feed else self.config.variant
        return [(self.archive, main, "/"),
                *((Archive(self.archive.root / e), e, f"/{e}/") for e in self.config.editions)]

    def write_pending(self, feed_id: str | None = None) -> int:
        """Start writing the articles stored but not yet written; returns how many.

        The files are written on threads while the pass goes on (`settle` waits for them and
        only then marks the articles written: an article is never marked before its file is).
        """
        return self.write_rows(self.store.pending(feed_id, besides=self.submitted))

    def write_rows(self, rows: list[EntryRow], fresh: bool = False) -> int:
        """Start writing these articles' files (see `write_pending`); `fresh`: just stored,
        numbered below every file, so that no file of theirs can exist yet."""
        on_disk: dict[str, dict[int, Path]] = {}
        groups = []
        for row in rows:
            out = []
            for tree, variant, _ in self.trees(self._feeds.get(row.feed_id)):
                path = tree.article_path(row.feed_id, row.number)
                if tree is self.archive and not fresh and not path.exists():
                    # An adopted file keeps its name, "<n>_<title>.md" included: the folder is read
                    # for that only (once a pass), not for every article written.
                    if row.feed_id not in on_disk:
                        on_disk[row.feed_id] = self.archive.numbers_on_disk(row.feed_id)
                    path = on_disk[row.feed_id].get(row.number) or path
                a = editions.article(article(row), variant)
                if tree is not self.archive:  # zh-Hant/articles/<feed>/: local images one folder further up
                    a = replace(a, body=relocate(a.body, 1))
                out.append((path, markdown.article(a).encode("utf-8")))
            groups.append(out)
            self.submitted.add(row.id)
            self.unlisted[row.feed_id] += 1
        if rows:
            self.inflight.append((rows, files.write_later(groups)))
        return len(rows)

    async def settle(self) -> dict[str, str]:
        """Wait for the files being written, mark their articles written; feed id -> the error
        of an article that could not be written (a full disk): it stays pending for the next pass."""
        done: list[int] = []
        errors: dict[str, str] = {}
        settled = list(self.inflight)
        for rows, future in self.inflight:
            for row, exc in zip(rows, future.result()):
                if exc is None:
                    done.append(row.id)
                    continue
                errors.setdefault(row.feed_id, f"cannot write articles/{row.feed_id}/{row.number}.md: {exc.strerror or exc}")
                self.submitted.discard(row.id)
        self.inflight.clear()
        self.step("articles written", self.store.mark_written, done)
        written = set(done)
        now_written = [row for rows, _ in settled for row in rows if row.id in written]
        self.step("identity index", self.index_identities, now_written)
        self.written.extend(done)
        self.on_written(now_written)
        for name, task, args in self.rendering:
            try:
                try:
                    await task
                except WorkerDied:  # killed from outside (an OOM kill): rendered again, once
                    await self.workers.run(republish.write, *args)
            except Exception as exc:  # noqa: BLE001  a full disk, or a worker lost twice
                if name in self._feeds:  # rendered again by the next pass, not taken as done
                    self.save(replace(self.state(name), rendered=None))
                errors.setdefault(name, f"cannot write feeds/{name}.*: {failures.reason(exc)}")
        self.rendering.clear()
        return errors

    def learned(self, feed_id: str, learned: list[tuple[EntryRow, str, str | None]]) -> None:
        """Adopted articles that took a guid (decide.py) keep it in the identity index."""
        identity_index.append(self.archive.feed_folder(feed_id),
                              [(row.number, guid, row.body_key or body, row.feed_hash) for row, guid, body in learned])

    def index_identities(self, rows: list[EntryRow]) -> None:
        """Append the identities of articles just written to their feeds' identity index."""
        by_feed: dict[str, list[tuple[int, str | None, str | None, str | None]]] = defaultdict(list)
        for row in rows:
            by_feed[row.feed_id].append((row.number, row.guid, row.body_key, row.feed_hash))
        for feed_id, lines in by_feed.items():
            identity_index.append(self.archive.feed_folder(feed_id), lines)

    def list_title(self, feed: FeedConfig) -> str:
        return feed.title or self.state(feed.id).title or feed.id

    @functools.cached_property
    def stopped(self) -> dict[str, str]:
        """Feeds removed from the configuration whose articles stay -> their titles (`remove`
        keeps the title their list had). They stay listed, marked NOT_MIRRORED: the record is kept."""
        return {i: self.state(i).title or i for i in self.store.feed_ids_with_entries() if i not in self._feeds}

    @functools.cached_property
    def lists(self) -> files.ListNames:
        """List file names, from the titles known when first asked: no two feeds share one. Feeds
        no longer mirrored claim theirs first: their lists are there already, and stay."""
        return files.ListNames([*((i, t, True) for i, t in self.stopped.items()),
                                *((f.id, self.list_title(f), bool(f.title)) for f in self.config.feeds)])

    def write_feed(self, feed: FeedConfig, force: bool = False) -> None:
        """The feed's new articles, its list page (in every tree) and its re-published feeds.

        Lists and feeds are rendered again only when an article was written, the feed now
        shares another's article, an article was found removed (`force`), or what they are
        rendered with changed (title, script, marker...): a pass with nothing new renders nothing.
        """
        self.write_pending(feed.id)
        written = self.unlisted.pop(feed.id, 0)
        title = self.list_title(feed)
        name = self.lists.name(feed.id, title)
        fingerprint = self.fingerprint(feed, title, name)
        if not (force or written or feed.id in self.shared or self.state(feed.id).rendered != fingerprint
                or not self.archive.list_path(name).exists()):
            return
        rows = self.write_list(feed.id, feed, title, name)
        if self.config.feeds_out and rows:
            variant = self.config.variant_for(feed)
            articles = [article(r) for r in self.store.newest(self.config.feeds_out, feed.id)]
            self.write_feeds_out(feed.id, editions.converter(variant)(title), feed.url,
                                 [editions.article(a, variant) for a in articles])
            self.feeds_out_changed = True
        self.save(replace(self.state(feed.id), rendered=fingerprint))

    def write_list(self, feed_id: str, feed: FeedConfig | None, title: str, name: str) -> list[Article]:
        """The feed's list page in every tree; returns what it lists."""
        rows = with_redacted(self.store.list_lines(feed_id, markdown.LIST_SIZE), self.tombstones.of_feed(feed_id))
        for tree, variant, link_root in self.trees(feed):
            convert = editions.converter(variant)
            page = markdown.list_page(convert(title), [editions.article(a, variant) for a in rows],
                                      convert(self.config.removed_marker), link_root, self.mirrors(convert))
            files.write(tree.list_path(name), page)
        return rows

    @functools.cached_property
    def tombstones(self) -> Tombstones:
        return tombstones.read(self.archive.root)

    def mirrors(self, convert: Callable[[str], str]) -> str:
        """The mirror list closing a list page and the README, its heading in the tree's script."""
        return markdown.mirrors_block(self.config.publish.mirrors, convert(markdown.MIRRORS_TITLE))

    def write_stopped_lists(self) -> None:
        """The lists of feeds no longer mirrored, when what they are rendered with changed (their
        name, the marker...) or they are missing: README.md links every one of them."""
        for feed_id, title in self.stopped.items():
            name = self.lists.name(feed_id, title)
            fingerprint = self.fingerprint(None, title, name)
            if self.state(feed_id).rendered != fingerprint or not self.archive.list_path(name).exists():
                self.write_list(feed_id, None, title, name)
                self.save(replace(self.state(feed_id), rendered=fingerprint))

    def fingerprint(self, feed: FeedConfig | None, title: str, name: str) -> str:
        """Everything besides the articles that a feed's list and re-published feeds depend on
        (the list's name too: a name another feed gave up holds that feed's list until rendered);
        `feed` None: a feed no longer mirrored, whose list alone is rendered."""
        c = self.config
        settings = (__version__, title, name, feed and feed.url, c.variant_for(feed) if feed else c.variant, c.editions,
                    c.removed_marker, c.feeds_out, c.publish.site_url, markdown.LIST_SIZE, c.publish.mirrors)
        return hashlib.sha256(repr(settings).encode()).hexdigest()[:16]

    def write_feeds_out(self, name: str, title: str, link: str, articles: list[Article]) -> None:
        """Render and write a re-published feed in a pool worker; `settle` waits for it."""
        args = (self.archive.root / "feeds", name, title, link, articles, self.config.publish.site_url)
        self.rendering.append((name, asyncio.ensure_future(self.workers.run(republish.write, *args)), args))

    def write_readme(self) -> None:
        if self.config.feeds_out and (self.feeds_out_changed or not (self.archive.root / "feeds/all.xml").exists()):
            rows = [article(r) for r in self.store.newest(self.config.feeds_out)]
            if rows:
                convert = editions.converter(self.config.variant)
                self.write_feeds_out("all", convert("全部"), self.config.publish.site_url or "",
                                     [editions.article(a, self.config.variant) for a in rows])
        self.write_readme_only()

    def write_readme_only(self) -> None:
        """README.md in every tree: the configured feeds' lists, then those of feeds no longer
        mirrored, marked (also outside a pass: `remove`)."""
        self.write_stopped_lists()
        titles = [self.list_title(f) for f in self.config.feeds]
        names = [self.lists.name(f.id, t) for f, t in zip(self.config.feeds, titles)]
        names += [self.lists.name(i, t) for i, t in self.stopped.items()]
        titles += [t + markdown.NOT_MIRRORED for t in self.stopped.values()]
        for tree, variant, _ in self.trees(None):
            convert = editions.converter(variant)
            path = tree.root / "README.md"
            # Only newsmirror's part is rewritten: an adopted repository's own text stays.
            current = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
            files.write(path, markdown.readme([convert(t) for t in titles], names, current, self.mirrors(convert)))


def refresh_readme(archive: Archive, config: Config, store: Store) -> None:
    """README.md and the lists of feeds no longer mirrored, outside a pass (`remove`): the folder
    agrees with its configuration at once, not after the next pass."""
    states = store.feeds()
    saved: list[FeedState] = []
    workers = Workers(1)  # unused: no re-published feed is rendered here
    try:
        out = Output(archive, config, store, workers, lambda i: states.get(i) or FeedState(i), saved.append,
                     lambda name, fn, *args: fn(*args))
        out.write_readme_only()
    finally:
        workers.close()
    store.save_feeds(saved)


def refresh_feeds(archive: Archive, config: Config, store: Store, feed_ids: list[str]) -> None:
    """The lists and re-published feeds of `feed_ids`, and README, outside a pass (`redact`):
    what an article was taken out of shows so at once."""
    states = store.feeds()
    saved: list[FeedState] = []
    configured = {f.id: f for f in config.feeds}
    workers = Workers(1)

    async def refresh(out: Output) -> None:
        for feed_id in feed_ids:
            if feed := configured.get(feed_id):
                out.write_feed(feed, force=True)
            elif feed_id in out.stopped:
                title = out.stopped[feed_id]
                out.write_list(feed_id, None, title, out.lists.name(feed_id, title))
        out.write_readme()
        await out.settle()

    try:
        asyncio.run(refresh(Output(archive, config, store, workers, lambda i: states.get(i) or FeedState(i), saved.append,
                                   lambda name, fn, *args: fn(*args))))
    finally:
        workers.close()
    store.save_feeds(saved)


def with_redacted(rows: list[Article], stones: list[Tombstone]) -> list[Article]:
    """A feed's list lines (newest first) with a line for each of its redacted articles."""
    return tombstones.interleave(rows, stones, lambda a: (a.feed_id, a.number),
                                 lambda t: Article(t.feed, t.number, "", "", t.published, "", redacted=True))


def article(row: EntryRow) -> Article:
    return Article(row.feed_id, row.number, row.title, row.link, row.published, row.body, row.removed_at)
