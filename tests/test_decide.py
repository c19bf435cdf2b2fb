"""The identity rule (decide.py) as examples, and as properties over any sequence of entries."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsmirror.decide import BY_LINK, BY_TITLE, FileIdentity, Keys, Verdict, adopted_keys, decide, keys
from newsmirror.identity import normalized_text
from newsmirror.model import ParsedEntry
from newsmirror.store import EntryRow

FULL = "<p>" + "这是一篇完整的文章，不是摘要。" * 25 + "</p>"  # 375 characters of text
OTHER = "<p>" + "这是另一篇完整的文章，也不是摘要。" * 25 + "</p>"
TEASER = "<p>本周的七张图。</p>"


def entry(guid: str | None = None, link: str = "", body: str = "", title: str = "题", published: int | None = None) -> ParsedEntry:
    return ParsedEntry(guid=guid, link=link, title=title, published=published, content=body or None)


def key(e: ParsedEntry) -> Keys:
    return keys(e, normalized_text(e.content))


def row(n: int, e: ParsedEntry, adopted: int = 0, feed_id: str = "f") -> EntryRow:
    k = key(e)
    return EntryRow(n, feed_id, 1048574 - n, None if adopted else k.guid, e.link, k.canonical, e.title,
                    e.published or 0, 0, e.content or "", "", False, False, 0, None, k.said, None, None,
                    None if adopted else k.body, adopted)


def verdicts(new: list[ParsedEntry], archived: list[EntryRow] = (), shared: list[EntryRow] = ()) -> list[Verdict]:
    return [d.verdict for d in decide([key(e) for e in new], archived, shared=shared)]


def test_the_same_guid_is_the_same_entry_whatever_its_link():
    archived = [row(1, entry("g", "http://a.example/1"))]
    assert verdicts([entry("g", "http://b.example/2")], archived) == [Verdict.SAME]


def test_an_entry_without_a_guid_is_identified_by_its_link():
    archived = [row(1, entry("g", "http://a.example/1"))]
    assert verdicts([entry(None, "http://a.example/1?utm_source=x")], archived) == [Verdict.SAME]


def test_different_guids_on_one_link_are_different_entries():
    """A feed whose items all link to its home page keeps every item."""
    home = "http://a.example/"
    assert verdicts([entry("a", home), entry("b", home, TEASER), entry("c", home, title="同题")]) == [Verdict.NEW] * 3
    assert verdicts([entry("d", home)], [row(1, entry("a", home))]) == [Verdict.NEW]


def test_a_full_body_twin_under_another_guid_and_link_is_the_same_story():
    archived = [row(1, entry("a", "http://old.example/1", FULL))]
    assert verdicts([entry("b", "http://new.example/1", FULL)], archived) == [Verdict.SAME]


def test_a_short_or_empty_body_or_an_equal_title_never_joins_two_guids():
    for body in ("", TEASER):
        archived = [row(1, entry("week-1", "http://a.example/1", body, title="七张图看一周大事"))]
        assert verdicts([entry("week-2", "http://a.example/2", body, title="七张图看一周大事")], archived) == [Verdict.NEW]


def test_title_and_text_identify_only_entries_without_guid_and_link():
    archived = [row(1, entry(None, "", TEASER, title="快讯"))]
    assert verdicts([entry(None, "", TEASER, title="快讯")], archived) == [Verdict.SAME]
    assert verdicts([entry("g", "", TEASER, title="快讯")], archived) == [Verdict.NEW]


def test_within_one_document_a_repeat_is_noise():
    assert verdicts([entry("g", "http://a.example/1"), entry("g", "http://a.example/1")]) == [Verdict.NEW, Verdict.REPEAT]
    assert verdicts([entry("g", "http://a.example/1"), entry(None, "http://a.example/1")]) == [Verdict.NEW, Verdict.REPEAT]


def test_another_feeds_article_with_the_same_link_or_full_body_is_shared():
    other = row(9, entry("x", "http://wire.example/7", FULL), feed_id="g")
    assert verdicts([entry("y", "http://wire.example/7?utm_source=a")], shared=[other]) == [Verdict.SHARED]
    assert verdicts([entry("y", "http://copy.example/7", FULL)], shared=[other]) == [Verdict.SHARED]
    assert verdicts([entry("y", "http://copy.example/7", OTHER)], shared=[other]) == [Verdict.NEW]


def test_files_without_the_index_are_identified_by_link_or_by_title_and_date():
    home = "http://a.example/"
    files = [FileIdentity(1, "http://a.example/1"), FileIdentity(2, home), FileIdentity(3, home),
             FileIdentity(4, "http://a.example/4", "guid-4", None, None, indexed=True)]
    assert adopted_keys(files) == {1: (None, None, None, BY_LINK), 2: (None, None, None, BY_TITLE),
                                   3: (None, None, None, BY_TITLE), 4: ("guid-4", None, None, 0)}
    archived = [row(1, entry("g1", "http://a.example/1"), BY_LINK),
                row(2, entry("g2", home, title="甲", published=100), BY_TITLE),
                row(3, entry("g3", home, title="乙", published=200), BY_TITLE)]
    found = decide([key(entry("g1", "http://a.example/1")), key(entry("g3", home, title="乙", published=200)),
                    key(entry("g9", home, title="丙", published=300))], archived)
    assert [(d.verdict, d.row.id if d.row else None, d.learned) for d in found] == [
        (Verdict.SAME, 1, True), (Verdict.SAME, 3, True), (Verdict.NEW, None, False)]


# --- properties ----------------------------------------------------------------------------

entries = st.builds(
    lambda guid, link, body, title: (guid, link, body, title),
    st.sampled_from([None, "g0", "g1", "g2", "g3"]),
    st.sampled_from(["", "http://a.example/", "http://a.example/1", "http://a.example/2"]),
    st.sampled_from(["", TEASER, FULL, OTHER]),
    st.sampled_from(["甲", "乙"]),
)


def archive_in_passes(stream: list[tuple], cuts: list[int]) -> list[tuple]:
    """Run the stream through `decide` in passes cut at `cuts` (each pass's document lists its
    entries newest first, dated in the order they came), keeping what a store would; returns what
    was archived, as (guid, link, body, title)."""
    archived: list[EntryRow] = []
    out = []
    bounds = [0, *sorted(set(cuts)), len(stream)]
    for start, end in zip(bounds, bounds[1:]):
        batch = [entry(g, link, body, title, published=i) for i, (g, link, body, title) in enumerate(stream[start:end], start)]
        for e, d in zip(batch, decide([key(e) for e in batch], archived)):
            if d.verdict is Verdict.NEW:
                archived.append(row(len(archived) + 1, e))
                out.append((e.guid, e.link, e.content, e.title))
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(entries, max_size=12), st.lists(st.integers(0, 12), max_size=4), st.lists(st.integers(0, 12), max_size=4))
def test_splitting_entries_into_passes_differently_archives_the_same_articles(stream, cuts_a, cuts_b):
    cuts_a = [c for c in cuts_a if c <= len(stream)]
    cuts_b = [c for c in cuts_b if c <= len(stream)]
    assert sorted(archive_in_passes(stream, cuts_a), key=repr) == sorted(archive_in_passes(stream, cuts_b), key=repr)


@settings(max_examples=400, deadline=None)
@given(st.lists(entries, max_size=12), st.lists(st.integers(0, 12), max_size=4))
def test_an_entry_with_a_new_guid_or_link_that_is_no_twin_is_never_dropped(stream, cuts):
    archived = archive_in_passes(stream, [c for c in cuts if c <= len(stream)])
    guids, links, bodies = set(), set(), set()
    for guid, link, body, title in stream:
        k = key(entry(guid, link, body, title))
        fresh = (guid not in guids) if guid else (bool(link) and k.canonical not in links)
        if fresh and (k.body is None or k.body not in bodies):
            assert (guid, link, body or None, title) in archived
        guids.add(guid)
        links.add(k.canonical)
        if k.body and (guid, link, body or None, title) in archived:
            bodies.add(k.body)
