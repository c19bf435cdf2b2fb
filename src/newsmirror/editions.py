"""Simplified/Traditional editions of what is written (OpenCC), never of what is stored.

`variant` converts a mirror's (or one feed's) articles, lists and feeds out; `editions` writes
parallel trees (`zh-Hant/articles/...`) so that one mirror serves both scripts. Only text is
converted: markup, URLs and entities pass through untouched.
"""

from __future__ import annotations

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
    traditional, simplified = _script_marks()
    sample = text[:SAMPLE]
    han = sum("\u3400" <= c <= "\u9fff" or c >= "\U00020000" for c in sample)
    if sum(c.isascii() and c.isalpha() for c in sample) > 3 * han:  # a Chinese name in English text
        return "en"
    t, s = sum(c in traditional for c in sample), sum(c in simplified for c in sample)
    return "zh-Hant" if t > s else "zh-Hans" if s > t else default


@cache
def _script_marks() -> tuple[frozenset[str], frozenset[str]]:
    """(characters only Traditional text uses, characters only Simplified text uses), from the
    table the searches fold with: its Traditional characters, and the Simplified forms it folds
    them to that OpenCC's s2t turns back (表, the fold of 錶, is Traditional too: it stays)."""
    from .search import script_pairs  # loads OpenCC, as the site's build does already

    pairs = script_pairs()
    folded = sorted(set(pairs.values()) - pairs.keys())
    back = converter("zh-Hant")("\n".join(folded)).split("\n")
    return frozenset(pairs), frozenset(s for s, t in zip(folded, back, strict=True) if t != s)
