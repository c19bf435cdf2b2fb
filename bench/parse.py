#!/usr/bin/env python3
"""Items per second: feedparser alone against newsmirror's parse, in one run on one corpus.

    python bench/parse.py [--corpus /tmp/corpus] [--repeat 3]

Generates the VOA-like corpus with /work/shared/bench/gen_corpus.py when it is not there yet
(200 feeds x 50 items, no article pages) and reads every feed into memory. Then, feed by feed,
it times feedparser.parse on the bytes (its defaults, as a project would call it) and
newsmirror.parse.parse (its fast path, and feedparser for what that declines), alternating the
two so that both meet the same machine load, and keeps each one's best of --repeat. Times are
CPU time of this process, which other processes on a busy machine do not inflate. Prints
items/s for each, the ratio, and how many feeds went to the fallback.
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from unittest import mock

import feedparser

from newsmirror import parse_fast
from newsmirror.parse import NotAFeed, parse

GEN = "/work/shared/bench/gen_corpus.py"


def corpus(path: str) -> list[bytes]:
    if not glob.glob(os.path.join(path, "feeds", "*.xml")):
        subprocess.run([sys.executable, GEN, "--out", path, "--feeds", "200", "--items", "50", "--no-articles"],
                       check=True)
    return [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(path, "feeds", "*.xml")))]


def cpu(fn: Callable[[], object], repeat: int) -> float:
    """Best CPU time of `repeat` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def declined(data: bytes) -> bool:
    """Whether the fast path hands this feed to feedparser."""
    real, taken = parse_fast.parse, []
    with mock.patch.object(parse_fast, "parse", lambda *args: taken.append(real(*args)) or taken[-1]):
        parse(data)
    return not any(raw is not None for raw in taken)


def equality(folder: str) -> str:
    """Fast path against feedparser on feedparser's own corpus: every document both read."""
    url = "https://feeds.example.org/dir/feed.xml"
    fast = differ = 0
    for path in sorted(glob.glob(os.path.join(folder, "**", "*.xml"), recursive=True)):
        data = open(path, "rb").read()
        try:
            ours = parse(data, url, None, "UTC")
        except NotAFeed:
            continue
        if declined(data):
            continue
        fast += 1
        with mock.patch.object(parse_fast, "parse", lambda *args: None):
            differ += ours != parse(data, url, None, "UTC")
    return f"fast path == feedparser on {fast - differ} of the {fast} corpus documents it reads"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/tmp/corpus")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--feedcorpus", default=os.path.join(os.path.dirname(__file__), "../../shared/feedcorpus/data"),
                    help="feedparser's test corpus, to check the fast path's equality with feedparser")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    feeds = corpus(a.corpus)
    items = sum(len(parse(data).entries) for data in feeds)
    fp = ours = 0.0
    for data in feeds:
        fp += cpu(lambda: feedparser.parse(io.BytesIO(data)), a.repeat)
        ours += cpu(lambda: parse(data), a.repeat)
    mb = sum(map(len, feeds)) / 1e6
    print(f"corpus: {len(feeds)} feeds, {items} items, {mb:.1f} MB; CPU time, best of {a.repeat} per feed")
    print(f"feedparser.parse        {fp:7.2f} s  {items / fp:9.0f} items/s")
    print(f"newsmirror parse.parse  {ours:7.2f} s  {items / ours:9.0f} items/s")
    print(f"ratio                   {fp / ours:7.1f}x")
    print(f"fallback to feedparser  {sum(map(declined, feeds))} of {len(feeds)} feeds")
    if os.path.isdir(a.feedcorpus):
        print(equality(a.feedcorpus))


if __name__ == "__main__":
    main()
