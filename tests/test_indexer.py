"""The search index kept up during a pass: articles indexed on a thread as their files are written."""

from __future__ import annotations

import threading

from support import item, rss
from test_pipeline import make_mirror, run

import newsmirror.indexer as indexer_module
import newsmirror.pipeline as pipeline
from newsmirror.indexer import Indexer
from newsmirror.search import SearchIndex
from newsmirror.store import SEARCH_DB, Store


def titles(archive, query: str) -> list[str]:
    with SearchIndex(archive.state_dir) as index:
        return sorted(h.title for h in index.search(query, limit=100))


def test_a_first_pass_indexes_its_articles_while_it_runs(tmp_path, site, monkeypatch):
    archive = make_mirror(tmp_path, ("a", site.add("/a.xml", rss(item(1), item(2)))),
                          ("b", site.add("/b.xml", rss(item(3)))))
    left = []
    index = pipeline.index
    monkeypatch.setattr(pipeline, "index", lambda archive, written, **kw: left.append(list(written)) or index(archive, written, **kw))
    report = run(archive)
    assert report.indexed == 3
    assert left == [[]]  # nothing was left for the end of the pass
    assert titles(archive, "文章") == ["文章1", "文章2", "文章3"]


def test_a_pass_with_nothing_new_starts_no_thread(tmp_path, site, monkeypatch):
    archive = make_mirror(tmp_path, ("a", site.add("/a.xml", rss(item(1)), headers={"ETag": '"v1"'})))
    run(archive)
    started = []
    monkeypatch.setattr(Indexer, "_run", lambda self: started.append(self))
    assert run(archive).indexed == 0
    assert started == []  # no thread, and search (opencc) never imported for it


def test_an_index_to_rebuild_is_left_to_the_end_of_the_pass(tmp_path, site):
    # An index lost (or emptied for another scheme) beside a state that holds articles must be
    # built whole: filling it with the pass's new articles alone would hide the older ones.
    url = site.add("/a.xml", rss(item(1)))
    archive = make_mirror(tmp_path, ("a", url))
    run(archive)
    for suffix in ("", "-wal", "-shm"):
        (archive.state_dir / (SEARCH_DB + suffix)).unlink(missing_ok=True)
    site.add("/a.xml", rss(item(2), item(1)))
    report = run(archive)
    assert report.indexed == 2
    assert titles(archive, "文章") == ["文章1", "文章2"]


def test_articles_the_thread_could_not_index_are_indexed_at_the_end(tmp_path, site, monkeypatch):
    archive = make_mirror(tmp_path, ("a", site.add("/a.xml", rss(item(1), item(2)))))
    add = SearchIndex.add

    def add_but_not_on_the_thread(self, docs):
        if threading.current_thread().name == "newsmirror-index":
            raise OSError("disk on fire")
        return add(self, docs)

    monkeypatch.setattr(SearchIndex, "add", add_but_not_on_the_thread)
    report = run(archive)
    assert report.indexed == 2 and not report.problems
    assert titles(archive, "文章") == ["文章1", "文章2"]


def test_big_hand_overs_are_indexed_in_transactions_of_a_batch(tmp_path, site, monkeypatch):
    # A batch below search._POOL_MIN: the thread never forks a process pool while the pass runs.
    monkeypatch.setattr(indexer_module, "BATCH", 2)
    archive = make_mirror(tmp_path, ("a", site.add("/a.xml", rss(*(item(k) for k in range(1, 6))))))
    sizes = []
    add = SearchIndex.add
    monkeypatch.setattr(SearchIndex, "add", lambda self, docs: sizes.append(len(docs := list(docs))) or add(self, docs))
    assert run(archive).indexed == 5
    assert max(sizes) <= 2 and sum(sizes) == 5
    store = Store(archive.state_dir)
    try:
        assert store.count() == 5
    finally:
        store.close()
