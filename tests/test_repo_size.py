"""How close a repository is to its git host's limits: the pure parts (the command's report is
in test_publish.py)."""

from __future__ import annotations

from newsmirror.config import PublishSettings
from newsmirror.repo_size import Size, largest_folder, lines, packed_kib

COUNT_OBJECTS = "count: 12\nsize: 48\nin-pack: 3000\npacks: 1\nsize-pack: 831440\nprune-packable: 0\ngarbage: 0\nsize-garbage: 0\n"


def test_the_packed_size_counts_packs_and_loose_objects():
    assert packed_kib(COUNT_OBJECTS) == 831440 + 48
    assert packed_kib("") == 0  # a repository with no object yet


def test_the_largest_folder_counts_its_files_and_its_folders():
    paths = ["README.md", "lists/美国之音.md", *(f"articles/voa/{n}.md" for n in range(5)), "articles/rfa/1.md",
             "site/a/b/c.html"]
    assert largest_folder(paths) == ("articles/voa", 5)
    assert largest_folder(["README.md", "lists/a.md", "articles/voa/1.md", "site/x.html"]) == (".", 4)
    assert largest_folder([]) == (".", 0)


def test_a_warning_from_80_percent_of_each_limit():
    settings = PublishSettings(warn_size_mb=1024, warn_folder_entries=1000)
    assert lines(Size(812 * 1024, "articles/voa", 799), settings) == [
        "repository: 812 MB packed (79% of the 1024 MB limit set by [publish] warn_size_mb)",
        "largest folder: articles/voa (799 entries) (79% of the 1000-entry limit set by [publish] warn_folder_entries)"]
    assert lines(Size(820 * 1024, "articles/voa", 800), settings) == [
        "repository: 820 MB packed (warning: 80% of the 1024 MB limit set by [publish] warn_size_mb)",
        "largest folder: articles/voa (800 entries) (warning: 80% of the 1000-entry limit set by [publish] warn_folder_entries)"]
    assert lines(Size(300, ".", 4), settings)[0] == "repository: 0.3 MB packed (0% of the 1024 MB limit set by [publish] warn_size_mb)"
