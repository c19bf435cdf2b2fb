"""The CPU stages' pure decisions: which candidates go now, and how a body too long is cut."""

from __future__ import annotations

from newsmirror.htmltokens import split
from newsmirror.model import ParsedEntry
from newsmirror.process import Candidate, cut, cut_mark, within_pages


def candidate(n: int, page: bool) -> Candidate:
    return Candidate(ParsedEntry(title=f"t{n}"), wants_page=page)


def test_pages_go_while_they_last_and_then_everything_younger_waits():
    cs = [candidate(1, False), candidate(2, True), candidate(3, False), candidate(4, True), candidate(5, False)]
    go, wait = within_pages(cs, 1)
    assert [c.entry.title for c in go] == ["t1", "t2", "t3"]
    assert [c.entry.title for c in wait] == ["t4", "t5"]  # t5 needs no page, but is younger than t4
    assert within_pages(cs, 5) == (cs, [])
    assert within_pages(cs, 0) == (cs[:1], cs[1:])


def test_a_body_that_fits_is_kept_as_it_is():
    body = "<p>一段。</p>" * 10
    assert cut(body, len(body.encode())) == body


def test_a_long_body_is_cut_at_a_block_boundary_closed_and_marked():
    body = "<div><p>" + "</p><p>".join(f"第{i}段，这是一篇很长的文章。" for i in range(5000)) + "</p></div>"
    size = len(body.encode())
    out = cut(body, 40_000)
    assert len(out.encode()) <= 40_000
    assert out.endswith("</p></div>" + cut_mark(size))  # the last whole paragraph, its div closed
    kept = out[: -len(cut_mark(size))]
    assert body.startswith(kept[: -len("</div>")])
    depth = 0
    for piece in split(kept):  # well-formed: every element it opens, it closes
        if piece.startswith("</"):
            depth -= 1
        elif piece.startswith("<"):
            depth += 1
        assert depth >= 0
    assert depth == 0


def test_a_body_with_no_block_boundary_keeps_only_the_mark():
    body = "<p>" + "字" * 100_000 + "</p>"
    assert cut(body, 20_000) == cut_mark(len(body.encode()))
