"""The mirror folder: what a scan of it adopts, keeps and clears away."""

from __future__ import annotations

import os

from newsmirror.archive import Archive


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
