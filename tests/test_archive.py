"""The mirror folder: what a scan of it adopts, keeps and clears away; the names of its files."""

from __future__ import annotations

import os

from newsmirror.archive import Archive, ListNames, list_names


def test_a_scan_clears_what_a_killed_pass_left_half_written_but_not_what_is_being_written(tmp_path):
    archive = Archive(tmp_path)
    folder = archive.feed_folder("voa")
    folder.mkdir(parents=True)
    (folder / "1048574.md").write_text("<!--1-->")
    (folder / "1048573_标题.md").write_text("<!--1-->")  # the original mirror's naming
    (folder / ".nm-tmp-1-0").write_text("<!--1-->\n[half")  # process 1 is not a pass that is still running
    writing = folder / f".nm-tmp-{os.getpid()}-7"  # this process's writer thread, between write and rename
    writing.write_text("<!--1-->\n[whole")

    assert sorted(archive.numbers_on_disk("voa")) == [1048573, 1048574]
    assert writing.exists()
    assert not (folder / ".nm-tmp-1-0").exists()


def test_a_scan_reads_every_name_the_original_mirror_wrote_and_says_why_it_passes_over_the_rest(tmp_path):
    archive = Archive(tmp_path)
    folder = archive.feed_folder("voa")
    (folder / "5.md").mkdir(parents=True)
    for name in ("1048574_德语媒体：北京的快速回应\n\n.md", "1048573.md", "1048573_同一篇.md", "0001048573_又一篇.md",
                 "12\n.md", "notes.txt", "9" * 30 + ".md", ".identity.jsonl"):  # the last is newsmirror's own
        (folder / name).write_text("<!--1-->")

    found, others = archive.scan("voa")
    assert found == {1048574: folder / "1048574_德语媒体：北京的快速回应\n\n.md", 1048573: folder / "1048573.md"}
    assert sorted((p.name, why) for p, why in others) == [
        ("0001048573_又一篇.md", "article 1048573 is 1048573.md"), ("1048573_同一篇.md", "article 1048573 is 1048573.md"),
        ("12\n.md", "not named <n>.md or <n>_<title>.md"), ("5.md", "a folder"),
        ("9" * 30 + ".md", "its number is too large"), ("notes.txt", "not named <n>.md or <n>_<title>.md")]
    assert archive.numbers_on_disk("voa") == found


def test_an_ordinary_title_keeps_the_original_mirror_s_list_name():
    assert list_names([("voa", "美国之音", True), ("bbc", "BBC News 中文", False)]) == {"voa": "美国之音", "bbc": "BBC News 中文"}


def test_titles_that_made_one_list_file_now_make_one_each():
    names = list_names([("s", "a/b", True), ("u", "a_b", True), ("b", "a\\b", True), ("dot", ".", True),
                        ("dots", "..", True), ("up", "A_B", False)])
    assert names == {"u": "a_b", "s": "a_b-s", "b": "a_b-b", "dot": "feed", "dots": "feed-dots", "up": "A_B-up"}
    assert len({n.casefold() for n in names.values()}) == len(names)  # also on Windows and macOS


def test_configured_titles_claim_their_names_before_titles_from_feeds():
    # A feed calling itself "美国之音" never takes the list of the feed configured with that title.
    names = list_names([("fake", "美国之音", False), ("voa", "美国之音", True)])
    assert names == {"voa": "美国之音", "fake": "美国之音-fake"}


def test_names_one_file_on_macos_or_windows_never_go_to_two_feeds():
    names = list_names([("a", "Café", True), ("b", "Cafe\u0301", True), ("c", "CAFÉ", True)])  # é composed, or e + ´
    assert names == {"a": "Café", "b": "Cafe\u0301-b", "c": "CAFÉ-c"}


def test_list_names_are_never_windows_devices_nor_end_in_a_dot_and_are_bounded():
    names = list_names([("a", "CON", True), ("b", "nul.md", True), ("c", "com1", False), ("d", "Reuters.", True),
                        ("e", "新闻 " * 200, True), ("f", "新闻 " * 200, True), ("g", "\u3000x\u3000", True),
                        ("h", "LPT\u00b2", True)])
    assert names["a"] == "_CON" and names["b"] == "_nul.md" and names["c"] == "_com1" and names["d"] == "Reuters"
    assert names["g"] == "x" and names["h"] == "_LPT\u00b2"
    assert all(len(n.encode()) <= 200 and not n.endswith((".", " ")) for n in names.values())
    assert names["f"].endswith("-f") and names["e"] != names["f"]


def test_a_suffix_another_title_already_holds_is_passed_over():
    names = list_names([("x", "T-y", True), ("z", "T", True), ("y", "T", True)])
    assert names == {"x": "T-y", "z": "T", "y": "T-y-2"}


def test_a_title_that_changes_during_a_pass_takes_a_name_no_other_feed_holds():
    names = ListNames([("new", "new", False), ("voa", "美国之音", True)])
    assert names.name("voa", "美国之音") == "美国之音"
    assert names.name("new", "美国之音") == "美国之音-new"  # its first fetch named it; voa keeps its list
    assert names.name("new", "自由亚洲") == "自由亚洲"
    assert names.name("voa", "美国之音") == "美国之音"
