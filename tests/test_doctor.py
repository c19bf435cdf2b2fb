"""`newsmirror doctor` for scheduled alerts."""

from __future__ import annotations

from support import item, newsmirror, rss


def test_doctor_passes_on_a_healthy_mirror(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1), item(2))), "--id", "f", "--title", "F")
    newsmirror("--archive", archive, "run")
    result = newsmirror("--archive", archive, "doctor")
    assert result.code == 0, result.out
    assert "feed f" in result.out and "2 entries" in result.out and "GiB free" in result.out
    assert "0 failed" in result.out


def test_doctor_fails_when_a_feed_is_unreachable(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1))), "--id", "f", "--title", "F")
    newsmirror("--archive", archive, "add", site.url("/gone.xml"), "--id", "gone", "--title", "Gone", "--force")
    newsmirror("--archive", archive, "run")
    result = newsmirror("--archive", archive, "doctor")
    assert result.code == 1
    assert "HTTP 404 Not Found" in result.out and "failed 1x" in result.out
