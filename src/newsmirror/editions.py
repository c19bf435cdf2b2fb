"""Simplified/Traditional editions of what is written (OpenCC), never of what is stored.

`variant` converts a mirror's (or one feed's) articles, lists and feeds out; `editions` writes
parallel trees (`zh-Hant/articles/...`) so that one mirror serves both scripts. Only text is
converted: markup, URLs and entities pass through untouched.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import replace
from functools import cache, lru_cache

from .htmltokens import is_text, split
from .model import Article

OPENCC = {"zh-Hans": "t2s", "zh-Hant": "s2t", "zh-TW": "s2twp", "zh-HK": "s2hk"}
SAMPLE = 400  # characters read to tell a text's script: a title and the start of its article


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


def lang_of(text: str, default: str = "zh") -> str:
    """The language tag of `text` for a page's `lang`, from its first SAMPLE characters:
    "zh-Hant" or "zh-Hans" by the characters only one script uses (so that a browser picks
    Traditional or Simplified glyph forms), "en" for Latin text with little Chinese in it,
    else `default`."""
    sample = text[:SAMPLE]
    marks = sample.translate(_marks())  # one pass in C: a title costs microseconds, as every list line needs it
    if marks.count(_LATIN) > 3 * len(_HAN.findall(sample)):  # a Chinese name in English text
        return "en"
    t, s = marks.count(_TRADITIONAL), marks.count(_SIMPLIFIED)
    return "zh-Hant" if t > s else "zh-Hans" if s > t else default


_HAN = re.compile("[\u3400-\u9fff\U00020000-\U0003ffff]")
_TRADITIONAL, _SIMPLIFIED, _LATIN = "\ue000", "\ue001", "\ue002"  # private use: marks, never text


@cache
def _marks() -> dict[int, str]:
    """A str.translate table marking the characters only Traditional text uses, those only
    Simplified text uses, and Latin letters (and removing the marks themselves from the text).

    From the table the searches fold with: its Traditional characters, and the Simplified forms
    it folds them to that OpenCC's s2t turns back (表, the fold of 錶, is Traditional too: it stays).
    """
    from .search import script_pairs  # loads OpenCC, as the site's build does already

    pairs = script_pairs()
    folded = sorted(set(pairs.values()) - pairs.keys())
    back = converter("zh-Hant")("\n".join(folded)).split("\n")
    table: dict[int, str] = {ord(m): "" for m in (_TRADITIONAL, _SIMPLIFIED, _LATIN)}
    table.update((ord(c), _TRADITIONAL) for c in pairs)
    table.update((ord(s), _SIMPLIFIED) for s, t in zip(folded, back, strict=True) if t != s)
    table.update((ord(c), _LATIN) for c in string.ascii_letters)
    return table
