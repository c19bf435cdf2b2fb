#!/usr/bin/env python3
"""Fetching at scale: newsmirror's passes next to the `reader` library, same corpus, same server.

    python bench/fetch.py [--corpus /tmp/nm-bench-corpus] [--feeds 200] [--items 50] [--port 8791]

On a generated VOA-like corpus (../shared/bench/gen_corpus.py) served with ETag/Last-Modified
(../shared/bench/serve.py), measures in one run:
  1. newsmirror's first pass into a fresh archive: wall time, entries/s, peak RSS, CPU use;
  2. its second pass with nothing new (every feed answers 304): wall time;
  3. reader's update_feeds(), first and second pass (../shared/bench/bench_reader.py), as the baseline.
Both are timed around the call that does the work (run_pass(), update_feeds()) in a fresh
process; newsmirror's search indexing, done right after the pass, is reported on its own line.
Needs the bench extras: pip install ".[bench]".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench"


def corpus(path: Path, feeds: int, items: int, port: int) -> dict:
    manifest = path / "manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text())
        if data["feeds"] == feeds and data["items_per_feed"] == items and data["base_url"].endswith(f":{port}"):
            return data
    subprocess.run([sys.executable, str(SHARED / "gen_corpus.py"), "--out", str(path), "--feeds", str(feeds),
                    "--items", str(items), "--base-url", f"http://127.0.0.1:{port}", "--no-articles"],
                   check=True, stdout=subprocess.DEVNULL)
    return json.loads(manifest.read_text())


def stats(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/__stats?reset=1", timeout=10) as r:
        return json.load(r)["status"]


def timed_passes(archive: Path) -> dict:
    """Two passes in one child process (as bench_reader.py runs its two updates), each timed
    around run_pass() (as it times update_feeds()); CPU of the whole process tree and its peak
    memory."""
    code = (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from newsmirror import config\n"
        "from newsmirror.archive import Archive\n"
        "from newsmirror.pipeline import run_pass\n"
        f"archive = Archive(Path({str(archive)!r}))\n"
        "settings = config.load(archive.config_path)\n"
        "for _ in range(2):\n"
        "    started = time.perf_counter()\n"
        "    with archive.lock():\n"
        "        report = run_pass(archive, settings, force=True)\n"
        "    print(json.dumps({'wall': time.perf_counter() - started, 'index': report.index_seconds,\n"
        "                      'indexed': report.indexed, 'total': report.total()}), flush=True)\n")
    proc = psutil.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_tree = peak_one = 0
    done = threading.Event()

    def sample() -> None:
        # PSS: forked workers share their parent's pages; summing RSS would count them twice.
        nonlocal peak_tree, peak_one
        while not done.is_set():
            try:
                tree = [proc, *proc.children(recursive=True)]
                peak_tree = max(peak_tree, sum(p.memory_full_info().pss for p in tree))
                peak_one = max(peak_one, max(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out, err = proc.communicate()
    done.set()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"the pass failed:\n{out}\n{err}")
    first, second = (json.loads(line) for line in out.strip().splitlines()[-2:])
    first["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)  # both passes
    first["peak_tree_mb"] = peak_tree / 2**20
    first["peak_one_mb"] = peak_one / 2**20
    return {"first": first, "second": second}


def file_creation(folder: Path, count: int, size: int) -> float:
    """Seconds to create `count` files of `size` bytes in 50-file folders: the disk's own share."""
    started = time.perf_counter()
    for i in range(count):
        sub = folder / f"{i // 50:04d}"
        if i % 50 == 0:
            sub.mkdir(parents=True)
        (sub / f"{i}.md").write_bytes(b"x" * size)
    return time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "nm-bench-corpus")
    p.add_argument("--feeds", type=int, default=200)
    p.add_argument("--items", type=int, default=50)
    p.add_argument("--port", type=int, default=8791)
    p.add_argument("--skip-reader", action="store_true")
    p.add_argument("--tmpdir", type=Path, default=None,
                   help="where both archives go (reader's database too), e.g. /dev/shm to take a noisy disk out")
    a = p.parse_args()

    if a.tmpdir:
        os.environ["TMPDIR"] = str(a.tmpdir)  # bench_reader.py's temporary folder too
        tempfile.tempdir = str(a.tmpdir)
    manifest = corpus(a.corpus, a.feeds, a.items, a.port)
    base, entries = manifest["base_url"], manifest["items"]
    server = subprocess.Popen([sys.executable, str(SHARED / "serve.py"), "--root", str(a.corpus), "--port", str(a.port),
                               "--exit-after", "3000"], stdout=subprocess.PIPE, text=True)
    server.stdout.readline()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "archive"
            archive.mkdir()
            feeds = "".join(f'[[feeds]]\nid = "f{i:03d}"\ntitle = "feed {i:03d}"\nurl = "{u}"\n\n'
                            for i, u in enumerate(manifest["feed_urls"]))
            (archive / "newsmirror.toml").write_text(feeds, encoding="utf-8")
            stats(base)
            passes = timed_passes(archive)
            first, second = passes["first"], passes["second"]
            both_server = stats(base)
            written = sum(1 for _ in (archive / "articles").rglob("*.md"))
            disk = file_creation(Path(tmp) / "files", written, manifest["body_bytes"] // max(entries, 1))
        if written != entries:
            print(f"WARNING: newsmirror wrote {written} articles, the corpus has {entries}", file=sys.stderr)
        reader = None
        if not a.skip_reader:
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                subprocess.run([sys.executable, str(SHARED / "bench_reader.py"), "--corpus", str(a.corpus), "--repeat", "1",
                                "--no-server", "--json", out.name], check=True, stdout=subprocess.DEVNULL)
                reader = json.loads(Path(out.name).read_text().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(10)

    cores = os.cpu_count() or 1
    print(f"corpus: {a.feeds} feeds x {a.items} items = {entries} entries, {manifest['feed_bytes'] / 2**20:.0f} MB of feed XML; "
          f"{cores} cores; archives in {tempfile.gettempdir()}")
    pass1 = first["wall"] - first["index"]
    print(f"newsmirror first pass:  {pass1:6.2f} s  {entries / pass1:7.0f} entries/s  "
          f"CPU {first['cpu']:.1f} s for both passes  "
          f"peak memory {first['peak_tree_mb']:.0f} MB PSS (all processes), {first['peak_one_mb']:.0f} MB RSS (largest)  "
          f"server {both_server}")
    print(f"  search index, after:  {first['index']:6.2f} s  {first['indexed'] / max(first['index'], 1e-9):7.0f} articles/s")
    print(f"  of which the disk:    {disk:6.2f} s  to create {written} files of the same size, alone")
    print(f"newsmirror no-change:   {second['wall']:6.2f} s  ({second['total']})")
    if reader:
        r1, r2 = reader["update1_s"]["median"], reader["update2_s"]["median"]
        print(f"{reader['tool']} first pass:  {r1:6.2f} s  {entries / r1:7.0f} entries/s")
        print(f"{reader['tool']} no-change:   {r2:6.2f} s")
        print(f"ratio: first pass {r1 / pass1:.1f}x reader's entries/s (target >= 5x); "
              f"no-change pass {r2 / second['wall']:.2f}x reader's speed (target >= 1)")


if __name__ == "__main__":
    main()
