"""`newsmirror digest`: a day's articles as digests/D.md and D.html, mailed through a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from support import item, newsmirror, rss

from newsmirror import digest
from newsmirror.config import ImageSettings
from newsmirror.dates import zone
from newsmirror.model import Article

DAY = "2024-05-07"
CONFIG = """\
[[feeds]]
id = "rfa"
title = "自由亚洲"
url = "{base}/rfa.xml"

[[feeds]]
id = "voa"
title = "美国之音"
url = "{base}/voa.xml"
"""
PICTURE = '<p>配图。</p><img src="https://cdn.example.org/p.jpg">' + "".join(f"<p>第{i}段。</p>" for i in range(12))


@pytest.fixture
def mirror(tmp_path: Path, site) -> Path:
    """Two feeds, `rfa` configured first; articles around 2024-05-07 in UTC+8."""
    site.add("/voa.xml", rss(
        item(1, "Mon, 06 May 2024 15:00:00 GMT", title="前一天"),  # 05-06 23:00 UTC+8
        item(2, "Mon, 06 May 2024 23:30:00 GMT", title="清早的新闻"),  # 05-07 07:30 UTC+8: D, though 05-06 in UTC
        item(3, "Tue, 07 May 2024 10:00:00 GMT", title="晚上的新闻", body=PICTURE),  # 05-07 18:00 UTC+8
        item(4, "Tue, 07 May 2024 16:30:00 GMT", title="后一天")))  # 05-08 00:30 UTC+8
    site.add("/rfa.xml", rss(item(5, "Tue, 07 May 2024 04:00:00 GMT", title="&lt;script&gt;alert(1)&lt;/script&gt; &amp; [链接]")))
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text(CONFIG.format(base=site.base), encoding="utf-8")
    assert newsmirror("--archive", archive, "run").code == 0
    return archive


class Inbox:
    """What a local SMTP server received: each message with its envelope."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, data) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret", handled=False)  # handled=False: the server says 535


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on 127.0.0.1 that offers no STARTTLS."""
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    server.start()
    yield inbox, server.port
    server.stop()


@pytest.fixture
def tls_smtp(tmp_path: Path, monkeypatch) -> Iterator[tuple[Inbox, int]]:
    """An SMTP server that requires STARTTLS and AUTH, with a self-signed certificate made here,
    trusted by the client through SSL_CERT_FILE (as a private CA would be)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
                        authenticator=inbox.authenticate, auth_require_tls=True)
    server.start()
    yield inbox, server.port
    server.stop()


def configure(archive: Path, settings: str) -> None:
    path = archive / "newsmirror.toml"
    path.write_text(f"[digest]\n{settings}\n" + path.read_text(encoding="utf-8"), encoding="utf-8")


def files(archive: Path) -> tuple[str, str]:
    return ((archive / f"digests/{DAY}.md").read_text(encoding="utf-8"),
            (archive / f"digests/{DAY}.html").read_text(encoding="utf-8"))


def test_the_digest_holds_the_day_s_articles_by_feed_in_both_files(mirror):
    result = newsmirror("--archive", mirror, "digest", "--date", DAY)
    assert result.code == 0, result.err
    assert f"Digest of {DAY}: 3 articles (3 in full)" in result.out
    text, page = files(mirror)
    # 05-07 in UTC+8 only: the 23:30 UTC article of 05-06 is in, 16:30 UTC of 05-07 is not.
    assert "清早的新闻" in text and "晚上的新闻" in text and "前一天" not in text + page and "后一天" not in text + page
    # Feeds in the configuration's order; within a feed, by time.
    assert text.index("## 自由亚洲") < text.index("## 美国之音") < text.index("清早的新闻") < text.index("晚上的新闻")
    assert "2024-05-07 07:30 UTC+8" in text and "3 篇文章（发布于 2024-05-07，UTC+8）" in text
    assert "### [\\<script>alert(1)\\</script> & \\[链接\\]](http://127.0.0.1:" in text  # a title is text, never markup
    assert "第2篇文章的第11段。这是一个完整的句子。" in text  # the body as paragraphs of text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; [链接]" in page and "<script" not in page
    assert '<img src="https://images.weserv.nl?url=cdn.example.org/p.jpg">' in page  # through the image proxy
    assert "<style>" in page and 'href="' not in page.split("<body>")[0]  # self-contained: nothing loaded beside it


def test_running_it_again_rewrites_the_same_bytes(mirror):
    assert newsmirror("--archive", mirror, "digest", "--date", DAY).code == 0
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (mirror / "digests").iterdir()}
    assert newsmirror("--archive", mirror, "digest", "--date", DAY).code == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (mirror / "digests").iterdir()} == before


def test_the_default_day_is_yesterday_in_the_display_zone(mirror):
    result = newsmirror("--archive", mirror, "digest")
    assert result.code == 0
    assert len(list((mirror / "digests").glob("*.md"))) == 1
    assert digest.yesterday(1715101200000, zone("Asia/Shanghai")) == date(2024, 5, 7)  # 2024-05-08 01:00 UTC+8
    assert digest.yesterday(1715101200000, zone("UTC")) == date(2024, 5, 6)  # 2024-05-07 17:00 UTC


def test_a_date_that_is_no_day_is_a_usage_error(mirror):
    result = newsmirror("--archive", mirror, "digest", "--date", "2024-02-30")
    assert result.code == 2 and "--date: '2024-02-30' is not a day (YYYY-MM-DD" in result.err
    assert not (mirror / "digests").exists()


def test_the_digest_is_mailed_with_both_parts_to_every_recipient(mirror, smtp):
    inbox, port = smtp
    configure(mirror, f'smtp = "127.0.0.1:{port}"\nfrom = "mirror@example.org"\nto = ["a@example.org", "b@example.org"]')
    result = newsmirror("--archive", mirror, "digest", "--date", DAY)
    assert result.code == 0, result.err
    assert f"Mailed to a@example.org, b@example.org through 127.0.0.1:{port}" in result.out
    (sender, recipients, mail), = inbox.mails
    assert sender == "mirror@example.org" and recipients == ["a@example.org", "b@example.org"]
    assert mail["Subject"] == "新闻镜像 2024-05-07：3 篇文章" and mail["To"] == "a@example.org, b@example.org"
    assert mail.get_content_type() == "multipart/alternative"
    text, page = files(mirror)
    assert mail.get_body(("plain",)).get_content() == text
    assert mail.get_body(("html",)).get_content() == page


def test_starttls_and_login_when_the_server_asks_for_them(mirror, tls_smtp, monkeypatch):
    inbox, port = tls_smtp
    configure(mirror, f'smtp = "127.0.0.1:{port}"\nfrom = "m@example.org"\nto = ["a@example.org"]\nuser = "mirror"\n'
                      'password_env = "DIGEST_PASSWORD"')
    monkeypatch.setenv("DIGEST_PASSWORD", "wrong")
    result = newsmirror("--archive", mirror, "digest", "--date", DAY)
    assert result.code == 1 and result.err.count("\n") == 1
    assert f"newsmirror: cannot mail the digest through 127.0.0.1:{port}: login as 'mirror' refused (535 " in result.err
    monkeypatch.setenv("DIGEST_PASSWORD", "s3cret")
    assert newsmirror("--archive", mirror, "digest", "--date", DAY).code == 0
    # smtplib tries each method the server offers (PLAIN, then LOGIN) before it gives up.
    assert set(inbox.logins[:-1]) == {(b"mirror", b"wrong")} and inbox.logins[-1] == (b"mirror", b"s3cret")
    assert len(inbox.mails) == 1


def test_a_certificate_that_is_not_trusted_stops_the_mail(mirror, tls_smtp, monkeypatch):
    inbox, port = tls_smtp
    monkeypatch.delenv("SSL_CERT_FILE")
    configure(mirror, f'smtp = "127.0.0.1:{port}"\nfrom = "m@example.org"\nto = ["a@example.org"]')
    result = newsmirror("--archive", mirror, "digest", "--date", DAY)
    assert result.code == 1 and "TLS failed (CERTIFICATE_VERIFY_FAILED)" in result.err and not inbox.mails


@pytest.mark.parametrize(("settings", "message"), [
    ('starttls = "always"', 'the server does not offer STARTTLS (starttls = "always")'),
    ('user = "mirror"', "the server does not offer STARTTLS; the password is not sent unencrypted"),
])
def test_what_would_go_unencrypted_is_not_sent(mirror, smtp, settings, message):
    inbox, port = smtp
    configure(mirror, f'smtp = "127.0.0.1:{port}"\nfrom = "m@example.org"\nto = ["a@example.org"]\n{settings}')
    result = newsmirror("--archive", mirror, "digest", "--date", DAY)
    assert result.code == 1 and result.err == f"newsmirror: cannot mail the digest through 127.0.0.1:{port}: {message}\n"
    assert not inbox.mails
    assert "清早的新闻" in files(mirror)[0]  # the files are written all the same


def test_a_closed_port_is_one_line_and_the_files_are_still_written(mirror):
    port = free_port()
    configure(mirror, f'smtp = "127.0.0.1:{port}"\nfrom = "m@example.org"\nto = ["a@example.org"]\ntimeout = 5')
    result = newsmirror("--archive", mirror, "digest", "--date", DAY)
    assert result.code == 1
    assert result.err == f"newsmirror: cannot mail the digest through 127.0.0.1:{port}: connection refused\n"
    assert "晚上的新闻" in files(mirror)[1]


def test_bodies_go_in_while_they_fit_and_the_rest_are_titles_and_links():
    def a(feed: str, n: int, size: int) -> Article:
        return Article(feed, n, f"t{n}", f"https://example.org/{n}", n, "x" * size)

    sections = digest.choose([a("b", 1, 60), a("a", 2, 50), a("b", 3, 30), a("c", 4, 10)], ["a", "b"],
                                       {"a": "A", "b": "B"}, max_bytes=100)
    assert [(title, [(e.article.number, e.full) for e in entries]) for title, entries in sections] == [
        ("A", [(2, True)]), ("B", [(1, False), (3, True)]), ("c", [(4, True)])]  # unconfigured feeds last


def test_past_the_most_articles_a_digest_lists_the_earliest_and_counts_the_rest(mirror, monkeypatch):
    monkeypatch.setattr(digest, "MAX_ARTICLES", 2)
    assert "Digest of 2024-05-07: 3 articles" in newsmirror("--archive", mirror, "digest", "--date", DAY).out
    text = files(mirror)[0]
    assert "清早的新闻" in text and "链接" in text and "晚上的新闻" not in text
    assert "另有 1 篇未列出（每份摘要最多 2 篇）" in text


def test_local_image_copies_are_mailed_through_the_proxy_and_unknown_ones_left_out():
    rewrite = digest.image_rewriter(ImageSettings(mode="local"), {"media/ab/1.jpg": "https://cdn.example.org/1.jpg"})
    body = '<p>a</p><img src="../../media/ab/1.jpg" width="100%"><img src="../../media/cd/2.jpg"><img src="https://x.org/3.jpg">'
    assert digest.mail_images(body, rewrite) == ('<p>a</p><img src="https://images.weserv.nl?url=cdn.example.org/1.jpg"'
                                                 ' width="100%"><img src="https://x.org/3.jpg">')


def test_a_day_is_its_hours_in_the_zone_summer_time_included():
    start, end = digest.bounds(date(2024, 3, 10), zone("America/New_York"))
    assert end - start == 23 * 3600 * 1000
