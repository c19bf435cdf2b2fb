#!/usr/bin/env python3
"""A whole `newsmirror run` as a user runs it, next to the `reader` library, same corpus, same disk.

    python bench/fetch.py [--corpus DIR] [--feeds 200] [--items 50] [--port 8791] [--repeat 3]
                          [--tmpdir DIR] [--baseline REF] [--conditions idle,busy] [--python PATH]

On a generated VOA-like corpus (../shared/bench/gen_corpus.py) served with ETag/Last-Modified
(../shared/bench/serve.py), each repeat measures, in this order, on the same disk:
  1. `python -m newsmirror --archive A run` as a command into a fresh archive: the whole command's
     wall time (process start, pass, lists, search index), and the index's own share as it prints it;
  2. the same command again, nothing new (every feed answers 304);
  3. the search index of that archive built again from scratch (`pipeline.index(rebuild=True)`, what
     a first run does) by this checkout's code and by the code of git REF (`--baseline`, default
     the tag bench-baseline-15: the code before issue 15), each in a fresh process, alternating;
  4. reader's update_feeds(), first and second pass (../shared/bench/bench_reader.py, timed around
     the calls: reader's process start and add_feed() are not counted, newsmirror's are).
Then all of it again with one other CPU-bound process running (started by the bench), as on a
machine shared with another job. Medians of `--repeat` runs; the machine's load average is printed.

Archives and reader's database go to `--tmpdir`, by default the system's temporary folder (a real
disk, not /dev/shm): figures as a user gets them, disk included.

newsmirror runs as a user installs it: from a virtual environment made for the bench with
`pip install` of this checkout (its modules compiled to bytecode at install, none of the test
tools installed), or the interpreter given by `--python`. Run from a development checkout, the
command would also time what a user never pays: compiling every module at each start where
PYTHONDONTWRITEBYTECODE is set (0.3 s here), and optional imports of test-only packages (httpcore
imports trio when it is installed: 0.1 s).

Every archive is made in a folder of its own and all are deleted only at the end: on ext4 without
a journal (this project's machine), creating files next to ones deleted in the last minutes costs
up to 30 times more (the kernel skips recently freed inodes one by one), which would charge a
repeat for the cleanup of the one before.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "bench"
INDEX = ("import sys, time\nfrom pathlib import Path\nfrom newsmirror.archive import Archive\n"
         "from newsmirror.pipeline import index\nstarted = time.perf_counter()\n"
         "n = index(Archive(Path(sys.argv[1])), [], rebuild=True)\nprint(n, time.perf_counter() - started)\n")


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


def load() -> str:
    """The 1-minute load average now: figures taken on a busy machine are not comparable."""
    return f"{os.getloadavg()[0]:.1f}"


def user_env() -> dict[str, str]:
    """The environment of a user's shell: no bytecode switch or module path of this session."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}


def installed(into: Path) -> str:
    """An interpreter with this checkout installed as a user installs it: a fresh virtual
    environment and `pip install` (bytecode compiled, runtime dependencies only)."""
    venv = into / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "-U", "pip"], check=True, env=user_env())  # as the README's set-up does
    subprocess.run([*pip, str(ROOT)], check=True, env=user_env())
    return str(venv / "bin" / "python")


def command(archive: Path, python: str) -> tuple[float, float, str]:
    """`newsmirror run` as a command: wall seconds, the index's seconds, its last line."""
    started = time.perf_counter()
    done = subprocess.run([python, "-m", "newsmirror", "--archive", str(archive), "run"],
                          env=user_env(), capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"newsmirror run failed:\n{done.stdout}\n{done.stderr}")
    found = re.search(r"search index: \d+ articles, ([\d.]+) s after the pass", done.stdout)
    total = next(line for line in done.stdout.splitlines() if " feeds: " in line)
    return wall, float(found.group(1)) if found else 0.0, total


def reindex(archive: Path, python: str, src: Path | None = None) -> float:
    """Seconds to build the search index of `archive` from scratch with the installed code, or
    with the code in `src`."""
    for suffix in ("", "-wal", "-shm"):
        (archive / ".newsmirror" / f"search.db{suffix}").unlink(missing_ok=True)
    env = {**user_env(), "PYTHONPATH": str(src)} if src else user_env()
    done = subprocess.run([python, "-c", INDEX, str(archive)], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[1])


def reader(corpus_dir: Path) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, str(SHARED / "bench_reader.py"), "--corpus", str(corpus_dir),
                        "--repeat", "1", "--no-server", "--json", out.name], check=True, stdout=subprocess.DEVNULL)
        data = json.loads(Path(out.name).read_text().splitlines()[-1])
    return {"first": data["update1_s"]["median"], "second": data["update2_s"]["median"], "tool": data["tool"]}


def repeat(manifest: dict, corpus_dir: Path, archive: Path, python: str, baseline: Path) -> dict:
    """One of each measurement, in the fresh archive folder `archive`."""
    archive.mkdir()
    (archive / "newsmirror.toml").write_text(
        "".join(f'[[feeds]]\nid = "f{i:03d}"\ntitle = "feed {i:03d}"\nurl = "{u}"\n\n'
                for i, u in enumerate(manifest["feed_urls"])), encoding="utf-8")
    run: dict = {"load": [load()]}
    run["whole"], run["index"], run["total"] = command(archive, python)
    run["written"] = sum(1 for _ in (archive / "articles").rglob("*.md"))
    run["nochange"], _, run["nochange_total"] = command(archive, python)
    run["index_baseline"] = reindex(archive, python, baseline)
    run["index_now"] = reindex(archive, python)
    run["load"].append(load())
    run["reader"] = reader(corpus_dir)
    run["load"].append(load())
    return run


def baseline_tree(ref: str, into: Path) -> Path:
    """The `src` folder of git `ref`, extracted into `into`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "nm-bench-corpus")
    p.add_argument("--feeds", type=int, default=200)
    p.add_argument("--items", type=int, default=50)
    p.add_argument("--port", type=int, default=8791)
    p.add_argument("--repeat", type=int, default=3, help="fresh archives per condition; medians are printed")
    p.add_argument("--tmpdir", type=Path, default=Path(tempfile.gettempdir()),
                   help="where archives and reader's database go (default: the system's temporary folder)")
    p.add_argument("--baseline", default="07d7852398",
                   help="git ref whose search index is the baseline (default: main before issue 15)")
    p.add_argument("--conditions", default="idle,busy", help="idle, busy (one other CPU-bound process running), or both")
    p.add_argument("--python", help="an interpreter with newsmirror installed (default: a fresh virtual environment with this checkout)")
    a = p.parse_args()

    os.environ["TMPDIR"] = str(a.tmpdir)  # bench_reader.py's temporary folder too
    tempfile.tempdir = str(a.tmpdir)
    manifest = corpus(a.corpus, a.feeds, a.items, a.port)
    server = subprocess.Popen([sys.executable, str(SHARED / "serve.py"), "--root", str(a.corpus), "--port", str(a.port),
                               "--exit-after", "100000"], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    server.stdout.readline()
    results: dict[str, list[dict]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="nm-bench-") as tree:
            work = Path(tree)
            baseline = baseline_tree(a.baseline, work)
            python = a.python or installed(work)
            for condition in a.conditions.split(","):
                # the other job: one process that keeps one core busy for as long as it runs
                hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if condition == "busy" else None
                try:
                    results[condition] = [repeat(manifest, a.corpus, work / f"{condition}-{k}", python, baseline)
                                          for k in range(a.repeat)]
                finally:
                    if hog:
                        hog.kill()
                        hog.wait()
    finally:
        server.terminate()
        server.wait(10)
    report(results, manifest, a)


def report(results: dict[str, list[dict]], manifest: dict, a: argparse.Namespace) -> None:
    def med(runs: list[dict], key: str, sub: str | None = None) -> float:
        return statistics.median(r[key][sub] if sub else r[key] for r in runs)

    entries = manifest["items"]
    print(f"corpus: {a.feeds} feeds x {a.items} items = {entries} entries; {os.cpu_count()} cores; "
          f"archives and reader's database in {a.tmpdir}; medians of {a.repeat}; baseline index: {a.baseline}; "
          f"newsmirror run by {a.python or 'a fresh virtual environment (pip install of this checkout)'}")
    for condition, runs in results.items():
        written = {r["written"] for r in runs}
        if written != {entries}:
            print(f"WARNING: newsmirror wrote {sorted(written)} articles, the corpus has {entries}", file=sys.stderr)
        whole, index, first = med(runs, "whole"), med(runs, "index"), med(runs, "reader", "first")
        now, before = med(runs, "index_now"), med(runs, "index_baseline")
        loads = " ".join("/".join(r["load"]) for r in runs)
        print(f"\n{condition} machine" + (" (one other CPU-bound process running)" if condition == "busy" else "")
              + f"; load average before/after/after reader, per repeat: {loads}")
        print(f"  first run, whole command:  {whole:6.2f} s  (search index {index:.2f} s)   "
              f"{runs[0]['reader']['tool']} update_feeds(): {first:6.2f} s   ratio {first / whole:.1f}x (target >= 5x)")
        print(f"  no-change run, whole:      {med(runs, 'nochange'):6.2f} s (target < 0.5 s)   "
              f"reader: {med(runs, 'reader', 'second'):6.2f} s   ({runs[-1]['nochange_total']})")
        print(f"  search index from scratch: {entries / now:6.0f} articles/s ({now:.2f} s)   "
              f"{a.baseline}: {entries / before:6.0f} articles/s ({before:.2f} s)   ratio {before / now:.1f}x (target >= 3x)")


if __name__ == "__main__":
    main()
