"""`newsmirror doctor` for scheduled alerts."""

from __future__ import annotations

import socket

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


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (taken, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_mirror_that_does_not_answer_is_a_warning_not_a_failure(tmp_path, site):
    archive = tmp_path / "m"
    newsmirror("--archive", archive, "add", site.add("/f.xml", rss(item(1))), "--id", "f", "--title", "F")
    site.add("/copy/", "<html><body>镜像</body></html>", content_type="text/html")  # answers GET only: HEAD gets 501
    loop = site.add("/loop/", "", status=302, headers={"Location": "/loop/"})
    down = f"http://127.0.0.1:{closed_port()}/news/"
    config = archive / "newsmirror.toml"
    config.write_text(config.read_text(encoding="utf-8") + "[publish]\nmirrors = [\n"
                      f'  {{ name = "up", url = "{site.url("/copy/")}" }},\n  {{ name = "down", url = "{down}" }},\n'
                      f'  {{ name = "loop", url = "{loop}" }},\n'
                      '  { name = "git", url = "git@codeberg.org:you/news.git" },\n]\n', encoding="utf-8")
    newsmirror("--archive", archive, "run")
    result = newsmirror("--archive", archive, "doctor")
    assert result.code == 0, result.out
    lines = {line.split()[1]: line for line in result.out.splitlines() if line.startswith("mirror ")}
    assert lines["up"].split()[2] == "ok" and "answers" in lines["up"]
    assert lines["down"].split()[2] == "warn" and f"{down}: cannot connect" in lines["down"]
    assert lines["loop"].split()[2] == "warn" and f"{loop}: more than 5 redirects" in lines["loop"]
    assert "not checked" in lines["git"]
    assert "0 failed, 2 warnings" in result.out
