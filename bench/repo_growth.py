#!/usr/bin/env python3
"""Repository growth: a simulated month of hourly passes, each committed (and pushed to a local
bare repository, as a mirror would be), then the repository's size.

    python bench/repo_growth.py [--hours 720] [--feeds 8] [--per-hour 12] [--images proxy|local]

Each hour `--per-hour` new articles (2-6 KB of VOA-like Chinese HTML from
../shared/bench/gen_corpus.py's generator) appear spread over the feeds; every feed document
shows its newest 50 items, as real feeds do; a few older articles are edited at the source.
The original mirror's repositories grew to 2-3 GB: its list pages and articles were rewritten
on every run. newsmirror rewrites a file only when its content changes.

Each article's figure is its own photo (`/photo/<n>.jpg`, 1600 x 1067, JPEG quality 85,
~240 KB: the size of a news photo at that width), cut from a synthetic 1/f-noise canvas (the
spectrum of natural images, without their flat regions: it compresses a little worse than a
real photo). `--images local` stores them in the repository (`images.mode = "local"`);
`proxy` (the default) links them through the image proxy.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
import gen_corpus  # noqa: E402  (the shared corpus generator: sentences, paragraphs, figures)

from newsmirror import config as configuration  # noqa: E402
from newsmirror.archive import Archive  # noqa: E402
from newsmirror.config import PublishSettings  # noqa: E402
from newsmirror.pipeline import run_pass  # noqa: E402
from newsmirror.publish import publish  # noqa: E402


class Feeds:
    """Feed documents that grow hour by hour."""

    def __init__(self, feeds: int, seed: int = 1):
        self.rng = random.Random(seed)
        self.items: list[list[dict]] = [[] for _ in range(feeds)]
        self.clock = datetime(2024, 5, 1, tzinfo=timezone.utc)
        self.base = ""

    def hour(self, new: int, edits: int) -> None:
        self.clock += timedelta(hours=1)
        for _ in range(new):
            feed = self.rng.randrange(len(self.items))
            n = sum(len(i) for i in self.items)
            title = gen_corpus.headline(self.rng)
            body, _ = gen_corpus.body(self.rng, self.base, title, 2048, 6144)
            body = _SHARED_IMAGE.sub(f"/photo/{n}.jpg", body)  # a photo of its own, as news articles have
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
            for i in self.items[feed][:50])
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed {feed}</title>'
                f"<link>{self.base}/</link>{items}</channel></rss>").encode()


_SHARED_IMAGE = re.compile(r"/img/\d{4}\.jpg")
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


def serve(feeds: Feeds, photos: Photos | None = None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.startswith("/photo/") and photos:
                self.reply(photos.jpeg(int(self.path.split("/")[2].split(".")[0])), "image/jpeg")
                return
            try:
                body = feeds.document(int(self.path.strip("/").split(".")[0]))
            except (ValueError, IndexError):
                self.send_error(404)
                return
            self.reply(body, "application/rss+xml")

        def reply(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
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
    p.add_argument("--per-hour", type=int, default=12)
    p.add_argument("--edits-per-hour", type=int, default=1)
    p.add_argument("--feeds-out", type=int, default=20, help="articles per re-published feed (0: none)")
    p.add_argument("--images", choices=("proxy", "local"), default="proxy", help="images.mode")
    a = p.parse_args()

    feeds = Feeds(a.feeds)
    photos = Photos() if a.images == "local" else None
    server = serve(feeds, photos)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root, remote = Path(tmp) / "mirror", Path(tmp) / "remote.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
        root.mkdir()
        (root / "newsmirror.toml").write_text(f'feeds_out = {a.feeds_out}\n\n[images]\nmode = "{a.images}"\n\n' + "".join(
            f'[[feeds]]\nid = "f{i}"\ntitle = "feed {i}"\nurl = "{feeds.base}/{i}.xml"\nfull_text = "never"\n\n'
            for i in range(a.feeds)), encoding="utf-8")
        archive = Archive(root)
        archive.prepare()
        config = configuration.load(archive.config_path)
        settings = PublishSettings(remotes=(str(remote),))
        commits = changed_files = 0
        for hour in range(a.hours):
            feeds.hour(a.per_hour, a.edits_per_hour)
            with archive.lock():
                report = run_pass(archive, config)
            result = publish(root, settings, report.message())
            if result.commit:
                commits += 1
                changed_files += int(subprocess.run(["git", "-C", str(root), "show", "--name-only", "--format=", "HEAD"],
                                                    capture_output=True, text=True).stdout.count("\n"))
            if (hour + 1) % 168 == 0:
                print(f"  day {(hour + 1) // 24}: {size(remote) / 2**20:.1f} MB in the remote", flush=True)
        articles = sum(1 for _ in (root / "articles").rglob("*.md"))
        working = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
                      and ".newsmirror" not in p.parts)
        media = [p.stat().st_size for p in (root / "media").rglob("*.*")] if (root / "media").is_dir() else []
        loose = size(remote)
        subprocess.run(["git", "-C", str(remote), "gc", "-q"], check=True)  # what hosts do, roughly
        packed = size(remote)
    server.shutdown()
    print(f"{a.hours} hourly passes ({a.hours / 24:.0f} days), {a.feeds} feeds, {a.per_hour} new articles/hour, "
          f"{a.edits_per_hour} edit/hour: {articles} articles, {commits} commits, "
          f"{changed_files / max(commits, 1):.1f} files changed per commit, {time.perf_counter() - started:.0f} s")
    print(f"working tree {working / 2**20:.1f} MB; bare remote {loose / 2**20:.1f} MB as pushed, "
          f"{packed / 2**20:.1f} MB after git gc, {packed / max(articles, 1) / 1024:.1f} KB per article")
    if photos and media:
        print(f"images.mode = local: {len(media)} images in media/, {sum(media) / len(media) / 1024:.1f} KB each "
              f"(sources {PHOTO[0]} x {PHOTO[1]}, {len(photos.jpeg(0)) / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
