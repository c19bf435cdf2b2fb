#!/usr/bin/env python3
"""Fetching at scale: newsmirror's passes next to the `reader` library, same corpus, same server.

    python bench/fetch.py [--corpus /tmp/nm-bench-corpus] [--feeds 200] [--items 50] [--port 8791]
                          [--repeat 3] [--tmpdir DIR] [--skip-reader]

On a generated VOA-like corpus (../shared/bench/gen_corpus.py) served with ETag/Last-Modified
(../shared/bench/serve.py), measures in one run:
  1. newsmirror's first pass into a fresh archive: wall time, entries/s, peak RSS, CPU use;
  2. its second pass with nothing new (every feed answers 304): wall time;
  3. reader's update_feeds(), first and second pass (../shared/bench/bench_reader.py), as the baseline.
Both are timed around the call that does the work (run_pass(), update_feeds()) in a fresh
process; newsmirror's search indexing, done right after the pass, is reported on its own line.

Both archives (reader's database too) go to /dev/shm by default, so that the figures are the
programs' and not the disk's: a first pass creates 10,000 files, and this machine's disk took
from 0.15 s to 6.5 s of kernel time to create that many from one hour to the next. The time the
disk takes for as many files alone is printed beside the pass; `--tmpdir /tmp` measures there.
Needs the bench extras: pip install ".[bench]".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
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
    peak_tree = 0
    done = threading.Event()

    def sample() -> None:
        # PSS: forked workers share their parent's pages; summing RSS would count them twice.
        # Reading it costs ~2 ms a process, so it is sampled twice a second, not more: the
        # sampler shares the two cores with the pass it measures.
        nonlocal peak_tree
        while not done.wait(0.5):
            try:
                peak_tree = max(peak_tree, sum(p.memory_full_info().pss for p in [proc, *proc.children(recursive=True)]))
            except psutil.Error:
                pass

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
    first["peak_one_mb"] = after.ru_maxrss / 1024  # the kernel's own peak of the largest process (KiB)
    return {"first": first, "second": second}


def file_creation(folder: Path, count: int, size: int) -> float:
    """Seconds to create `count` files of `size` bytes in 50-file folders: the file system's own share."""
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
    p.add_argument("--repeat", type=int, default=3, help="fresh archives (and reader databases) measured; medians are printed")
    p.add_argument("--tmpdir", type=Path, default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None,
                   help="where both archives go (reader's database too); default /dev/shm, in memory")
    a = p.parse_args()

    disk = Path(tempfile.gettempdir())
    if a.tmpdir:
        os.environ["TMPDIR"] = str(a.tmpdir)  # bench_reader.py's temporary folder too
        tempfile.tempdir = str(a.tmpdir)
    manifest = corpus(a.corpus, a.feeds, a.items, a.port)
    base, entries = manifest["base_url"], manifest["items"]
    server = subprocess.Popen([sys.executable, str(SHARED / "serve.py"), "--root", str(a.corpus), "--port", str(a.port),
                               "--exit-after", "100000"], stdout=subprocess.PIPE, text=True)
    server.stdout.readline()
    runs = []
    try:
        for _ in range(a.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                archive = Path(tmp) / "archive"
                archive.mkdir()
                feeds = "".join(f'[[feeds]]\nid = "f{i:03d}"\ntitle = "feed {i:03d}"\nurl = "{u}"\n\n'
                                for i, u in enumerate(manifest["feed_urls"]))
                (archive / "newsmirror.toml").write_text(feeds, encoding="utf-8")
                stats(base)
                run = timed_passes(archive)
                run["server"] = stats(base)
                run["written"] = sum(1 for _ in (archive / "articles").rglob("*.md"))
                size = manifest["body_bytes"] // max(entries, 1)
                run["files"] = file_creation(Path(tmp) / "files", run["written"], size)
                with tempfile.TemporaryDirectory(dir=disk) as on_disk:
                    run["disk"] = file_creation(Path(on_disk), run["written"], size)
                runs.append(run)
            if run["written"] != entries:
                print(f"WARNING: newsmirror wrote {run['written']} articles, the corpus has {entries}", file=sys.stderr)
        reader = None
        if not a.skip_reader:
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                subprocess.run([sys.executable, str(SHARED / "bench_reader.py"), "--corpus", str(a.corpus),
                                "--repeat", str(a.repeat), "--no-server", "--json", out.name],
                               check=True, stdout=subprocess.DEVNULL)
                reader = json.loads(Path(out.name).read_text().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(10)

    def spread(values: list[float]) -> str:
        """median, and the range when there was more than one run"""
        med = statistics.median(values)
        return f"{med:6.2f} s" + (f" ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else "")

    firsts = [r["first"] for r in runs]
    pass1 = [f["wall"] - f["index"] for f in firsts]
    index_s = [f["index"] for f in firsts]
    nochange = [r["second"]["wall"] for r in runs]
    cores = os.cpu_count() or 1
    print(f"corpus: {a.feeds} feeds x {a.items} items = {entries} entries, {manifest['feed_bytes'] / 2**20:.0f} MB of feed XML; "
          f"{cores} cores; archives in {tempfile.gettempdir()}; {a.repeat} run(s) each, medians (range)")
    print(f"newsmirror first pass:  {spread(pass1)}  {entries / statistics.median(pass1):7.0f} entries/s  "
          f"CPU {statistics.median(f['cpu'] for f in firsts):.1f} s for both passes  "
          f"peak memory {max(f['peak_tree_mb'] for f in firsts):.0f} MB PSS (all processes), "
          f"{max(f['peak_one_mb'] for f in firsts):.0f} MB RSS (largest)  server {runs[-1]['server']}")
    print(f"  search index, after:  {spread(index_s)}  "
          f"{firsts[0]['indexed'] / max(statistics.median(index_s), 1e-9):7.0f} articles/s")
    print(f"  files alone:          {spread([r['files'] for r in runs])}  to create {runs[-1]['written']} files of the same size"
          f" in {tempfile.gettempdir()}; on the disk ({disk}): {spread([r['disk'] for r in runs])}")
    print(f"newsmirror no-change:   {spread(nochange)}  ({runs[-1]['second']['total']})")
    if reader:
        r1, r2 = reader["update1_s"], reader["update2_s"]
        print(f"{reader['tool']} first pass:  {spread([r1['min'], r1['median'], r1['max']])}  {entries / r1['median']:7.0f} entries/s")
        print(f"{reader['tool']} no-change:   {spread([r2['min'], r2['median'], r2['max']])}")
        print(f"ratio: first pass {r1['median'] / statistics.median(pass1):.1f}x reader's entries/s (target >= 5x); "
              f"no-change pass {r2['median'] / statistics.median(nochange):.2f}x reader's speed (target >= 1)")


if __name__ == "__main__":
    main()
