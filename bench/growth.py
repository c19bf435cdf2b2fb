#!/usr/bin/env python3
"""Cost as the archive grows: a pass, a no-change pass, search and the site at 10k to 1M articles.

    python bench/growth.py [--sizes 10000,100000,1000000] [--tmpdir DIR] [--queries 40] [--keep]

For each size, a fresh archive of 200 feeds is grown on disk (`--tmpdir`, default the system's
temporary folder), each in a new folder of its own, all deleted at the end (`--keep` keeps them:
on ext4 without a journal, creating files right after deleting a million in the same tree is
~30x slower, which would be measured as the next size's cost), and measured:
  - all but each feed's newest 50 articles are generated straight into the state (the store's
    own `add_entries`, bodies from ../shared/bench/gen_corpus.py's generator) and written as
    house-format files by the project's renderer, with their identity-index lines; the search
    index is built from them (`pipeline.index`). A feed publishes every 8 hours, the newest
    article an hour ago: an archive of 1M articles spans 4.6 years, as a real one would (dated
    recently, all of them would be due for takedown re-checks). The week that could be re-checked
    was fetched moments before by `run`, so no re-check is due yet; links point at the local
    server, which serves the articles' pages, so none would reach outside;
  - the newest 50 of each feed come from a real `newsmirror run` against a local feed server
    that shows each feed's newest 50 items, as real feeds do; then `newsmirror site` builds the
    whole site once (not timed);
  - measured, each a command as a user runs it (`python -m newsmirror ...`, whole process):
    `run` after each feed gained one article (`pass_s`), `run` again with nothing new
    (`nochange_s`), `site` after that pass (`site_s`); the search index as `newsmirror search`
    uses it (a search, then its total), p95 over `--queries` queries per kind (one, two, three
    characters, several words; from the generator's vocabulary, so most match most articles);
    the largest peak RSS of any of those processes (`rss_mb`), and the state folder's size
    (`state_mb`: `.newsmirror/`).
Writes bench/results/growth.csv (one row per size) and bench/results/growth.png. Targets
(issue 15): pass at 1M within 1.5x of the pass at 10k; search p95 < 100 ms; RSS < 500 MB.
Needs the bench extras: pip install ".[bench]".
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parents[1] / "shared" / "bench"))
import gen_corpus  # noqa: E402  (the shared corpus generator: headlines, bodies)

from newsmirror import identity, identity_index, urls  # noqa: E402
from newsmirror.archive import Archive  # noqa: E402
from newsmirror.model import Article, new_entry  # noqa: E402
from newsmirror.pipeline import index  # noqa: E402
from newsmirror.render import markdown  # noqa: E402
from newsmirror.store import Store  # noqa: E402

FEEDS = 200
SHOWN = 50  # items each feed document shows: the newest
POOL = 400  # distinct generated bodies, each made unique per article by a numbered paragraph
FIRST = 1048574  # the house format's first article number; numbers count down
COLUMNS = ("articles", "pass_s", "nochange_s", "p95_ms_1char", "p95_ms_2char", "p95_ms_3char", "p95_ms_words",
           "rss_mb", "state_mb", "site_s")
NOW = datetime.now(UTC).replace(microsecond=0)
SPACING = timedelta(hours=8)  # between a feed's articles: 1M articles of 200 feeds span 4.6 years


class Corpus:
    """Article k of feed f, the same every time it is asked for (oldest is k = 0)."""

    def __init__(self, base: str, newest: int, seed: int = 1):
        """`base`: where the articles' links point; `newest`: k of each feed's newest article."""
        rng = random.Random(seed)
        self.base, self.newest = base, newest
        self.pool = []
        for _ in range(POOL):
            title = gen_corpus.headline(rng)
            body = gen_corpus.body(rng, "https://www.example.com", title, 2048, 6144)[0]
            self.pool.append((title, body, identity.normalized_text(body)))

    def item(self, f: int, k: int) -> tuple[str, str, str, str, int]:
        """(guid, link, title, body, published ms)."""
        title, body, _ = self.pool[(f * 7919 + k) % POOL]
        when = NOW - timedelta(hours=1) - SPACING * (self.newest - k) - timedelta(seconds=f)
        return (f"urn:nm-growth:{f}:{k}", f"{self.base}/a/{f}/{k}.html", f"{title} {f}-{k}",
                f"{body}{self.mark(f, k)}", int(when.timestamp() * 1000))

    def text(self, f: int, k: int) -> str:
        """`identity.normalized_text` of item (f, k)'s body, from its pool body's (the body is the
        pool body and one paragraph: the text is theirs joined), at a fraction of the cost."""
        return f"{self.pool[(f * 7919 + k) % POOL][2]} 第 {f}-{k} 号"

    @staticmethod
    def mark(f: int, k: int) -> str:
        """The paragraph that makes each article's body its own."""
        return f"<p>第 {f}-{k} 号</p>"


class FeedServer:
    """Feed f (`/f.xml`) shows its newest SHOWN of `count[f]` items, with an ETag (a no-change pass
    gets 304s); `/a/f/k.html` is article k's page (takedown re-checks find it still there).
    `corpus` is set once the server's address is known."""

    corpus: Corpus

    def __init__(self, count: int):
        self.count = [count] * FEEDS
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/a/"):
                    self.page()
                    return
                try:
                    f = int(self.path.strip("/").split(".")[0])
                    etag = f'"{f}-{outer.count[f]}"'
                except (ValueError, IndexError):
                    self.send_error(404)
                    return
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                body = outer.document(f)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def page(self) -> None:
                body = b"<!DOCTYPE html><html><body><article><p>still here</p></article></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def document(self, f: int) -> bytes:
        items = []
        for k in range(self.count[f] - 1, max(0, self.count[f] - SHOWN) - 1, -1):
            guid, link, title, body, ms = self.corpus.item(f, k)
            when = format_datetime(datetime.fromtimestamp(ms / 1000, UTC), usegmt=True)
            items.append(f'<item><title>{title}</title><link>{link}</link><guid isPermaLink="false">{guid}</guid>'
                         f"<pubDate>{when}</pubDate><description><![CDATA[{body}]]></description></item>")
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed {f}</title>'
                f"<link>https://www.example.com/{f}</link>{''.join(items)}</channel></rss>").encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def bulk(archive: Archive, corpus: Corpus, per_feed: int) -> int:
    """Each feed's articles but the newest SHOWN, into the state and the files, as a pass would
    have left them; returns how many."""
    old = per_feed - SHOWN
    # the shortcuts below (a body's text from its pool body's, a link's canonical form without its scheme) are
    # checked on each feed's first article against what the project computes
    store = Store(archive.state_dir)
    try:
        for f in range(FEEDS):
            feed_id = f"f{f:03d}"
            folder = archive.feed_folder(feed_id)
            folder.mkdir(parents=True, exist_ok=True)
            rows = []
            for k in range(old):
                guid, link, title, body, ms = corpus.item(f, k)
                text, canonical = corpus.text(f, k), link.removeprefix("http:")
                if k == 0:
                    assert text == identity.normalized_text(body) and canonical == urls.canonical(link), link
                rows.append(new_entry(feed_id, FIRST - k, guid=guid, link=link, canonical=canonical,
                                      title=title, published=ms, first_seen=ms, body=body,
                                      source_hash=hashlib.sha256(text.encode()).hexdigest()[:32], from_page=False,
                                      feed_hash=identity.entry_hash(title, text), body_key=identity.body_key(text)))
                if k == 0:
                    assert rows[0]["source_hash"] == identity.content_hash(body)
            added = store.add_entries(rows, pending=False)
            for row in added:
                with open(folder / f"{row.number}.md", "w", encoding="utf-8") as fh:
                    fh.write(markdown.article(Article(feed_id, row.number, row.title, row.link, row.published, row.body)))
            identity_index.append(folder, [(r.number, r.guid, r.body_key, r.feed_hash) for r in added])
    finally:
        store.close()
    return old * FEEDS


def command(archive: Path, *args: str) -> tuple[float, float]:
    """`newsmirror --archive DIR ARGS` as a user runs it: (wall seconds, peak RSS in MB of its
    largest process). Its CPU seconds (its own and its workers') are printed: on a loaded machine
    they say more than the wall time."""
    wall, rss, _, cpu = child([sys.executable, "-m", "newsmirror", "--archive", str(archive), *args])
    print(f"    {' '.join(args)}: {wall:.1f} s wall, {cpu:.1f} s CPU, {rss:.0f} MB peak RSS ({load()})", flush=True)
    return wall, rss


def child(argv: list[str]) -> tuple[float, float, str, float]:
    """Run `argv`: (wall seconds, peak RSS in MB of its largest process, its output, CPU seconds
    of it and the children it waited for); wait4 gives that process's own figures
    (RUSAGE_CHILDREN would mix in every earlier child's)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode()
        if proc.returncode:
            sys.exit(f"{' '.join(argv[:6])} ... failed:\n{text}\n{err.read().decode()}")
    return wall, usage.ru_maxrss / 1024, text, usage.ru_utime + usage.ru_stime


SEARCH = """
import json, sys, time
from pathlib import Path
from newsmirror.search import SearchIndex
queries = json.loads(sys.argv[2])
out = {}
with SearchIndex(Path(sys.argv[1])) as index:
    index.search(queries["1char"][0], limit=20)  # opened and warm, as a served search is
    for kind, qs in queries.items():
        times, cpu = [], []
        for q in qs:
            started, cpu_started = time.perf_counter(), time.process_time()
            hits = index.search(q, limit=20)
            if len(hits) == 20:
                index.total(q)  # what `newsmirror search` prints: the count of the rest
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        out[kind], out["cpu " + kind] = times, cpu
print(json.dumps(out))
"""


def queries(count: int, rng: random.Random) -> dict[str, list[str]]:
    """Queries from the generator's vocabulary (common words: the hard case for ranking)."""
    words = sorted(set(gen_corpus.WORDS + gen_corpus.NAMES))
    two = [w for w in words if len(w) == 2]
    three = sorted({w[i:i + 3] for w in words if len(w) >= 3 for i in range(len(w) - 2)})
    chars = sorted({c for w in words for c in w})
    return {"1char": [rng.choice(chars) for _ in range(count)], "2char": [rng.choice(two) for _ in range(count)],
            "3char": [rng.choice(three) for _ in range(count)],
            "words": [" ".join(rng.sample(words, rng.choice((2, 3)))) for _ in range(count)]}


def search_p95(state: Path, count: int) -> tuple[dict[str, float], float]:
    """p95 ms per kind of query (wall; "cpu KIND": the process's CPU time, which a loaded machine
    inflates far less), and the searching process's peak RSS (MB)."""
    _, rss, out, _ = child([sys.executable, "-c", SEARCH, str(state), json.dumps(queries(count, random.Random(5)))])
    p95 = {kind: percentile(times, 95) for kind, times in json.loads(out).items()}
    return p95, rss


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def load() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def configure(root: Path, base: str, extra: str = "") -> None:
    """`root`'s newsmirror.toml: the FEEDS feeds at `base`, each with the lines `extra`."""
    (root / "newsmirror.toml").write_text("".join(
        f'[[feeds]]\nid = "f{f:03d}"\ntitle = "feed {f:03d}"\nurl = "{base}/{f}.xml"\n{extra}\n' for f in range(FEEDS)),
        encoding="utf-8")


def grow(size: int, root: Path, count: int) -> dict[str, float]:
    """Grow an archive of `size` articles in the new folder `root` and measure it."""
    per_feed = max(SHOWN, size // FEEDS)
    server = FeedServer(per_feed)
    server.corpus = corpus = Corpus(server.base, newest=per_feed)
    try:
        configure(root, server.base, 'full_text = "never"\n')
        archive = Archive(root)
        archive.prepare()
        started = time.perf_counter()
        made = bulk(archive, corpus, per_feed)
        print(f"  {made} articles generated into the state and files: {time.perf_counter() - started:.0f} s ({load()})",
              flush=True)
        started = time.perf_counter()
        index(archive, [], rebuild=True)
        print(f"  search index of them: {time.perf_counter() - started:.0f} s ({load()})", flush=True)
        seed, _ = command(root, "run")
        print(f"  newest {SHOWN} of each feed fetched by `run`: {seed:.1f} s ({load()})", flush=True)
        first_site, _ = command(root, "site")
        print(f"  first `site` (every page): {first_site:.1f} s ({load()})", flush=True)

        server.count = [per_feed + 1] * FEEDS
        pass_s, pass_rss = command(root, "run")
        nochange_s, nochange_rss = command(root, "run")
        site_s, site_rss = command(root, "site")
        p95, search_rss = search_p95(archive.state_dir, count)
        row = {"articles": size, "pass_s": pass_s, "nochange_s": nochange_s, "p95_ms_1char": p95["1char"],
               "p95_ms_2char": p95["2char"], "p95_ms_3char": p95["3char"], "p95_ms_words": p95["words"],
               "rss_mb": max(pass_rss, nochange_rss, site_rss, search_rss), "state_mb": folder_mb(archive.state_dir), "site_s": site_s}
        cpu = ", ".join(f"{k[4:]} {v:.1f}" for k, v in p95.items() if k.startswith("cpu "))
        print(f"  search: peak RSS {search_rss:.0f} MB; p95, CPU ms: {cpu}")
        print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
              + f" ({load()})", flush=True)
        return row
    finally:
        server.close()


def plot(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    sizes = [r["articles"] for r in rows]
    fig, (times, p95s, sizes_ax) = plt.subplots(1, 3, figsize=(15, 4.5))
    for key, label in (("pass_s", "pass, 1 new a feed"), ("nochange_s", "no-change pass"), ("site_s", "site")):
        times.plot(sizes, [r[key] for r in rows], marker="o", label=label)
    times.set(title="seconds per command", xlabel="articles", xscale="log")
    for key in ("p95_ms_1char", "p95_ms_2char", "p95_ms_3char", "p95_ms_words"):
        p95s.plot(sizes, [r[key] for r in rows], marker="o", label=key.removeprefix("p95_ms_"))
    p95s.axhline(100, color="grey", linestyle=":", label="target")
    p95s.set(title="search p95 (ms)", xlabel="articles", xscale="log")
    for key, label in (("rss_mb", "peak RSS"), ("state_mb", "state on disk")):
        sizes_ax.plot(sizes, [r[key] for r in rows], marker="o", label=label)
    sizes_ax.axhline(500, color="grey", linestyle=":", label="RSS target")
    sizes_ax.set(title="MB", xlabel="articles", xscale="log", yscale="log")
    times.set_ylim(bottom=0)
    p95s.set_ylim(bottom=0)
    for ax in (times, p95s, sizes_ax):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle("newsmirror as the archive grows (bench/growth.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000,1000000", help="archive sizes, comma-separated (at least 10000)")
    p.add_argument("--tmpdir", type=Path, default=Path(tempfile.gettempdir()), help="where the archives grow (on disk)")
    p.add_argument("--queries", type=int, default=40, help="queries per kind")
    p.add_argument("--out", type=Path, default=BENCH / "results")
    p.add_argument("--keep", action="store_true", help="keep the archives (each size's folder is printed)")
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    if min(sizes) < FEEDS * SHOWN:
        p.error(f"--sizes: at least {FEEDS * SHOWN} (each feed's newest {SHOWN} are fetched)")
    rows, roots = [], []
    a.out.mkdir(parents=True, exist_ok=True)
    try:
        for size in sizes:
            roots.append(Path(tempfile.mkdtemp(prefix=f"nm-growth-{size}-", dir=a.tmpdir)))
            print(f"{size} articles in {roots[-1]} ({load()})", flush=True)
            rows.append(grow(size, roots[-1], a.queries))
            write(rows, a.out)
    finally:
        for root in roots if not a.keep else ():
            shutil.rmtree(root, ignore_errors=True)
    print(f"wrote {a.out / 'growth.csv'} and {a.out / 'growth.png'}")


def write(rows: list[dict[str, float]], out: Path) -> None:
    """The CSV and the plot of the sizes measured so far: a long run keeps what it reached."""
    with open(out / "growth.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows({k: (v if k == "articles" else f"{v:.3f}") for k, v in r.items()} for r in rows)
    plot(rows, out / "growth.png")


if __name__ == "__main__":
    main()
