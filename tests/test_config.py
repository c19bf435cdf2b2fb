"""The configuration file: every key checked once, at the edge, with the file, line and key of
any problem; the defaults; the [limits] table; edits that never leave a file that would not load."""

from __future__ import annotations

import resource
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support import item, newsmirror, rss

from newsmirror import config
from newsmirror.config import ConfigError

PATH = Path("m/newsmirror.toml")
FEED = '[[feeds]]\nid = "f"\nurl = "https://example.com/feed"\n'


def problem(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        config.parse(text, PATH)
    return str(info.value)


# (file text, line, key, words of the message): each used to load, then failed every feed of
# every pass (or every publish), or wrote a broken path, header or Markdown line.
REFUSED = [
    ("[fetch]\ntimeout = nan\n", 2, "fetch.timeout", "finite"),
    ("[fetch]\ntimeout = inf\n", 2, "fetch.timeout", "finite"),
    ("[fetch]\nconnect_timeout = -inf\n", 2, "fetch.connect_timeout", "finite"),
    ("[fetch]\ntimeout = 86400\n", 2, "fetch.timeout", "at most 3600"),
    ("[fetch]\nmax_redirects = -1\n", 2, "fetch.max_redirects", "at least 0"),
    ("[fetch]\nconcurrency = 10000000000\n", 2, "fetch.concurrency", "at most 1,000"),
    ("[fetch]\nconcurrency = 4\nper_host = 8\n", 3, "fetch.per_host", "at most concurrency (4)"),
    ("[fetch]\nmax_page_bytes = 2147483648\n", 2, "fetch.max_page_bytes", "at most 1,073,741,824"),
    ("[fetch]\nmax_feed_bytes = 0\n", 2, "fetch.max_feed_bytes", "at least 1"),
    ('[fetch]\nproxy = "ftp://x"\n', 2, "fetch.proxy", "http, https, socks5 or socks5h URL"),
    ('[fetch]\nproxy = "not a url"\n', 2, "fetch.proxy", "white space"),
    ('[fetch]\nproxy = "socks4://127.0.0.1:1080"\n', 2, "fetch.proxy", "socks5h URL"),
    ('[fetch]\nproxy = "socks5://:1080"\n', 2, "fetch.proxy", "not a valid URL"),
    ('[fetch]\nuser_agent = "x\\r\\nX-Injected: 1"\n', 2, "fetch.user_agent", "printable ASCII"),
    ('[fetch]\nuser_agent = "新闻镜像"\n', 2, "fetch.user_agent", "printable ASCII"),
    ('[fetch]\nheaders = { "X-A" = "1\\nX-B: 2" }\n', 2, "fetch.headers", "X-A: "),
    ('[fetch]\nheaders = { "X-A" = " padded" }\n', 2, "fetch.headers", "white space at either end"),
    ('[fetch]\nheaders = { "X A" = "1" }\n', 2, "fetch.headers", "not a header name"),
    ('[fetch]\nheaders = { "X-A\\r\\nX-B" = "1" }\n', 2, "fetch.headers", "not a header name"),
    ("[limits]\nwork_seconds = nan\n", 2, "limits.work_seconds", "finite"),
    ("[limits]\nwork_seconds = 0\n", 2, "limits.work_seconds", "greater than 0"),
    ("[limits]\nmax_article_bytes = 2147483648\n", 2, "limits.max_article_bytes", "at most"),
    ("[limits]\nmax_items = 0\n", 2, "limits.max_items", "at least 1"),
    ("[limits]\nmax_pages = -5\n", 2, "limits.max_pages", "at least 1"),
    ("[limits]\nmax_pages = 1.5\n", 2, "limits.max_pages", "must be int"),
    ("[limits]\nmax_lines = 5\n", 2, "limits.max_lines", "unknown key"),
    ("interval = inf\n", 1, "interval", "finite"),
    ("interval = 0\n", 1, "interval", "greater than 0"),
    ("takedown_days = nan\n", 1, "takedown_days", "finite"),
    ("takedown_budget = 10000000000\n", 1, "takedown_budget", "at most"),
    ("page_retries = 1000000\n", 1, "page_retries", "at most 100"),
    ("feeds_out = 10000000\n", 1, "feeds_out", "at most 10,000"),
    ('removed_marker = "[删]\\n"\n', 1, "removed_marker", "control character"),
    ('[images]\nproxy = "https://p.example/?u={url} "\n', 2, "images.proxy", "white space"),
    ('[images]\nproxy = "javascript:alert(1)//{url}"\n', 2, "images.proxy", "http(s) URL"),
    ("[images]\nproxy = 'https://p.example/\"><script>{url}'\n", 2, "images.proxy", "holds '\"'"),
    ('[images]\nfallbacks = ["https://p.example/{url}?w={width}"]\n', 2, "images.fallbacks", "holds '{'"),
    ('[images]\nreferers = { "cdn.example" = "https://x/\\n" }\n', 2, "images.referers", "cdn.example: "),
    ("[images]\nmax_width = 0\n", 2, "images.max_width", "at least 16"),
    ("[images]\nmax_width = 20000\n", 2, "images.max_width", "at most 16,383"),
    ('[images]\nmax_width = "800px"\n', 2, "images.max_width", "must be int"),
    ('[images]\nformat = "png"\n', 2, "images.format", "'png'"),
    ("[images]\nquality = 0\n", 2, "images.quality", "at least 1"),
    ("[images]\nquality = 101\n", 2, "images.quality", "at most 100"),
    ('[publish]\nsite_url = "ftp://x/"\n', 2, "publish.site_url", "http(s) URL"),
    ('[publish]\nremotes = ["--upload-pack=touch /tmp/x"]\n', 2, "publish.remotes", "not a git remote"),
    ('[publish]\nbranch = "-b"\n', 2, "publish.branch", "not a branch name"),
    ('[publish]\nbranch = "a..b"\n', 2, "publish.branch", "not a branch name"),
    ('[publish]\nauthor_name = ""\n', 2, "publish.author_name", "must not be empty"),
    ('[publish]\nauthor_email = "a@b\\n"\n', 2, "publish.author_email", "control character"),
    ("[publish]\nretries = 1000\n", 2, "publish.retries", "at most 100"),
    ('[publish]\nmirrors = [{ name = " ", url = "https://a.example/" }]\n', 2, "publish.mirrors[0].name", "must not be empty"),
    ('[publish]\nmirrors = [{ name = "a\\nb", url = "https://a.example/" }]\n', 2, "publish.mirrors[0].name",
     "control character"),
    ('[publish]\nmirrors = [\n  { name = "a", url = "https://a.example/" },\n  { name = "b", url = "ftp://b/" },\n]\n', 2,
     "publish.mirrors[1].url", "http(s) URL"),
    ('[publish]\nmirrors = [{ name = "a", url = "javascript:alert(1)" }]\n', 2, "publish.mirrors[0].url", "http(s) URL"),
    ('[publish]\nmirrors = [{ name = "a", url = "git@github.com:a/`b`" }]\n', 2, "publish.mirrors[0].url", "git@host:path"),
    ('[publish]\nmirrors = [{ name = "a" }]\n', 2, "publish.mirrors[0].url", "is required"),
    ('[publish]\nmirrors = [{ name = "a", url = "https://a.example/", kind = "git" }]\n', 2, "publish.mirrors[0].kind",
     "unknown key"),
    ('[publish]\nmirrors = ["https://a.example/"]\n', 2, "publish.mirrors", "list of tables"),
    ("[publish]\nwarn_size_mb = 0\n", 2, "publish.warn_size_mb", "at least 1"),
    ("[publish]\nwarn_folder_entries = -1\n", 2, "publish.warn_folder_entries", "at least 1"),
    ('[[feeds]]\nid = "abc\\n"\nurl = "https://example.com/feed"\n', 2, "feeds[0].id", "1-64 letters"),
    ('[[feeds]]\nid = "CON"\nurl = "https://example.com/feed"\n', 2, "feeds[0].id", "device name on Windows"),
    ('[[feeds]]\nid = "lpt1"\nurl = "https://example.com/feed"\n', 2, "feeds[0].id", "device name on Windows"),
    (FEED + '[[feeds]]\nid = "F"\nurl = "https://example.com/other"\n', 5, "feeds[1].id", "only in case"),
    ('[[feeds]]\nid = "All"\nurl = "https://example.com/feed"\n', 2, "feeds[0].id", "feeds/all.xml"),
    (FEED + FEED, 5, "feeds[1].id", "duplicate feed id 'f'"),
    ('[[feeds]]\nid = "f"\nurl = "https://example.com/a\\nb"\n', 3, "feeds[0].url", "white space"),
    ('[[feeds]]\nid = "f"\nurl = "https://exa mple.com/"\n', 3, "feeds[0].url", "white space"),
    ('[[feeds]]\nid = "f"\nurl = "https://example.com/\\u0001"\n', 3, "feeds[0].url", "control character"),
    ('[[feeds]]\nid = "f"\nurl = "http:example.com/feed"\n', 3, "feeds[0].url", "http(s) URL"),
    ('[[feeds]]\nid = "f"\nurl = "https://[::1/feed"\n', 3, "feeds[0].url", "not a valid URL"),
    (FEED + 'title = "美国\\n之音"\n', 4, "feeds[0].title", "control character"),
    (FEED + 'title = "   "\n', 4, "feeds[0].title", "must not be empty"),
    (FEED + 'proxy = "ftp://x"\n', 4, "feeds[0].proxy", "socks5h URL"),
    (FEED + 'headers = { "Cookie" = "a=1\\r\\n" }\n', 4, "feeds[0].headers", "Cookie: "),
    (FEED + "interval = nan\n", 4, "feeds[0].interval", "finite"),
    (FEED + '[feeds.rules]\nbody = "div["\n', 5, "feeds[0].rules.body", "not a CSS selector"),
    (FEED + '[feeds.rules]\nremove = ["p", "!!"]\n', 5, "feeds[0].rules.remove", "not a CSS selector"),
    ('[display]\ntimezone = "Asia/Shangai"\n', 2, "display.timezone", "unknown time zone 'Asia/Shangai'"),
    ('[display]\ntimezone = "+08:00"\n', 2, "display.timezone", "an IANA name"),  # the browser's Intl takes names only
    ("[display]\ntimezone = 8\n", 2, "display.timezone", "must be str"),
    ('[digest]\nsmtp = "smtp.example.org"\n', 2, "digest.smtp", "must be host:port"),
    ('[digest]\nsmtp = "smtp.example.org:70000"\n', 2, "digest.smtp", "must be host:port"),
    ('[digest]\nsmtp = "h.example:25"\nto = ["a@example.org"]\n', 2, "digest.from", "is required with smtp"),
    ('[digest]\nsmtp = "h.example:25"\nfrom = "m@example.org"\n', 2, "digest.to", "is required with smtp"),
    ('[digest]\nto = ["a@example.org"]\n', 2, "digest.to", "needs smtp"),
    ('[digest]\nsmtp = "h.example:25"\nfrom = "m@example.org"\nto = ["a@example.org\\nBcc: b@x.org"]\n', 4, "digest.to",
     "not a mail address"),
    ('[digest]\nsmtp = "h.example:25"\nfrom = "Mirror <m@example.org>"\nto = ["a@example.org"]\n', 3, "digest.from",
     "not a mail address"),
    ('[digest]\npassword_env = "MY PASSWORD"\n', 2, "digest.password_env", "not an environment variable name"),
    ('[digest]\nstarttls = "maybe"\n', 2, "digest.starttls", "must be one of 'auto', 'always', 'never'"),
    ('[digest]\nssl = true\nstarttls = "always"\n', 3, "digest.starttls", "not with ssl = true"),
    ('[digest]\nsmtp = "h.example:25"\nfrom = "m@example.org"\nto = ["a@example.org"]\nuser = "m"\nstarttls = "never"\n',
     6, "digest.starttls", "password of user unencrypted"),
    ("[digest]\ntimeout = 0\n", 2, "digest.timeout", "greater than 0"),
    ("[digest]\nfrm = 1\n", 2, "digest.frm", "unknown key (known: from, max_bytes"),
]


@pytest.mark.parametrize(("text", "line", "key", "words"), REFUSED, ids=[f"{c[2]}: {c[3]}" for c in REFUSED])
def test_a_value_that_would_fail_at_run_time_is_refused_with_file_line_and_key(text, line, key, words):
    message = problem(text)
    assert message.startswith(f"{PATH}:{line}: {key}: "), message
    assert words in message


@pytest.mark.parametrize("proxy", ["http://127.0.0.1:3128", "https://user:pw@proxy.example", "socks5://[::1]:1080",
                                   "socks5h://127.0.0.1:1080", "SOCKS5H://127.0.0.1:1080"])
def test_proxies_the_http_client_can_use_are_accepted(proxy):
    loaded = config.parse(f'[fetch]\nproxy = "{proxy}"\n' + FEED + f'proxy = "{proxy}"\n')
    assert loaded.fetch.proxy == proxy and loaded.feeds[0].proxy == proxy


def test_ordinary_values_are_accepted_as_they_are():
    text = ('[fetch]\nuser_agent = "Mozilla/5.0 (X11; Linux x86_64)"\nconcurrency = 1\n'
            'headers = { "Accept-Language" = "zh-CN,zh;q=0.9", "X-Empty" = "" }\n'
            '[images]\nproxy = "https://wsrv.nl/?url={url_encoded}&w=800"\n'
            '[publish]\nremotes = ["git@github.com:you/news.git", "/srv/git/my news.git"]\nbranch = "gh-pages/v1"\n'
            'site_url = "https://you.github.io/news/site/"\n' + FEED + 'title = "BBC News 中文 (简体)"\n')
    loaded = config.parse(text)
    assert loaded.fetch.per_host == 2  # the default per_host with concurrency = 1: what the user meant
    assert loaded.publish.remotes[1] == "/srv/git/my news.git" and loaded.feeds[0].title == "BBC News 中文 (简体)"


def test_local_image_settings_are_read_per_mirror_and_default_to_webp_at_1200_px():
    assert (config.ImageSettings().max_width, config.ImageSettings().format, config.ImageSettings().quality) == (1200, "webp", 80)
    loaded = config.parse('[images]\nmode = "local"\nmax_width = 800\nformat = "jpeg"\nquality = 60\n' + FEED)
    assert loaded.images == config.ImageSettings(mode="local", max_width=800, format="jpeg", quality=60)


def test_a_digest_mailed_through_a_server_is_read_with_its_from_key():
    loaded = config.parse('[digest]\nsmtp = "[::1]:465"\nfrom = "m@example.org"\nto = ["a@example.org", "b@example.org"]\n'
                          'user = "m"\nssl = true\n')
    assert loaded.digest.sender == "m@example.org" and loaded.digest.to == ("a@example.org", "b@example.org")
    assert config.host_port(loaded.digest.smtp or "") == ("::1", 465)
    assert config.parse("").digest == config.DigestSettings()  # files only, nothing mailed


def test_mirrors_are_http_s_or_git_addresses_with_any_name():
    loaded = config.parse('[publish]\nmirrors = [\n  { name = "GitHub *主站*", url = "https://github.com/you/news" },\n'
                          '  { name = "[备份]", url = "git@codeberg.org:you/news.git" },\n]\nwarn_size_mb = 2048\n')
    assert loaded.publish.mirrors == (config.Mirror("GitHub *主站*", "https://github.com/you/news"),
                                      config.Mirror("[备份]", "git@codeberg.org:you/news.git"))
    assert [m.linked for m in loaded.publish.mirrors] == [True, False]
    assert loaded.publish.warn_size_mb == 2048 and loaded.publish.warn_folder_entries == 1000


def test_every_default_passes_its_own_rules():
    loaded = config.parse("[fetch]\n[images]\n[publish]\n[limits]\n" + FEED + "[feeds.rules]\n")
    assert loaded.fetch == config.FetchSettings() and loaded.limits == config.LimitSettings()


def test_limits_default_and_work_seconds_follow_the_fetch_timeout():
    defaults = config.parse(FEED)
    assert defaults.limits == config.LimitSettings(None, 2 * config.MiB, 1000, 100)
    assert defaults.work_seconds == 90.0  # 3 x the default 30 s timeout
    assert config.parse("[fetch]\ntimeout = 10\n").work_seconds == 30.0
    loaded = config.parse("[limits]\nwork_seconds = 5\nmax_article_bytes = 1024\nmax_items = 50\nmax_pages = 7\n")
    assert loaded.work_seconds == 5.0 and loaded.limits == config.LimitSettings(5.0, 1024, 50, 7)


def test_the_default_file_documents_every_limit_and_loads():
    text = config.default_text()
    assert "[limits]" in text
    for key in ("work_seconds", "max_article_bytes", "max_items", "max_pages"):
        assert f"# {key} = " in text
    assert config.parse(text.replace("# work_seconds", "work_seconds").replace("# max_", "max_")).limits.max_items == 1000


def test_times_are_shown_in_one_configured_zone_asia_shanghai_by_default():
    assert str(config.parse(FEED).display.zone) == "Asia/Shanghai"
    loaded = config.parse('[display]\ntimezone = "Europe/Berlin"\n' + FEED)
    assert str(loaded.display.zone) == "Europe/Berlin" and loaded.timezone == "Asia/Shanghai"  # feed dates: their own key
    assert 'timezone = "Asia/Shanghai"' in config.default_text().split("[display]")[1].split("[images]")[0]


def test_an_unknown_display_zone_stops_the_command_with_exit_2_and_the_line(tmp_path):
    archive = tmp_path / "m"
    archive.mkdir()
    (archive / "newsmirror.toml").write_text(FEED + '\n[display]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    result = newsmirror("--archive", archive, "list")
    assert result.code == 2 and "newsmirror.toml:6: display.timezone: unknown time zone 'Mars/Olympus'" in result.err


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "newsmirror.toml"
    path.write_text(FEED, encoding="utf-8-sig")  # what Windows Notepad writes
    assert config.load(path).feeds[0].id == "f"
    config.add_feed(path, "g", "https://example.org/feed", None)
    assert [f.id for f in config.load(path).feeds] == ["f", "g"]


def test_a_directory_in_the_file_s_place_is_one_clear_error(tmp_path):
    (tmp_path / "newsmirror.toml").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        config.load(tmp_path / "newsmirror.toml")


def test_added_feeds_are_appended_as_text_keeping_comments(tmp_path):
    path = tmp_path / "newsmirror.toml"
    path.write_text("# mine\n[fetch]\ntimeout = 20 # short", encoding="utf-8")
    config.add_feeds(path, [("a", "https://example.com/a", 'quote " and \\ back'), ("b", "https://example.com/b", None)])
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# mine\n[fetch]\ntimeout = 20 # short\n")
    assert [(f.id, f.title) for f in config.load(path).feeds] == [("a", 'quote " and \\ back'), ("b", None)]


def test_an_edit_that_would_not_load_is_not_written(tmp_path):
    path = tmp_path / "newsmirror.toml"
    path.write_text(FEED, encoding="utf-8")
    with pytest.raises(ConfigError, match="white space"):  # a permanent redirect's Location, from the network
        config.set_feed_key(path, "f", "url", "https://example.com/new feed")
    with pytest.raises(ConfigError, match="only in case"):
        config.add_feed(path, "F", "https://example.org/feed", None)
    assert path.read_text(encoding="utf-8") == FEED


MINE = "# my mirror, my comments\n" + "".join(
    f'\n[[feeds]]\nid = "{n}"\ntitle = "源 {n}"\nurl = "https://example.com/{n}.xml"\n' for n in "abc")
OPML = ('<?xml version="1.0"?><opml version="2.0"><body><outline text="D" xmlUrl="https://example.com/d.xml"/>'
        "</body></opml>")


@contextmanager
def files_cut_at(size: int) -> Iterator[None]:
    """In this process, a write past `size` bytes of a file fails (EFBIG), as on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    default = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the error, not the signal that kills
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, default)


@pytest.mark.parametrize("command", [["add", "FEED", "--id", "new", "--title", "新"],
                                     ["remove", "b"], ["import-opml", "feeds.opml"]])
def test_an_edit_that_fails_halfway_leaves_the_file_as_it_was(tmp_path, monkeypatch, site, command):
    monkeypatch.chdir(tmp_path)
    command = [site.add("/new.xml", rss(item(1))) if part == "FEED" else part for part in command]  # add reads it
    (tmp_path / "feeds.opml").write_text(OPML, encoding="utf-8")
    path = tmp_path / "m/newsmirror.toml"
    path.parent.mkdir()
    path.write_text(MINE, encoding="utf-8")
    with files_cut_at(len(MINE) // 2):
        result = newsmirror("--archive", path.parent, *command)
    assert result.code == 1 and "File too large" in result.err
    assert path.read_text(encoding="utf-8") == MINE
    assert sorted(p.name for p in path.parent.iterdir()) == ["newsmirror.toml"]  # no temporary file left
    assert newsmirror("--archive", path.parent, *command).code == 0  # and it works with room to write


def test_an_edit_keeps_the_file_s_mode_and_a_link_to_it(tmp_path):
    real = tmp_path / "etc/newsmirror.toml"
    real.parent.mkdir()
    real.write_text(MINE, encoding="utf-8")
    real.chmod(0o640)
    (tmp_path / "m").mkdir()
    (tmp_path / "m/newsmirror.toml").symlink_to(real)
    assert newsmirror("--archive", tmp_path / "m", "remove", "b").code == 0
    assert (tmp_path / "m/newsmirror.toml").is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [f.id for f in config.load(real).feeds] == ["a", "c"]


@pytest.mark.parametrize(("text", "cleaned"), [
    ("  美国之音\n  中文网 ", "美国之音 中文网"), ("a\x00\x1fb\u2028c", "a b c"), (" \n\t", None), (None, None)])
def test_titles_from_elsewhere_are_made_one_clean_line(text, cleaned):
    assert config.clean_title(text) == cleaned


def test_the_feed_id_pattern_refuses_a_final_newline_also_through_match():
    # reindex checks folder names with FEED_ID.match: `$` matched before a final newline.
    assert config.FEED_ID.match("abc\n") is None and config.FEED_ID.match("abc")
