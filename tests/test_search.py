"""Full-text search: what a reader types and what comes back."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newsmirror import search
from newsmirror.search import Doc, NothingToSearch, Searcher, SearchIndex, format_hit, html_text, open_search, query_terms
from newsmirror.store import migrate

DAY = 86_400_000
T0 = 1_715_000_000_000


def doc(number: int, title: str, body: str, feed: str = "voa", days: float = 0, link: str = "") -> Doc:
    return Doc(feed, number, title, link or f"https://example.com/{feed}/{number}", T0 + int(days * DAY), body)


ARTICLES = [
    doc(1, "以色列占领拉法过境点", '<div class="img-wrap"><img src="https://img.example.com/a.jpg" alt="图"/>'
        '<p class="caption">拉法过境点（美联社）</p></div><p>美国希望在<b>停火</b>谈判中取得进展。</p>', days=0),
    doc(2, "臺灣總統選舉結果揭曉", "<p>民進黨候選人在臺灣總統選舉中獲勝，美國國務院表示祝賀。</p>", feed="rfa", days=1),
    doc(3, "Chip export controls tightened", "<p>The U.S. Commerce Department tightened <em>export</em> rules "
        "on advanced AI chips; 半导体 makers react.</p>", feed="bbc", days=2),
    doc(4, "香港国安法四周年", "<p>香港的新闻自由继续受到限制，记者表示压力增加。</p>", days=3),
]


@pytest.fixture(params=["sqlite", "postgres"])
def open_index(request, tmp_path):
    """Opens the search index of one back end, as `[store] url` chooses it: every test taking it
    runs on both, SQLite's file beside the archive and the tables `migrate` makes in PostgreSQL."""
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        migrate(tmp_path, url)
    opened: list[Searcher] = []

    def open_() -> Searcher:
        opened.append(open_search(tmp_path / ".newsmirror", url))
        return opened[-1]

    yield open_
    for ix in opened:
        ix.close()


@pytest.fixture
def index(open_index):
    ix = open_index()
    ix.add(ARTICLES)
    return ix


def tokens(ix: Searcher) -> dict[str, int]:
    """Each token the index holds, with how many documents hold it."""
    if isinstance(ix, SearchIndex):
        ix.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.terms USING fts5vocab(main, grams, 'row')")
        return dict(ix.db.execute("SELECT term, doc FROM temp.terms").fetchall())
    return dict(ix.db.execute("SELECT t, count(*) FROM search_docs, unnest(tokens || titles) t GROUP BY t").fetchall())


def found(ix: Searcher, query: str, **filters) -> list[tuple[str, int]]:
    return [(h.feed_id, h.number) for h in ix.search(query, **filters)]


def test_one_two_and_longer_queries_find_chinese_substrings(index):
    assert found(index, "港") == [("voa", 4)]
    assert found(index, "拉法") == [("voa", 1)]
    assert found(index, "过境点") == [("voa", 1)]
    assert found(index, "新闻自由继续") == [("voa", 4)]
    assert found(index, "自由新闻") == []  # both bigrams' characters are there, not the string


def test_a_single_character_at_the_end_of_a_run_is_found(index):
    assert found(index, "揭") == [("rfa", 2)]
    assert found(index, "晓") == [("rfa", 2)]  # last character of the title: no character after it


def test_traditional_and_simplified_find_each_other(index):
    assert found(index, "台湾总统") == [("rfa", 2)]
    assert found(index, "新聞自由") == [("voa", 4)]
    assert found(index, "國務院") == [("rfa", 2)]


def test_every_pair_of_the_script_table_folds_to_one_form():
    pairs = search.script_pairs()  # the table the static site's search folds with, too
    assert pairs["發"] == "发" and pairs["衞"] == "卫"  # OpenCC's standard pairs, and Hong Kong/Taiwan variants
    assert pairs["麼"] == "么" and "么" not in pairs  # a Simplified form is never folded further (hk2s: 么 -> 幺)
    assert pairs["薴"] == pairs["苧"] == "苎"  # a chain ends where it ends
    for traditional, simplified in pairs.items():
        assert search.fold(traditional) == search.fold(simplified) == simplified, (traditional, simplified)
        # one length in UTF-16 too, so that the browser's offsets hold as Python's do
        assert len(traditional.encode("utf-16-le")) == len(simplified.encode("utf-16-le")), (traditional, simplified)


def test_latin_text_is_found_regardless_of_case_and_width(index):
    assert found(index, "commerce") == [("bbc", 3)]
    assert found(index, "ＡＩ chips") == [("bbc", 3)]
    assert found(index, "u.s.") == [("bbc", 3)]


def test_space_separated_terms_must_all_match(index):
    assert found(index, "美国 停火") == [("voa", 1)]
    assert sorted(found(index, "美国")) == [("rfa", 2), ("voa", 1)]
    assert found(index, "美国 香港") == []


def test_markup_is_not_indexed(index):
    for query in ("div", "img-wrap", "caption", "src", "https", "img.example.com", "em"):
        assert found(index, query) == [], query
    assert found(index, "停火谈判") == [("voa", 1)]  # a match across an inline tag
    assert found(index, "export rules") == [("bbc", 3)]


def test_filters_by_feed_time_and_limit(index):
    assert sorted(found(index, "美国", feed="rfa")) == [("rfa", 2)]
    assert found(index, "美国", feed="nope") == []
    assert found(index, "美国", feed="not an id") == []
    assert found(index, "美国", since=T0 + DAY) == [("rfa", 2)]
    assert found(index, "美国", until=T0 + DAY // 2) == [("voa", 1)]
    assert found(index, "美国", since=T0 + 5 * DAY) == []
    assert len(index.search("美国", limit=1)) == 1
    assert index.search("美国", limit=0) == []


def test_more_relevant_first_and_newer_first_among_equals(open_index):
    with open_index() as ix:
        ix.add([doc(1, "经济新闻", "<p>今天讨论关税问题。</p>", days=9),
                doc(2, "关税上调", "<p>关税将上调。</p>", days=0),  # in the title: most relevant, though older
                doc(3, "经济新闻", "<p>今天讨论关税问题。</p>", days=5),
                doc(4, "经济新闻", "<p>今天讨论关税问题。</p>", days=7)])
        hits = ix.search("关税")
    assert [h.number for h in hits] == [2, 1, 4, 3]
    assert hits[0].score > hits[1].score > hits[2].score > hits[3].score


def test_results_carry_what_a_reader_needs(index):
    (hit,) = index.search("國務院")
    assert (hit.feed_id, hit.number, hit.title, hit.link) == ("rfa", 2, "臺灣總統選舉結果揭曉", "https://example.com/rfa/2")
    assert hit.published == T0 + DAY and hit.score > 0
    assert hit.marked() == "民進黨候選人在臺灣總統選舉中獲勝，美國[國務院]表示祝賀。"  # the original script


def test_snippets_highlight_every_term_and_show_the_original_text(index):
    (hit,) = index.search("export 半导体")
    assert "[export]" in hit.marked() and "[半导体]" in hit.marked()
    assert "[Export]" not in hit.marked()
    (hit,) = index.search("停火")
    assert hit.marked() == "拉法过境点（美联社） 美国希望在[停火]谈判中取得进展。"


def test_long_text_snippets_are_windows_around_the_match(open_index):
    body = "<p>" + "甲" * 300 + "重要消息" + "乙" * 300 + "</p>"
    with open_index() as ix:
        ix.add([doc(1, "长文", body)])
        (hit,) = ix.search("重要")
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert len(hit.snippet) < 100
    assert hit.marked().count("[重要]") == 1


def test_hostile_queries_give_clean_results(index):
    for query in ('AND (', "NEAR(美国", "美国 OR", "col:美国", "\ue100美", 'a"b"c', "NOT", "美*"):
        assert isinstance(index.search(query), list), query
    assert found(index, "(美联社)") == [("voa", 1)]  # full-width brackets in the text
    assert found(index, "U.S. Commerce") == [("bbc", 3)]


@pytest.mark.parametrize("query", [":", "：", "...", '"', "*", "((((", "^", "'", "-", "\\", "\x00", "", "   ",
                                   "\ue07f", "→ ©", "。、「」"])
def test_a_query_without_a_word_is_nothing_to_search_for(index, query):
    with pytest.raises(NothingToSearch, match="^nothing to search for in "):
        index.search(query)
    with pytest.raises(NothingToSearch):
        index.total(query)


def test_a_colon_alone_no_longer_finds_every_article_with_a_colon(open_index):
    with open_index() as ix:
        ix.add([doc(1, "习近平：讲话", "<p>记者：今天。</p>"), doc(2, "会议", "<p>时间：明天。</p>")])
        with pytest.raises(NothingToSearch, match=r"^nothing to search for in ':'$"):
            ix.search(":")
        assert found(ix, "习近平:") == [("voa", 1)]  # the words of the query, not its colon


def test_punctuation_separates_words_but_within_latin_ones():
    assert query_terms("习近平:") == ["习近平"]
    assert query_terms("NEAR(美国") == ["near", "美国"]
    assert query_terms('"拉法" AND (过境点*)') == ["拉法", "and", "过境点"]
    assert query_terms("U.S. 3.5% covid-19 a.b") == [search.fold(w) for w in ("u.s", "3.5", "covid-19", "a.b")]
    assert query_terms("美国、中国 美国") == ["美国", "中国"]
    assert query_terms("<p>") == ["p"]  # the word p, found wherever there is one


def test_total_counts_every_match_of_a_search(open_index):
    with open_index() as ix:
        ix.add([doc(n, f"新闻{n}", "<p>美国今天发表声明。</p>", feed="voa" if n % 2 else "rfa", days=n) for n in range(1, 31)])
        assert len(ix.search("美国", limit=5)) == 5
        assert ix.total("美国") == 30
        assert ix.total("美国", feed="rfa") == 15
        assert ix.total("美国", since=T0 + 11 * DAY, until=T0 + 20 * DAY) == 10
        assert ix.total("声明 今天") == 30 and ix.total("台湾") == 0 and ix.total("美国", feed="not an id") == 0


def test_total_stops_counting_past_total_max(tmp_path, monkeypatch):
    """Counting every match of a common word would grow with the archive: past TOTAL_MAX the
    count stops at TOTAL_MAX + 1, read as "more than TOTAL_MAX"."""
    monkeypatch.setattr(search, "TOTAL_MAX", 4)
    with SearchIndex(tmp_path) as ix:
        ix.add([doc(n, f"新闻{n}", "<p>美国今天发表声明。</p>", days=n) for n in range(1, 11)])
        assert ix.total("美国") == 5 and ix.total("声明 今天") == 5
        assert ix.total("美国", since=T0 + 3 * DAY) == 5
        assert ix.total("美国", since=T0 + 8 * DAY) == 3  # under the cap: exact
        assert len(ix.search("美国", limit=10)) == 10  # the search itself is not capped


_ARTICLE_TEXT = st.text(st.sampled_from("美国台灣选举：:.,AbC 1-"), max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.one_of(st.text(max_size=30), _ARTICLE_TEXT))
@example(query=":")
@example(query="U.S.")
@example(query='"')
@example(query="NEAR(美国 AND")
@example(query="\ud800")
def test_any_query_gives_real_matches_only(index, query):
    """Never an FTS5 error, and never an article that does not hold every word of the query."""
    try:
        terms = query_terms(query)
    except NothingToSearch:
        with pytest.raises(NothingToSearch):
            index.search(query)
        return
    hits = index.search(query, limit=50)
    articles = {(a.feed_id, a.number): a for a in ARTICLES}
    for h in hits:
        a = articles[(h.feed_id, h.number)]
        text = search.fold(a.title + "\n" + html_text(a.body_html))
        assert all(t in text for t in terms), (query, h)
    assert index.total(query) >= len(hits)


def test_adding_again_replaces(index):
    index.add([doc(1, "新标题", "<p>内容完全改写。</p>")])
    assert index.count() == 4
    assert found(index, "拉法") == []
    assert found(index, "改写") == [("voa", 1)]


def test_the_index_holds_each_character_and_pair_within_runs_once_per_article(open_index):
    """The tokens repeat pairs and span white space; the index keeps exactly the distinct grams."""
    with open_index() as ix:
        ix.add([doc(1, "美国 总统", "<p>总统总统</p><p>AB-c 美</p>")])
        mark, title = search._TITLE, {"美", "国", "总", "统", "美国", "总统"}
        assert tokens(ix) == {t: 1 for t in {*title, "统总", "a", "b", "c", "ab", "\ue02dc", "b\ue02d", "\ue02d",
                                             *(mark + t for t in title), search._FEED + "voa"}}
        ix.add([doc(1, "新", "<p>新</p>")])  # replaced: every old token is forgotten
        assert tokens(ix) == {"新": 1, mark + "新": 1, search._FEED + "voa": 1}
        if isinstance(ix, SearchIndex):
            ix.db.execute("INSERT INTO grams (grams, rank) VALUES ('integrity-check', 0)")


def test_remove(index):
    assert index.remove("voa", 4)
    assert not index.remove("voa", 4)
    assert found(index, "香港") == [] and index.count() == 3
    assert sorted(found(index, "美国")) == [("rfa", 2), ("voa", 1)]


def test_rebuild_replaces_everything(index):
    assert index.rebuild([doc(9, "唯一的文章", "<p>只有这一篇。</p>")]) == 1
    assert index.count() == 1
    assert found(index, "香港") == [] and found(index, "唯一") == [("voa", 9)]


def test_big_batches_are_prepared_in_worker_processes(open_index, monkeypatch):
    pools = []

    class Pool(ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pools.append(self)

    monkeypatch.setattr(search, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(search, "_CHUNK", 3)
    monkeypatch.setattr(search, "_POOL_MIN", 6)
    docs = [doc(n, f"第{n}篇", f"<p>编号{n:03d}的文章，臺灣新聞。</p>", days=n) for n in range(1, 21)]
    with open_index() as ix:
        assert ix.add(docs[:5]) == 5
        assert pools == []  # a small batch is prepared in this process
        assert ix.add(docs[5:]) == 15
        assert len(pools) == 1
        assert ix.count() == 20
        assert found(ix, "编号007") == [("voa", 7)]
        assert len(ix.search("台湾", limit=50)) == 20


def test_an_index_of_another_scheme_is_emptied_on_open(open_index, index):
    meta = "meta" if isinstance(index, SearchIndex) else "search_meta"
    index.db.execute(f"UPDATE {meta} SET value = 'old' WHERE key = 'scheme'")
    index.close()
    with open_index() as ix:
        assert ix.count() == 0
        ix.add(ARTICLES[:1])
        assert found(ix, "拉法") == [("voa", 1)]


def test_a_damaged_database_is_a_clear_error(tmp_path):
    (tmp_path / search.DB_NAME).write_bytes(b"not a database" * 100)
    with pytest.raises(search.SearchError, match="rebuild"):
        SearchIndex(tmp_path)


def test_postgres_without_its_search_tables_says_to_migrate(tmp_path, pg_url):
    with pytest.raises(search.SearchError, match=r"^PostgreSQL database test\d+ has no search tables: run `newsmirror migrate`$"):
        open_search(tmp_path, pg_url)


def test_html_text_keeps_blocks_apart_and_inline_text_together():
    assert html_text("<p>美国<b>总统</b></p><p>第二段&amp;</p>下<br />一行<script>x()</script><!-- c -->") == \
        "美国总统\n第二段&\n下\n一行"


def test_format_hit_for_the_terminal(index):
    (hit,) = index.search("停火")
    text = format_hit(hit)
    assert text.splitlines()[0].startswith("voa/1  2024-05-06 ")
    assert "[停火]" in text and hit.title in text and hit.link in text
    assert "\x1b[" in format_hit(hit, color=True)


def test_index_file_is_separate_from_the_archive_state(tmp_path):
    with SearchIndex(tmp_path):
        pass
    assert (tmp_path / "search.db").exists()
    assert sqlite3.connect(tmp_path / "search.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"
