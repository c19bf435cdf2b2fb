#!/usr/bin/env python3
"""Repository growth: a simulated month of hourly passes, each committed (and pushed to a local
bare repository, as a mirror would be), then the repository's size.

    python bench/repo_growth.py [--hours 720] [--feeds 8] [--per-hour 12] [--every 1]
                                [--split none|year] [--images proxy|local] [--start 2025-07-01]

`--every N` runs a pass (and a publish) every N simulated hours, taking the N hours' articles at
once: a year of passes in minutes. The simulated clock reaches newsmirror through NEWSMIRROR_NOW.
`--split year` publishes a repository per year (one bare remote per year; start mid-year to
cross a new year); `both` also publishes the whole folder to one more remote, for the same
passes (the fair comparison); `--images local` copies every image into the archive (each article has its
own lead image, a photo-like 1600 x 1067 JPEG; "proxy" links them through the proxy).

Each hour `--per-hour` new articles (2-6 KB of VOA-like Chinese HTML from
../shared/bench/gen_corpus.py's generator) appear spread over the feeds; every feed document
shows its newest 50 items, as real feeds do; a few older articles are edited at the source.
The original mirror's repositories grew to 2-3 GB: its list pages and articles were rewritten
on every run. newsmirror rewrites a file only when its content changes.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
import gen_corpus  # noqa: E402  (the shared corpus generator: sentences, paragraphs, figures)
from PIL import Image  # noqa: E402

from newsmirror import config as configuration  # noqa: E402
from newsmirror.archive import Archive  # noqa: E402
from newsmirror.config import PublishSettings  # noqa: E402
from newsmirror.pipeline import run_pass  # noqa: E402
from newsmirror.publish import publish  # noqa: E402
from newsmirror.years import publish_years, year_of, year_repositories  # noqa: E402


class Feeds:
    """Feed documents that grow hour by hour."""

    def __init__(self, feeds: int, start: datetime, window: int = 50, seed: int = 1):
        self.rng = random.Random(seed)
        self.items: list[list[dict]] = [[] for _ in range(feeds)]
        self.clock = start
        self.window = window  # items in a feed document: at least every item new since the last pass
        self.base = ""
        self.owed = [0.0, 0.0]  # fractions of an article and of an edit carried to the next hour

    def hour(self, rate: float, edit_rate: float) -> None:
        self.clock += timedelta(hours=1)
        new, edits = (int(owed + r) for owed, r in zip(self.owed, (rate, edit_rate)))
        self.owed = [self.owed[0] + rate - new, self.owed[1] + edit_rate - edits]
        for _ in range(new):
            feed = self.rng.randrange(len(self.items))
            n = sum(len(i) for i in self.items)
            title = gen_corpus.headline(self.rng)
            body, _ = gen_corpus.body(self.rng, self.base, title, 2048, 6144)
            # Each article its own lead image, as news has (further figures from the corpus's shared 100).
            body = re.sub(r"/img/\d+\.jpg", f"/img/lead-{n}.jpg", body, count=1)
            when = self.clock - timedelta(minutes=self.rng.randrange(60))
            self.items[feed].insert(0, {"n": n, "title": title, "body": body, "date": format_datetime(when, usegmt=True)})
        for _ in range(edits):
            feed = self.items[self.rng.randrange(len(self.items))]
            if feed:
                victim = feed[self.rng.randrange(min(len(feed), 50))]
                victim["body"] = victim["body"].replace("。", "。" + gen_corpus.sentence(self.rng), 1)

    def document(self, feed: int) -> bytes:
        items = "".join(
            f"<item><title>{i['title']}</title><link>{self.base}/a/{i['n']}.html</link><guid>{self.base}/a/{i['n']}.html</guid>"
            f"<pubDate>{i['date']}</pubDate><description><![CDATA[{i['body']}]]></description></item>"
            for i in self.items[feed][:self.window])
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed {feed}</title>'
                f"<link>{self.base}/</link>{items}</channel></rss>").encode()


PHOTO = (1600, 1067)


class Photos:
    """Distinct photo-like JPEGs: crops of one canvas whose detail falls off as 1/f (each
    octave of detail 0.7 x the one coarser), so that each costs a crop and an encoding."""

    def __init__(self, seed: int = 1):
        import numpy as np  # the bench extra (matplotlib) brings it

        rng = np.random.default_rng(seed)
        w, h = PHOTO[0] * 2, PHOTO[1] * 2
        total = np.zeros((h, w, 3), np.float32)
        for k in range(9):  # octave k: noise at 1/2**k of the size, scaled up
            small = rng.normal(0, 0.7 ** (8 - k), (max(2, h >> k), max(2, w >> k), 3)).astype(np.float32)
            total += np.stack([np.asarray(Image.fromarray(small[..., c], "F").resize((w, h), Image.Resampling.BICUBIC))
                               for c in range(3)], -1)
        total = (total - total.mean()) / total.std() * 45 + 128
        self.canvas = Image.fromarray(np.clip(total, 0, 255).astype(np.uint8), "RGB")

    def jpeg(self, n: int) -> bytes:
        rng = random.Random(n)
        x, y = rng.randrange(self.canvas.width - PHOTO[0]), rng.randrange(self.canvas.height - PHOTO[1])
        out = io.BytesIO()
        self.canvas.crop((x, y, x + PHOTO[0], y + PHOTO[1])).save(out, "JPEG", quality=85)
        return out.getvalue()


def serve(feeds: Feeds, photos: Photos) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            kind = "application/rss+xml"
            try:
                if self.path.startswith("/img/"):
                    body, kind = photos.jpeg(zlib.crc32(self.path.encode())), "image/jpeg"
                else:
                    body = feeds.document(int(self.path.strip("/").split(".")[0]))
            except (ValueError, IndexError):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    feeds.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hours", type=int, default=720)
    p.add_argument("--feeds", type=int, default=8)
    p.add_argument("--per-hour", type=float, default=12)
    p.add_argument("--edits-per-hour", type=float, default=1)
    p.add_argument("--every", type=int, default=1, help="simulated hours between passes")
    p.add_argument("--feeds-out", type=int, default=20, help="articles per re-published feed (0: none)")
    p.add_argument("--split", choices=("none", "year", "both"), default="none")
    p.add_argument("--images", choices=("proxy", "local"), default="proxy")
    p.add_argument("--start", default="2025-07-01", help="the simulated clock's start (UTC)")
    a = p.parse_args()

    start = datetime.fromisoformat(a.start).replace(tzinfo=UTC)
    feeds = Feeds(a.feeds, start, window=50 + int(a.per_hour * a.every) + 1)
    server = serve(feeds, Photos())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "mirror"
        zone = configuration.DisplaySettings().zone
        years = range(year_of(int(start.timestamp() * 1000), zone),
                      year_of(int((start + timedelta(hours=a.hours)).timestamp() * 1000), zone) + 1)
        remotes = {y: Path(tmp) / (f"remote-{y}.git" if a.split != "none" else "remote.git") for y in years}
        whole = Path(tmp) / "remote.git"
        for remote in {*remotes.values(), whole}:
            subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
        root.mkdir()
        remote_setting = str(Path(tmp) / "remote-{year}.git") if a.split != "none" else str(whole)
        (root / "newsmirror.toml").write_text(
            f"feeds_out = {a.feeds_out}\n\n[fetch]\nper_host = 16\n\n[images]\nmode = \"{a.images}\"\n\n"
            f"[publish]\nremotes = [\"{remote_setting}\"]\nsplit = \"{'none' if a.split == 'none' else 'year'}\"\n"
            f"year_url = \"https://example.org/news-{{year}}\"\n\n" + "".join(
                f'[[feeds]]\nid = "f{i}"\ntitle = "feed {i}"\nurl = "{feeds.base}/{i}.xml"\nfull_text = "never"\n\n'
                for i in range(a.feeds)), encoding="utf-8")
        archive = Archive(root)
        archive.prepare()
        config = configuration.load(archive.config_path)
        settings = PublishSettings(remotes=(str(whole),))
        commits = changed_files = 0
        for hour in range(0, a.hours, a.every):
            for _ in range(a.every):
                feeds.hour(a.per_hour, a.edits_per_hour)
            os.environ["NEWSMIRROR_NOW"] = feeds.clock.isoformat()
            with archive.lock():
                report = run_pass(archive, config)
            if a.split != "none":
                result = publish_years(archive, config.publish, report.message())
                repo = max(year_repositories(archive).items())[1]
            if a.split != "year":
                result, repo = publish(root, settings, report.message()), root
            if result.commit:
                commits += 1
                changed_files += int(subprocess.run(["git", "-C", str(repo), "show", "--name-only", "--format=", "HEAD"],
                                                    capture_output=True, text=True).stdout.count("\n"))
            if (hour + a.every) % (24 * 30) < a.every:
                print(f"  day {(hour + a.every) // 24}: " + ", ".join(
                    f"{r.name} {size(r) / 2**20:.1f} MB" for r in sorted({*remotes.values(), whole}) if size(r)), flush=True)
        articles = sum(1 for _ in (root / "articles").rglob("*.md"))
        media = size(root / "media") if (root / "media").is_dir() else 0
        working = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
                      and ".newsmirror" not in p.parts)
        packed = {}
        for remote in sorted({*remotes.values(), whole}):
            if subprocess.run(["git", "-C", str(remote), "rev-parse", "-q", "--verify", "main"], capture_output=True).returncode:
                continue  # never pushed to (the whole folder's remote with --split year)
            subprocess.run(["git", "-C", str(remote), "gc", "-q"], check=True)  # what hosts do, roughly
            packed[remote.name] = size(remote)
    server.shutdown()
    print(f"{a.hours} simulated hours ({a.hours / 24:.0f} days) from {a.start}, a pass every {a.every} h, {a.feeds} feeds, "
          f"{a.per_hour} new articles/hour, {a.edits_per_hour} edit/hour, images {a.images}, split {a.split}: "
          f"{articles} articles, {commits} commits, {changed_files / max(commits, 1):.1f} files changed per commit, "
          f"{time.perf_counter() - started:.0f} s")
    print(f"working tree {working / 2**20:.1f} MB (media {media / 2**20:.1f} MB); packed (git gc): "
          + ", ".join(f"{name} {n / 2**20:.1f} MB" for name, n in packed.items()))


if __name__ == "__main__":
    main()
