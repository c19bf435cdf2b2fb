"""Simplified/Traditional editions of what is written (OpenCC), never of what is stored.

`variant` converts a mirror's (or one feed's) articles, lists and feeds out; `editions` writes
parallel trees (`zh-Hant/articles/...`) so that one mirror serves both scripts. Only text is
converted: markup, URLs and entities pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

from .htmltokens import is_text, split
from .model import Article

OPENCC = {"zh-Hans": "t2s", "zh-Hant": "s2t", "zh-TW": "s2twp", "zh-HK": "s2hk"}


@lru_cache(maxsize=8)
def converter(variant: str) -> Callable[[str], str]:
    """Text conversion to `variant` ("original" converts nothing)."""
    if variant == "original":
        return str
    import opencc  # loaded only when an edition is asked for

    return opencc.OpenCC(OPENCC[variant]).convert


def convert_html(body: str, convert: Callable[[str], str]) -> str:
    """`body` with its text converted and its markup byte for byte as it was."""
    return "".join(convert(p) if is_text(p) else p for p in split(body))


def article(a: Article, variant: str) -> Article:
    if variant == "original":
        return a
    convert = converter(variant)
    return replace(a, title=convert(a.title), body=convert_html(a.body, convert))
