"""Extraction quality on two sets: the project's gold pages, and the public pages of
../shared/extractbench (when it sits beside this checkout).

The gold set: each gold page is `pages/<outlet>-<n>.html` (the bytes as served) with `pages/<outlet>-<n>.json`
(see README.md). In one run, for every page:

- the pipeline: encoding.decode(html=True) -> extract.extract -> header_block + body ->
  clean.clean, split into paragraphs with the header block left out; the header block's date,
  lead image and caption are scored separately;
- trafilatura alone: trafilatura.extract on the same bytes, default settings, one paragraph a
  line.

Paragraphs are compared by normalized text (NFKC, white space removed), as multisets; precision,
recall and F1 are pooled over the paragraphs of an outlet's pages and of all pages.

extractbench: its own scorer (word 4-gram F1 against hand-written bodies) runs newsmirror as the
archive has it (header block and body), the body alone (`extractbench_body`: the header block is
the house format's, not extraction noise), trafilatura and readability in one run; then the
same figures per page class (the article's length), and pages per second of newsmirror and of
trafilatura alone timed page by page in turn, so that the machine's load weighs on both alike.

    python bench/extract/run.py [--rounds N] [--verbose] [--extractbench DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import lxml.html
import trafilatura

from newsmirror.clean import clean
from newsmirror.encoding import decode
from newsmirror.extract import extract, header_block

PAGES = Path(__file__).parent / "pages"
ROOT = Path(__file__).resolve().parents[2]
BODY = Path(__file__).resolve().relative_to(ROOT)
EXTRACTBENCH = ROOT / "../shared/extractbench"
# Elements that end a paragraph in the cleaned body; <br> ends a line too.
BLOCKS = frozenset("address article blockquote dd div dl dt figcaption h1 h2 h3 h4 h5 h6 header hr li main ol p pre "
                   "section table tbody td tfoot th thead tr ul".split())
# The header block as clean() writes it: date, then lead image and caption when there are any.
HEADER = re.compile(r'^<div><i>[^<]*</i></div>(<img [^>]*>)?(<div><small [^>]*>.*?</small></div>)?', re.S)


@dataclass(frozen=True)
class Page:
    name: str
    outlet: str
    url: str
    content_type: str | None
    data: bytes
    paragraphs: tuple[str, ...]
    lead_image: str | None
    caption: str | None
    published: int | None  # milliseconds since the epoch


@dataclass(frozen=True)
class Output:
    paragraphs: tuple[str, ...]
    lead_image: str | None = None
    caption: str | None = None
    published: int | None = None


@dataclass
class Tally:
    """Paragraph counts pooled over pages, and the header block's date, lead image and caption hits."""

    matched: int = 0
    extracted: int = 0
    expected: int = 0
    pages: int = 0
    date_hits: int = 0
    lead_hits: int = 0
    caption_hits: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, page: Page, out: Output) -> None:
        got, want = Counter(map(normalize, out.paragraphs)), Counter(map(normalize, page.paragraphs))
        self.matched += sum((got & want).values())
        self.extracted += sum(got.values())
        self.expected += sum(want.values())
        self.pages += 1
        self.date_hits += out.published == page.published
        self.lead_hits += out.lead_image == page.lead_image
        self.caption_hits += normalize(out.caption or "") == normalize(page.caption or "")
        self.misses += [f"{page.name}: missing {p[:40]}" for p in (want - got)]
        self.misses += [f"{page.name}: extra   {p[:40]}" for p in (got - want)]

    @property
    def precision(self) -> float:
        return self.matched / self.extracted if self.extracted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def normalize(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def load_gold(directory: Path = PAGES) -> list[Page]:
    pages = []
    for spec in sorted(directory.glob("*.json")):
        gold = json.loads(spec.read_text(encoding="utf-8"))
        pages.append(Page(spec.stem, gold["outlet"], gold["url"], gold.get("content_type"),
                          spec.with_suffix(".html").read_bytes(), tuple(gold["paragraphs"]),
                          gold["lead_image"], gold["caption"], _instant(gold["published"])))
    return pages


def _instant(iso: str | None) -> int | None:
    """Milliseconds since the epoch of an ISO 8601 time with its offset."""
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000) if iso else None


def pipeline(page: Page) -> Output:
    """The page as newsmirror archives it: decoded on its own evidence, extracted, cleaned."""
    extracted = extract(decode(page.data, page.content_type, html=True), page.url)
    if extracted is None:
        return Output(())
    body = clean(header_block(extracted.published or 0, extracted.lead_image, extracted.caption) + extracted.body,
                 page.url)
    return Output(tuple(paragraphs(HEADER.sub("", body, count=1))), extracted.lead_image, extracted.caption,
                  extracted.published)


def trafilatura_alone(page: Page) -> Output:
    """trafilatura.extract with its defaults on the page's bytes (it decodes them itself)."""
    text = trafilatura.extract(page.data, url=page.url) or ""
    # Its plain text marks list items with "- ".
    return Output(tuple(re.sub(r"^- ", "", line) for line in text.splitlines() if line.strip()))


def paragraphs(body: str) -> list[str]:
    """The text blocks of a cleaned body, in order; figures (pictures and their captions) are not
    paragraphs."""
    if not body.strip():
        return []
    lines = [""]
    _walk(lxml.html.fragment_fromstring(body, create_parent="div"), lines)
    return [" ".join(line.split()) for line in lines if line.strip()]


def _walk(element: lxml.html.HtmlElement, lines: list[str]) -> None:
    block = element.tag in BLOCKS
    if block:
        lines.append("")
    lines[-1] += element.text or ""
    for child in element:
        if child.tag == "br":
            lines.append("")
        elif isinstance(child.tag, str) and child.tag != "figure":
            _walk(child, lines)
        lines[-1] += child.tail or ""
    if block:
        lines.append("")


def evaluate(pages: Iterable[Page], method: Callable[[Page], Output]) -> dict[str, Tally]:
    """Tallies per outlet and under "overall"."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for page in pages:
        out = method(page)
        tallies[page.outlet].add(page, out)
        tallies["overall"].add(page, out)
    return dict(tallies)


def speed(pages: list[Page], method: Callable[[Page], Output], rounds: int) -> float:
    """Pages per second, after one warm-up pass (imports, caches)."""
    for page in pages:
        method(page)
    start = time.perf_counter()
    for _ in range(rounds):
        for page in pages:
            method(page)
    return len(pages) * rounds / (time.perf_counter() - start)


def report(pages: list[Page], rounds: int, verbose: bool) -> str:
    ours, theirs = evaluate(pages, pipeline), evaluate(pages, trafilatura_alone)
    outlets = sorted(k for k in ours if k != "overall") + ["overall"]
    rows = ["gold set: the body's paragraphs (header block cut), then the header block's parts found right",
            f"{'outlet':<10}{'pages':>6}   {'pipeline P / R / F1':<22}{'trafilatura P / R / F1':<24}"
            f"{'date':>7}{'lead img':>10}{'caption':>9}"]
    for name in outlets:
        a, b = ours[name], theirs[name]
        rows.append(f"{name:<10}{a.pages:>6}   {a.precision:.3f} {a.recall:.3f} {a.f1:.3f}    "
                    f"{b.precision:.3f} {b.recall:.3f} {b.f1:.3f}    {a.date_hits:>3}/{a.pages:<3}"
                    f"  {a.lead_hits:>3}/{a.pages:<3}  {a.caption_hits:>3}/{a.pages:<3}")
    rows.append(f"\npages/s (one core): pipeline {speed(pages, pipeline, rounds):.1f}, "
                f"trafilatura alone {speed(pages, trafilatura_alone, rounds):.1f}")
    if verbose:
        rows += ["\npipeline misses:", *ours["overall"].misses, "\ntrafilatura misses:", *theirs["overall"].misses]
    return "\n".join(rows)


def extractbench_body(html: str, url: str) -> str:
    """For extractbench's score.py: the body newsmirror archives, without its header block, as text."""
    found = extract(html, url)
    return _scorer().html_to_text(clean(found.body, url)) if found else ""


def _scorer(directory: Path = EXTRACTBENCH):  # type: ignore[no-untyped-def]
    """extractbench's score.py as a module (its metric, pages and built-in extractors)."""
    if "extractbench_score" not in sys.modules:
        spec = importlib.util.spec_from_file_location("extractbench_score", directory / "score.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    return sys.modules["extractbench_score"]


# Page classes of extractbench: the length of the article (words of its ground truth).
LENGTHS = ((300, "short (<300 words)"), (800, "medium (300-799)"), (10**9, "long (800+)"))


def extractbench(directory: Path, rounds: int) -> str:
    """score.py's table for newsmirror (archived, body alone), trafilatura and readability, the
    same per page class, and pages per second of newsmirror and trafilatura timed in turn."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.json"
        command = [sys.executable, str(directory.resolve() / "score.py"), "--extractor", "newsmirror",
                   "--extractor", f"{BODY}:extractbench_body", "--extractor", "trafilatura", "--extractor", "readability",
                   "--out", str(out)]
        table = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout.rstrip()
        results = json.loads(out.read_text(encoding="utf-8"))["results"]
    names = list(results)
    rows = ["", f"extractbench (score.py {' '.join(command[2:-2])}):", table, "", "F1 per page class:",
            f"{'class':<20}{'pages':>6}  " + "  ".join(f"{n.partition(':')[2] or n:>18}" for n in names)]
    lower = 0
    for upper, label in LENGTHS:
        pages = {n: [p for p in results[n]["per_page"] if lower <= p["truth_words"] < upper] for n in names}
        rows.append(f"{label:<20}{len(pages[names[0]]):>6}  " + "  ".join(f"{_f1(pages[n]):>18.3f}" for n in names))
        lower = upper
    ours, theirs = _speed(directory, rounds)
    rows.append(f"\npages/s, page by page in turn ({rounds} rounds): newsmirror {ours:.1f}, trafilatura alone {theirs:.1f} "
                f"({ours / theirs:.0%})")
    return "\n".join(rows)


def _f1(pages: list[dict]) -> float:
    """extractbench's F1: of the mean precision (pages with output) and the mean recall."""
    precisions = [p["precision"] for p in pages if p["precision"] is not None]
    p = statistics.fmean(precisions) if precisions else 0.0
    r = statistics.fmean(page["recall"] or 0.0 for page in pages) if pages else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def _speed(directory: Path, rounds: int) -> tuple[float, float]:
    """Pages per second of score.py's newsmirror and trafilatura extractors, each page run by one
    then the other (in alternating order), after a warm-up call."""
    score = _scorer(directory)
    pages = score.load_pages(directory)
    ours, theirs = score.load_extractor("newsmirror")[0], score.load_extractor("trafilatura")[0]
    ours(pages[0].html, pages[0].url), theirs(pages[0].html, pages[0].url)
    spent = {ours: 0.0, theirs: 0.0}
    for n in range(rounds):
        for page in pages:
            for method in (ours, theirs) if n % 2 == 0 else (theirs, ours):
                start = time.perf_counter()
                method(page.html, page.url)
                spent[method] += time.perf_counter() - start
    return len(pages) * rounds / spent[ours], len(pages) * rounds / spent[theirs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the pages (default 3)")
    parser.add_argument("--verbose", action="store_true", help="list the paragraphs each method missed or added")
    parser.add_argument("--extractbench", type=Path, default=EXTRACTBENCH,
                        help="extractbench's folder (default ../shared/extractbench); skipped when missing")
    args = parser.parse_args(argv)
    print(report(load_gold(), args.rounds, args.verbose))
    if (args.extractbench / "score.py").exists():
        print(extractbench(args.extractbench, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
