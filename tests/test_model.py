"""The plain records passed between stages."""

from __future__ import annotations

from newsmirror.model import NewEntry, new_entry
from newsmirror.store import EntryRow


def test_a_new_entry_holds_every_column_of_an_archived_one_but_its_id():
    record = new_entry("voa", 1048574, title="标题", link="https://www.voachinese.com/a/1.html",
                       canonical="https://voachinese.com/a/1.html", published=1715117943000, first_seen=1715118000000,
                       body="<p>正文</p>", source_hash="abc", from_page=True, partial=True)
    assert list(record) == list(NewEntry.__annotations__) == [c for c in EntryRow.__slots__ if c != "id"]
    assert record["page_attempts"] == 1  # a partial article has used one of its page attempts
    assert (record["removed_at"], record["revised_at"], record["checked_at"]) == (None, None, None)
    assert (record["guid"], record["feed_hash"]) == (None, None)
