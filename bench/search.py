#!/usr/bin/env python3
"""Search: indexing throughput and query latency on a generated archive.

    python bench/search.py [--docs 100000] [--queries 60] [--cache /tmp/newsmirror-bench-search]
    python bench/search.py --url postgresql://... --skip-plain   # the index on PostgreSQL ([store] url)

The archive: `--docs` articles of 2-6 KB of VOA-like Chinese HTML from
../shared/bench/gen_corpus.py's generator, 50 per feed, spread over two years, every third feed
converted to Traditional script (as Taiwanese and Hong Kong outlets publish); generated once and
cached. Both indexes take them oldest first, as an archive grows.

Indexing: `SearchIndex.add`, next to a plain FTS5 `trigram` table fed the same raw HTML in this
run (same journal settings, 1,000-row transactions), the two taking the archive in alternating
slices (`--rounds`) so that a busy machine slows both alike. Queries: words of
the generator's vocabulary (so they are common: most match most of the archive, the hard case
for ranking), half of them in Traditional script; per kind the p50/p95 latency of a 20-result
search on the index as `add` left it. `--url` measures the PostgreSQL back end instead, in
that database (emptied first; `migrate` makes its tables). Targets: p95 < 50 ms for every kind; indexing at least
twice the plain table's articles/s.
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import opencc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
import gen_corpus  # noqa: E402  (the shared corpus generator: headlines, bodies)

from newsmirror.search import Doc, open_search  # noqa: E402
from newsmirror.store import migrate  # noqa: E402

PER_FEED = 50


def corpus(n: int, cache: Path) -> list[Doc]:
    """`n` articles over two years, oldest first as an archive grows; cached between runs."""
    path = cache / f"docs-{n}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    print(f"generating {n} articles (once; cached in {path}) ...", flush=True)
    to_traditional = opencc.OpenCC("s2t").convert
    start = datetime(2024, 11, 5, 12, tzinfo=UTC)
    docs: list[Doc] = []
    feeds = (n + PER_FEED - 1) // PER_FEED
    for f in range(feeds):
        rng = random.Random(f)
        when = start - timedelta(days=730 * f / feeds, minutes=rng.randint(0, 600))
        convert = to_traditional if f % 3 == 2 else str
        for i in range(min(PER_FEED, n - len(docs))):
            when -= timedelta(minutes=rng.randint(5, 240))
            title = gen_corpus.headline(rng)
            body, _ = gen_corpus.body(rng, "https://www.example.com", title, 2048, 6144)
            docs.append(Doc(f"feed-{f:04d}", 1048574 - i, convert(title), f"https://www.example.com/a/{f}/{i}.html",
                            int(when.timestamp() * 1000), convert(body)))
    docs.sort(key=lambda d: d.published)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(docs, protocol=pickle.HIGHEST_PROTOCOL))
    return docs


class PlainTable:
    """The baseline: a plain FTS5 trigram table fed the raw title and HTML."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("CREATE VIRTUAL TABLE plain USING fts5(title, body, tokenize='trigram')")

    def add(self, docs: list[Doc]) -> None:
        for i in range(0, len(docs), 1000):
            with self.db:
                self.db.execute("BEGIN")
                self.db.executemany("INSERT INTO plain (title, body) VALUES (?, ?)",
                                    [(d.title, d.body_html) for d in docs[i:i + 1000]])


def queries(count: int, rng: random.Random) -> dict[str, list[str]]:
    """Queries drawn from the generator's vocabulary, half of them in Traditional script."""
    words = sorted(set(gen_corpus.WORDS + gen_corpus.NAMES))
    two = [w for w in words if len(w) == 2]
    three = sorted({w[i:i + 3] for w in words if len(w) >= 3 for i in range(len(w) - 2)})
    chars = sorted({c for w in words for c in w})
    kinds = {
        "one-character": lambda: rng.choice(chars),
        "two-character": lambda: rng.choice(two),
        "three-character": lambda: rng.choice(three),
        "multi-word": lambda: " ".join(rng.sample(words, rng.choice((2, 2, 3)))),
    }
    to_traditional = opencc.OpenCC("s2t").convert
    return {kind: [to_traditional(q) if i % 2 else q for i, q in enumerate(make() for _ in range(count))]
            for kind, make in kinds.items()}


def load() -> str:
    """The machine's load average: figures taken on a busy machine are not comparable."""
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=60, help="per kind (at least 50 for the targets)")
    p.add_argument("--cache", type=Path, default=Path("/tmp/newsmirror-bench-search"))
    p.add_argument("--rounds", type=int, default=4, help="alternating indexing slices")
    p.add_argument("--skip-plain", action="store_true", help="do not index the plain trigram table")
    p.add_argument("--url", help="a PostgreSQL database to index into and search (its search tables are emptied)")
    a = p.parse_args()

    docs = corpus(a.docs, a.cache)
    work = a.cache / "run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    html_mb = sum(len(d.body_html.encode()) for d in docs) / 1e6
    print(f"{len(docs)} articles, {html_mb:.0f} MB of HTML")

    # The two indexes take the archive in alternating slices, so that both run under the same
    # load when other processes share the machine.
    plain = None if a.skip_plain else PlainTable(work / "plain.db")
    if a.url:
        migrate(work / "state", a.url)
    index = open_search(work / "state", a.url)
    index.rebuild([])
    seconds = {"plain": 0.0, "ours": 0.0}
    for r in range(a.rounds):
        part = docs[r * len(docs) // a.rounds:(r + 1) * len(docs) // a.rounds]
        for name, target in (("plain", plain), ("ours", index)):
            if target is not None:
                began = time.perf_counter()
                target.add(part)
                seconds[name] += time.perf_counter() - began
    print(f"indexed in {a.rounds} alternating slices ({load()})")
    if plain is not None:
        size = (work / "plain.db").stat().st_size / 1e6
        print(f"plain trigram table   {len(docs) / seconds['plain']:7.0f} articles/s  "
              f"({seconds['plain']:.1f} s, {size:.0f} MB)")
    size = (index.db.execute("SELECT pg_total_relation_size('search_docs')").fetchone()[0] if a.url
            else (work / "state" / "search.db").stat().st_size) / 1e6
    ratio = f", {seconds['plain'] / seconds['ours']:.2f}x the plain table" if plain is not None else ""
    print(f"{type(index).__name__ + '.add':<22}{len(docs) / seconds['ours']:7.0f} articles/s  "
          f"({seconds['ours']:.1f} s, {size:.0f} MB){ratio}")

    rng = random.Random(7)
    newest = max(d.published for d in docs)
    feeds = sorted({d.feed_id for d in docs})
    print(f"\n{'query kind':<26}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'hits':>6}  e.g.")
    worst = 0.0
    kinds = queries(a.queries, rng)
    kinds["two-character, filtered"] = kinds["two-character"]
    for kind, qs in kinds.items():
        times, hits = [], []
        for q in qs:
            filters = {}
            if kind.endswith("filtered"):  # a feed, or the last week, or an older month
                filters = rng.choice(({"feed": rng.choice(feeds)}, {"since": newest - 7 * 86_400_000},
                                      {"since": newest - 60 * 86_400_000, "until": newest - 30 * 86_400_000}))
            began = time.perf_counter()
            found = index.search(q, limit=20, **filters)
            times.append((time.perf_counter() - began) * 1000)
            hits.append(len(found))
        p95 = percentile(times, 95)
        if not kind.startswith("one"):
            worst = max(worst, p95)
        print(f"{kind:<26}{percentile(times, 50):8.1f}{p95:8.1f}{max(times):8.1f}{statistics.mean(hits):6.1f}"
              f"  {' | '.join(qs[:3])}")
    index.close()
    print(f"({load()}, {os.cpu_count()} cores)")
    print(f"\ntargets: p95 < 50 ms for two-, three-character and multi-word queries: worst {worst:.1f} ms"
          + (f"; indexing >= 2x the plain table: {seconds['plain'] / seconds['ours']:.2f}x" if plain else ""))


if __name__ == "__main__":
    main()
