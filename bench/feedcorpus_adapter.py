#!/usr/bin/env python3
"""newsmirror.parse.parse -> the feed-corpus JSON contract (/work/shared/feedcorpus/README.md).

    feedcorpus_adapter.py PATH_OR_URL     print one JSON object for that feed
    feedcorpus_adapter.py --worker        one path/URL per stdin line, one JSON line each

A URL is fetched here with urllib so that parse() sees the HTTP Content-Type and the final URL,
as it does in a pass (the corpus's encoding cases depend on the header). Zone-less dates are
read as UTC because that is what the corpus expects.
"""

from __future__ import annotations

import json
import sys
import urllib.request

from newsmirror.dates import iso
from newsmirror.model import ParsedFeed
from newsmirror.parse import NotAFeed, parse

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the corpus is served on 127.0.0.1


def load(arg: str) -> tuple[bytes, str, str | None]:
    """(body, final URL or '', Content-Type) for a path or an http URL."""
    if arg.startswith(("http://", "https://")):
        with _DIRECT.open(arg, timeout=20) as response:
            return response.read(), response.geturl(), response.headers.get("Content-Type")
    with open(arg, "rb") as f:
        return f.read(), "", None


def convert(feed: ParsedFeed) -> dict:
    return {
        "feed": {"title": feed.title, "link": feed.link, "subtitle": feed.subtitle, "id": feed.id,
                 "updated": iso(feed.updated), "published": iso(feed.published), "author": feed.author},
        "entries": [{"id": e.guid, "title": e.title, "link": e.link, "published": iso(e.published),
                     "updated": iso(e.updated), "author": e.author, "summary": e.summary, "content": e.content}
                    for e in feed.entries],
        "bozo": feed.warning is not None,
        "error": None,
    }


def handle(arg: str) -> dict:
    try:
        data, url, content_type = load(arg)
        return convert(parse(data, url, content_type, "UTC"))
    except NotAFeed as exc:
        return {"feed": {}, "entries": [], "bozo": True, "error": str(exc)}
    except Exception as exc:  # a crash is a finding: report it as a parse failure with its type
        return {"feed": {}, "entries": [], "bozo": True, "error": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    if sys.argv[1:] == ["--worker"]:
        for line in sys.stdin:
            print(json.dumps(handle(line.rstrip("\n"))), flush=True)
    elif len(sys.argv) == 2:
        print(json.dumps(handle(sys.argv[1]), ensure_ascii=False, indent=1))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
