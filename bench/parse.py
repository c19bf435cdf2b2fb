#!/usr/bin/env python3
"""Items per second: feedparser alone against newsmirror's parse, in one run on one corpus.

    python bench/parse.py [--corpus /tmp/corpus] [--repeat 3]

Generates the VOA-like corpus with /work/shared/bench/gen_corpus.py when it is not there yet
(200 feeds x 50 items, no article pages), reads every feed into memory, then times, best of
--repeat: feedparser.parse on the bytes (its defaults, as a project would call it), and
newsmirror.parse.parse (its fast path, and feedparser for anything it declines). Prints items/s
for each, the ratio, and how many feeds went to the fallback.
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
from newsmirror.parse import parse

GEN = "/work/shared/bench/gen_corpus.py"


def corpus(path: str) -> list[bytes]:
    if not glob.glob(os.path.join(path, "feeds", "*.xml")):
        subprocess.run([sys.executable, GEN, "--out", path, "--feeds", "200", "--items", "50", "--no-articles"],
                       check=True)
    return [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(path, "feeds", "*.xml")))]


def best(fn: Callable[[bytes], object], feeds: list[bytes], repeat: int) -> float:
    """Best wall time over `repeat` passes of fn over every feed."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for data in feeds:
            fn(data)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/tmp/corpus")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    feeds = corpus(a.corpus)
    items = sum(len(parse(data).entries) for data in feeds)

    declined = 0
    real_fast = parse_fast.parse

    def counting(*args: object) -> parse_fast.Raw | None:
        nonlocal declined
        raw = real_fast(*args)
        declined += raw is None
        return raw

    with mock.patch.object(parse_fast, "parse", counting):
        for data in feeds:
            parse(data)

    fp = best(lambda data: feedparser.parse(io.BytesIO(data)), feeds, a.repeat)
    ours = best(parse, feeds, a.repeat)
    mb = sum(map(len, feeds)) / 1e6
    print(f"corpus: {len(feeds)} feeds, {items} items, {mb:.1f} MB; best of {a.repeat}")
    print(f"feedparser.parse        {fp:7.2f} s  {items / fp:9.0f} items/s")
    print(f"newsmirror parse.parse  {ours:7.2f} s  {items / ours:9.0f} items/s")
    print(f"ratio                   {fp / ours:7.1f}x")
    print(f"fallback to feedparser  {declined} of {len(feeds)} feeds")


if __name__ == "__main__":
    main()
