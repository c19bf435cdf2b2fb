"""The one rule for every link newsmirror writes: only http(s) URLs.

Entry links come from hostile feeds, from archives written by older versions and from files of
the original mirror read back by `reindex`; a `javascript:`, `vbscript:` or `data:` link written
as an `href` runs its script on a click. So every output (articles, lists, re-published feeds,
the site, the reader) passes stored links through `safe_link` instead of trusting the store.
"""

from __future__ import annotations

import ada_url

SCHEMES = ("http:", "https:")


def safe_link(url: str | None) -> str:
    """`url` in WHATWG serialization when it is an absolute http(s) URL, else "" (no link).

    Parsed as a browser parses an `href` (tabs and line breaks removed, outer spaces and controls
    stripped, the scheme's case folded), so `java\\tscript:` and ` JaVaScRiPt:` are seen as the
    scripts a browser would run, not as relative paths.
    """
    if not url:
        return ""
    try:
        parts = ada_url.parse_url(url, attributes=("href", "protocol"))
    except ValueError:  # relative, or not a URL at all: nothing newsmirror stored can be relative
        return ""
    return parts["href"] if parts["protocol"] in SCHEMES else ""
