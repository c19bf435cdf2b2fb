#!/usr/bin/env python3
"""`newsmirror site` after a pass, as the archive grows: does its cost follow the pass or the archive?

    python bench/site_growth.py [--sizes 10000,100000] [--tmpdir DIR] [--new 200]

For each size, an archive of 200 feeds is generated straight into the state and the files
(bench/growth.py's generator, without its search index or feed server: the site reads neither),
and measured, each a command as a user runs it (`python -m newsmirror --archive DIR site`):
  - `first_s`: the first `site`, every page rendered;
  - `nochange_s`: `site` again, nothing changed;
  - `site_s`: `site` after `--new` articles were added, one a feed in turn, as a pass stores
    them (the store's `add_entries`, their files written).
Run it with PYTHONPATH pointing at another checkout's `src` to measure that code (the
baseline) on the same machine in the same conditions.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from growth import FEEDS, FIRST, Corpus, bulk, command, configure, load

from newsmirror import identity, urls
from newsmirror.archive import Archive
from newsmirror.model import Article, new_entry
from newsmirror.render import markdown
from newsmirror.store import Store


def add_new(archive: Archive, corpus: Corpus, per_feed: int, new: int) -> None:
    """`new` articles, one a feed in turn, after each feed's `per_feed`: stored and written as a pass would."""
    store = Store(archive.state_dir)
    try:
        for i in range(new):
            f, k = i % FEEDS, per_feed + i // FEEDS
            feed_id = f"f{f:03d}"
            guid, link, title, body, ms = corpus.item(f, k)
            text = identity.normalized_text(body)
            [row] = store.add_entries([new_entry(
                feed_id, FIRST - k, guid=guid, link=link, canonical=urls.canonical(link), title=title, published=ms,
                first_seen=ms, body=body, source_hash=identity.content_hash(body), from_page=False,
                feed_hash=identity.entry_hash(title, text), body_key=identity.body_key(text))], pending=False)
            (archive.feed_folder(feed_id) / f"{row.number}.md").write_text(markdown.article(
                Article(feed_id, row.number, row.title, row.link, row.published, row.body)), encoding="utf-8")
    finally:
        store.close()


def measure(size: int, tmpdir: Path, corpus: Corpus, new: int) -> None:
    per_feed = size // FEEDS
    root = Path(tempfile.mkdtemp(prefix="nm-site-", dir=tmpdir))
    try:
        configure(root, "http://127.0.0.1:9")
        archive = Archive(root)
        archive.prepare()
        started = time.perf_counter()
        bulk(archive, corpus, per_feed + 50)  # bulk leaves out the newest 50 a feed, which growth.py fetches
        print(f"  {size} articles generated: {time.perf_counter() - started:.0f} s ({load()})", flush=True)
        first_s, _ = command(root, "site")
        print(f"  first_s {first_s:.2f} ({load()})", flush=True)
        nochange_s, _ = command(root, "site")
        print(f"  nochange_s {nochange_s:.2f} ({load()})", flush=True)
        add_new(archive, corpus, per_feed, new)
        site_s, rss = command(root, "site")
        print(f"  site_s {site_s:.2f} after {new} new articles, peak RSS {rss:.0f} MB ({load()})", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000", help="archive sizes, comma-separated")
    p.add_argument("--tmpdir", type=Path, default=Path(tempfile.gettempdir()), help="where the archives grow (on disk)")
    p.add_argument("--new", type=int, default=FEEDS, help="articles the pass adds")
    a = p.parse_args()
    corpus = Corpus()
    for size in (int(s) for s in a.sizes.split(",")):
        print(f"{size} articles in {a.tmpdir} ({load()})", flush=True)
        measure(size, a.tmpdir, corpus, a.new)


if __name__ == "__main__":
    main()
