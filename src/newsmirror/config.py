"""The mirror's configuration: `newsmirror.toml` read once into frozen dataclasses.

Every key is checked here, at the edge, so that the rest of the code can trust its settings;
a bad key or value is reported with its file and line (exit status 2 at the command line).
Editing (`add`, `remove`) goes through tomlkit so that the user's comments survive, and
replaces the file whole: an edit that fails leaves it as it was.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import secrets
import stat
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

import ada_url
import tomlkit

from . import __version__
from .dates import DEFAULT_TIMEZONE, display_zone, zone

CONFIG_NAME = "newsmirror.toml"
DEFAULT_PROXY = "https://images.weserv.nl?url={url_noscheme}"
VARIANTS = ("original", "zh-Hans", "zh-Hant", "zh-TW", "zh-HK")  # Chinese script editions (OpenCC)
# \Z, not $: `$` also matches before a final newline, which let "abc\n" make articles/abc\n/.
# Ids are ASCII, so that `.lower()` is the case folding of every file system that ignores case.
FEED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
MiB = 1024 * 1024
GiB = 1024 * MiB
# Device names: Windows opens the device instead of a file of that name, in any case and with
# any extension ("nul.md"), so a repository holding one cannot be checked out there.
WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                              *(f"{d}{n}" for d in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3")})


class ConfigError(Exception):
    """A configuration problem a user can fix: names the file, the line and the key."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None):
        where = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
        super().__init__(f"{where}{message}")


def _choices(*values: str) -> dict:
    return {"choices": values}


def windows_reserved(name: str) -> bool:
    """True when Windows takes `name` for a device (`CON`, `nul.md`, `COM1.tar.gz`, `aux .md`)."""
    return name.split(".", 1)[0].rstrip(" ").upper() in WINDOWS_RESERVED


@dataclass(frozen=True)
class FetchSettings:
    """Limits and identity for every HTTP request (trafilatura-style: one settings object)."""

    user_agent: str = f"newsmirror/{__version__} (news archiver; +https://github.com/newsmirror/newsmirror)"
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_feed_bytes: int = 16 * MiB
    max_page_bytes: int = 8 * MiB
    max_image_bytes: int = 16 * MiB
    max_redirects: int = 5
    concurrency: int = 16
    per_host: int = 2
    proxy: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageSettings:
    """How image URLs in articles are rewritten: through a proxy, to a local copy, or kept."""

    mode: str = field(default="proxy", metadata=_choices("proxy", "local", "keep"))
    proxy: str = DEFAULT_PROXY
    fallbacks: tuple[str, ...] = ()
    referers: dict[str, str] = field(default_factory=dict)
    # Local copies: no wider than this, re-encoded (media.py says why and how).
    max_width: int = 1200
    format: str = field(default="webp", metadata=_choices("webp", "jpeg"))
    quality: int = 80


@dataclass(frozen=True)
class Mirror:
    """A reader-facing address of another copy (a git host, a Pages site): every copy lists
    them all, so that a reader who finds one copy finds the others when it is blocked."""

    name: str
    url: str  # http(s), or a git host's `git@host:path` (shown, never linked)

    @property
    def linked(self) -> bool:
        """Whether the address is written as a link (http(s)); a `git@` one is shown as text."""
        return self.url.lower().startswith(("http://", "https://"))


@dataclass(frozen=True)
class PublishSettings:
    """Git mirrors: after a pass that changed files, one commit, then a push to every remote."""

    remotes: tuple[str, ...] = ()
    branch: str | None = None  # None: the branch checked out (a new repository's: "main")
    author_name: str = "newsmirror"
    author_email: str = "newsmirror@localhost"
    retries: int = 3
    site_url: str | None = None  # where site/ is served: re-published feeds link the mirror's copies
    mirrors: tuple[Mirror, ...] = ()  # listed in README.md, every list page's foot and the site's footer
    warn_size_mb: int = 1024  # `publish` warns at 80% of this packed size (git hosts advise 1-5 GB)...
    warn_folder_entries: int = 1000  # ...or of this many entries in one folder (hosts truncate the view)


@dataclass(frozen=True)
class SiteRule:
    """CSS selectors that say where a page keeps its article (see sites.py for the bundled ones)."""

    body: str | None = None
    lead_image: str | None = None
    caption: str | None = None
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedConfig:
    """One feed of the mirror; unset options fall back to the mirror-wide ones."""

    id: str
    url: str
    title: str | None = None
    full_text: str = field(default="auto", metadata=_choices("auto", "always", "never"))
    timezone: str | None = None
    proxy: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    images: ImageSettings | None = None
    rules: SiteRule | None = None
    interval: float | None = None  # minutes between polls by the daemon
    dedupe: str | None = field(default=None, metadata=_choices("feed", "mirror"))
    variant: str | None = field(default=None, metadata=_choices(*VARIANTS))
    enabled: bool = True


@dataclass(frozen=True)
class LimitSettings:
    """What one feed may cost in one pass, so that a hostile or broken feed cannot hold a pass:
    the rest of its items and pages wait for the next pass."""

    work_seconds: float | None = None  # parsing, extraction and cleaning; None: 3 x [fetch] timeout
    max_article_bytes: int = 2 * MiB  # one article's stored body is cut beyond this
    max_items: int = 1000  # new items taken from one feed
    max_pages: int = 100  # article pages fetched for one feed


@dataclass(frozen=True)
class RevisionSettings:
    """How many edits of one article are kept (revisions.py): a page that changes on every
    fetch must not add a version every pass."""

    max_per_day: int = 4  # revisions stored per article in any 24 hours; later changes are counted only


@dataclass(frozen=True)
class DisplaySettings:
    """How times are shown to people (CLI, site, daemon logs): in one zone, always labelled
    (dates.display). Asia/Shanghai by default, not the machine's zone: the readers live in UTC+8,
    the house-format lists date in UTC+8 whatever this says, and a site committed to git must
    not change every page when a CI runner (in UTC) builds it."""

    timezone: str = DEFAULT_TIMEZONE

    @property
    def zone(self) -> tzinfo:
        return display_zone(self.timezone)


@dataclass(frozen=True)
class DigestSettings:
    """The daily digest (digest.py): written as files always, mailed when `smtp` names a server.
    Mail reaches readers when every web host of the mirror is blocked."""

    smtp: str | None = None  # "host:port"
    sender: str | None = field(default=None, metadata={"key": "from"})  # `from` is a Python keyword
    to: tuple[str, ...] = ()
    user: str | None = None
    password_env: str = "NEWSMIRROR_SMTP_PASSWORD"  # the password never sits in a file that is committed
    starttls: str = field(default="auto", metadata=_choices("auto", "always", "never"))
    ssl: bool = False  # TLS from the first byte (port 465) instead of STARTTLS
    timeout: float = 30.0  # seconds for each exchange with the server
    max_bytes: int = 512 * 1024  # article bodies in full while their HTML totals at most this; then titles and links


@dataclass(frozen=True)
class Config:
    """The whole configuration of one mirror folder."""

    feeds: tuple[FeedConfig, ...] = ()
    fetch: FetchSettings = field(default_factory=FetchSettings)
    images: ImageSettings = field(default_factory=ImageSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    revisions: RevisionSettings = field(default_factory=RevisionSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    timezone: str = DEFAULT_TIMEZONE
    page_retries: int = 5
    interval: float = 30.0
    dedupe: str = field(default="feed", metadata=_choices("feed", "mirror"))
    variant: str = field(default="original", metadata=_choices(*VARIANTS))
    editions: tuple[str, ...] = ()
    takedown_days: float = 7.0
    takedown_budget: int = 50
    removed_marker: str = "[已删除] "
    site: bool = False  # build the static site (DIR/site/) after every pass
    feeds_out: int = 20  # newest articles in each re-published feed (feeds/<id>.xml, .atom, .json); 0: none
    path: Path | None = None

    def feed(self, feed_id: str) -> FeedConfig:
        for f in self.feeds:
            if f.id == feed_id:
                return f
        raise KeyError(feed_id)

    def images_for(self, feed: FeedConfig) -> ImageSettings:
        return feed.images or self.images

    def timezone_for(self, feed: FeedConfig) -> str:
        return feed.timezone or self.timezone

    def dedupe_for(self, feed: FeedConfig) -> str:
        return feed.dedupe or self.dedupe

    def variant_for(self, feed: FeedConfig) -> str:
        return feed.variant or self.variant

    def interval_for(self, feed: FeedConfig) -> float:
        """Minutes between the daemon's polls of this feed (before the feed's own ttl)."""
        return feed.interval or self.interval

    @property
    def work_seconds(self) -> float:
        """Seconds one feed's parsing, extraction and cleaning may take in one pass: by default
        three times what fetching it may take, so that a slow feed is not cut short."""
        return 3 * self.fetch.timeout if self.limits.work_seconds is None else self.limits.work_seconds


# The outlets the original mirror carried, each from the publisher's own public feed.
# Reuters is left out: it closed its public feeds (Chinese ones included) in 2020.
DEFAULT_FEEDS: tuple[tuple[str, str, str, str], ...] = (
    ("voa", "美国之音", "https://www.voachinese.com/api/zm_yql-vomx-tpeybti", "VOA Chinese, summary feed"),
    ("rfa", "自由亚洲电台", "https://www.rfa.org/mandarin/rss2.xml", "RFA Mandarin"),
    ("bbc", "BBC", "https://feeds.bbci.co.uk/zhongwen/simp/rss.xml", "BBC News 中文 (simplified)"),
    ("dw", "德国之声", "https://rss.dw.com/rdf/rss-chi-all", "DW Chinese, RSS 1.0"),
    ("nyt", "纽约时报", "https://cn.nytimes.com/rss/", "NYT Chinese"),
    ("rfi", "法广", "https://www.rfi.fr/cn/rss", "RFI Chinese"),
    ("ft", "金融时报", "https://www.ftchinese.com/rss/feed", "FT Chinese"),
    ("cdt", "中国数字时代", "https://chinadigitaltimes.net/chinese/feed/", "China Digital Times"),
)


def default_text(feeds: typing.Iterable[tuple[str, str, str, str]] = DEFAULT_FEEDS) -> str:
    """A commented newsmirror.toml: the documentation a user sees first."""
    lines = [
        "# newsmirror configuration. Every key below is optional except each feed's id and url;",
        "# the commented values are the defaults. Reference: README.md, section Configuration.",
        "",
        "# Time zone for feed dates that carry none (e.g. `2018-09-18 14:38:10`).",
        f'# timezone = "{DEFAULT_TIMEZONE}"',
        "# Times a page that could not be fetched is retried on later passes.",
        "# page_retries = 5",
        "# Minutes between polls of a feed by `newsmirror daemon` (a feed's own ttl or",
        "# Cache-Control max-age can only make it longer). Per feed: interval = 60.",
        "# interval = 30",
        "# The same article under two feeds: \"feed\" keeps one copy per feed, \"mirror\" one per mirror",
        "# (the second feed's list links to the first copy). Per feed too.",
        "# dedupe = \"feed\"",
        "# Script of what is written: \"original\", \"zh-Hans\", \"zh-Hant\", \"zh-TW\" or \"zh-HK\" (the archive",
        "# keeps the original); editions writes parallel trees, e.g. zh-Hant/articles/...",
        "# variant = \"original\"",
        "# editions = [\"zh-Hant\"]",
        "# Recent articles are re-checked for takedowns (404/410 at the source) for this many days,",
        "# at most takedown_budget pages a pass; list pages mark removed ones with removed_marker.",
        "# takedown_days = 7",
        "# takedown_budget = 50",
        "# removed_marker = \"[已删除] \"",
        "# Build the static site under site/ after every pass (or run `newsmirror site`).",
        "# site = false",
        "# Articles in each re-published feed under feeds/ (RSS, Atom, JSON Feed); 0 writes none.",
        "# feeds_out = 20",
        "",
        "[fetch]",
        f'# user_agent = "{FetchSettings.user_agent}"',
        "# timeout = 30.0            # seconds for a whole request",
        "# connect_timeout = 10.0",
        f"# max_feed_bytes = {16 * MiB}",
        f"# max_page_bytes = {8 * MiB}",
        f"# max_image_bytes = {16 * MiB}",
        "# max_redirects = 5",
        "# concurrency = 16          # requests at once (at most 1000)",
        "# per_host = 2              # requests at once to one host (at most concurrency)",
        '# proxy = "socks5://127.0.0.1:1080"   # http, https, socks5 or socks5h; also HTTP(S)_PROXY / ALL_PROXY',
        '# headers = { "Accept-Language" = "zh-CN" }',
        "",
        "[limits]",
        "# What one feed may cost in one pass; the rest of its items and pages wait for the next pass.",
        "# work_seconds = 90.0       # parsing, extraction and cleaning (default: 3 x [fetch] timeout)",
        f"# max_article_bytes = {2 * MiB}   # one article's stored body is cut beyond this",
        "# max_items = 1000          # new items taken from one feed",
        "# max_pages = 100           # article pages fetched for one feed",
        "",
        "[revisions]",
        "# Edits of an article kept as revisions in any 24 hours; later changes are counted only",
        "# (`newsmirror history` shows them). Counters, relative times and boxes of links never count.",
        "# max_per_day = 4",
        "",
        "[display]",
        "# The time zone of every time shown to people (list, history, search, the site, daemon logs),",
        "# each labelled with its offset (2024-05-08 05:14 UTC+8): an IANA name. Files keep UTC+8.",
        f'# timezone = "{DEFAULT_TIMEZONE}"',
        "",
        "[images]",
        '# mode = "proxy"            # "proxy", "local" (copies under media/) or "keep"',
        f'# proxy = "{DEFAULT_PROXY}"',
        '# fallbacks = ["https://wsrv.nl/?url={url_encoded}"]',
        "# Local copies are resized to max_width (never enlarged) and re-encoded, metadata stripped:",
        "# max_width = 1200",
        '# format = "webp"           # "webp" (keeps transparency) or "jpeg" (transparency on white)',
        "# quality = 80              # 1-100",
        "",
    ]
    lines += [
        "[digest]",
        "# `newsmirror digest` writes digests/<day>.md and .html; with smtp, from and to it also mails them.",
        '# smtp = "smtp.example.org:587"   # host:port',
        '# from = "mirror@example.org"',
        '# to = ["a@example.org"]',
        '# user = "mirror"              # the password is read from the environment variable password_env',
        '# password_env = "NEWSMIRROR_SMTP_PASSWORD"',
        '# starttls = "auto"            # "auto" (when the server offers it), "always" or "never"; ssl = true for port 465',
        "# max_bytes = 524288           # article bodies in full up to this much HTML; the rest by title and link",
        "",
    ]
    lines += [
        "[publish]",
        "# Git remotes (URLs or paths) to push the mirror to after every pass that changed files.",
        '# remotes = ["git@github.com:you/news.git", "/srv/git/news.git"]',
        '# branch = "main"           # default: the branch checked out (the original mirror\'s: master)',
        '# author_name = "newsmirror"',
        '# author_email = "newsmirror@localhost"',
        "# retries = 3",
        "# Where site/ is served; the re-published feeds under feeds/ then link the mirror's copies.",
        '# site_url = "https://you.github.io/news/site/"',
        "# The other copies readers can turn to (http(s) or git@host:path), listed in README.md, every list",
        "# page and the site's footer; `doctor` checks that each answers.",
        '# mirrors = [{ name = "GitHub", url = "https://github.com/you/news" }]',
        "# `publish` warns when the packed repository or its largest folder reaches 80% of these.",
        "# warn_size_mb = 1024",
        "# warn_folder_entries = 1000",
        "",
    ]
    for feed_id, title, url, note in feeds:
        lines += [
            f"# {note}",
            "[[feeds]]",
            f'id = "{feed_id}"',
            f"title = {_toml_str(title)}",
            f"url = {_toml_str(url)}",
            '# full_text = "auto"       # "auto", "always" or "never": fetch the article page',
            "",
        ]
    return "\n".join(lines)


def _toml_str(value: str) -> str:
    return tomlkit.string(value).as_string()


# --- rules -----------------------------------------------------------------------------
# What each key may hold beyond its type. A value that passed only its type check (nan seconds,
# a proxy newsmirror's HTTP client cannot use, a header holding a line break) used to fail every
# feed of every pass; refused here, it is one line naming the file, the line and the key.

Rule = Callable[[Any], "str | None"]  # the problem with a value, None when there is none

_HTTP = ("http", "https")
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")  # what httpx can use (socks4 it cannot)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, and Unicode's line breaks
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name
_FIELD_VALUE = re.compile(r"([\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?)?")  # what h11 sends; httpx encodes ASCII
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")
_PLACEHOLDERS = {"{url}": "https://example.com/a.jpg", "{url_noscheme}": "example.com/a.jpg",
                 "{url_encoded}": "https%3A%2F%2Fexample.com%2Fa.jpg"}


def _show(number: float) -> str:
    return f"{number:,}" if isinstance(number, int) else f"{number:g}"


def _within(low: float, high: float, above: bool = False) -> Rule:
    """A finite number in [low, high], or in (low, high] when `above` (nan and inf never pass)."""
    def rule(value: float) -> str | None:
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, not {value}"
        if value <= low if above else value < low:
            return f"must be {'greater than' if above else 'at least'} {_show(low)}, not {value!r}"
        return f"must be at most {_show(high)}, not {value!r}" if value > high else None
    return rule


def _optional(rule: Rule) -> Rule:
    return lambda value: None if value is None else rule(value)


def _each(rule: Rule) -> Rule:
    """Every item of a list."""
    return lambda values: next(filter(None, map(rule, values)), None)


def _text(value: str) -> str | None:
    """Text written into files or sent to git: a control character (a line break above all)
    would start a new line of Markdown or of a commit."""
    m = _CONTROL.search(value)
    return f"{value!r} holds the control character {m.group()!r}" if m else None


def title_problem(value: str) -> str | None:
    """A list's title: its heading, a link in README.md, and its file name."""
    return "must not be empty" if not value.strip() else _text(value)


def clean_title(text: str | None) -> str | None:
    """A title from elsewhere (a feed, an OPML file) made fit for the configuration: runs of
    white space and control characters become one space; None when nothing is left."""
    return _SPACE_OR_CONTROL.sub(" ", text or "").strip() or None


def url_problem(url: str, schemes: tuple[str, ...] = _HTTP) -> str | None:
    """Why `url` is no URL newsmirror can use, or None: one of `schemes` with a host, parseable
    by ada (the WHATWG parser links go through), no white space or control character (a line
    break in a URL would be a new line in the configuration and in the HTTP request)."""
    if m := _SPACE_OR_CONTROL.search(url):
        return f"{url!r} holds white space or a control character ({m.group()[0]!r})"
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in schemes:
        kinds = "http(s)" if schemes == _HTTP else f"{', '.join(schemes[:-1])} or {schemes[-1]}"
        return f"must be an {kinds} URL, not {url!r}"
    try:
        host = ada_url.parse_url(url, attributes=("hostname",))["hostname"]
    except ValueError:
        return f"{url!r} is not a valid URL"
    return None if host else f"{url!r} has no host"


def _proxy(value: str) -> str | None:
    return url_problem(value, _PROXY_SCHEMES)


def feed_id_problem(feed_id: str) -> str | None:
    """Why `feed_id` cannot name a folder under articles/, or None."""
    if not FEED_ID.fullmatch(feed_id):
        return f"{feed_id!r} must be 1-64 letters, digits, '-' or '_', starting with a letter or digit"
    if windows_reserved(feed_id):
        return f"{feed_id!r} is a device name on Windows: articles/{feed_id}/ could not be checked out there"
    if feed_id.lower() == "all":
        return f"{feed_id!r} is taken by the feed of every feed (feeds/all.xml)"
    return None


def _header_value(value: str) -> str | None:
    return None if _FIELD_VALUE.fullmatch(value) else (
        f"{value!r} must be printable ASCII, without control characters or white space at either end")


def _headers(value: dict[str, str]) -> str | None:
    for name, text in value.items():
        if not _TOKEN.fullmatch(name):
            return f"{name!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~)"
        if problem := _header_value(text):
            return f"{name}: {problem}"
    return None


def _referers(value: dict[str, str]) -> str | None:
    """Image host -> the Referer header it is sent."""
    for host, referer in value.items():
        if not host or _SPACE_OR_CONTROL.search(host):
            return f"{host!r} is not a host name"
        if problem := _header_value(referer):
            return f"{host}: {problem}"
    return None


def _template(value: str) -> str | None:
    """An image proxy template: filled in, it is the src="..." of every image of every article."""
    if not any(p in value for p in _PLACEHOLDERS):
        return f"{value!r} has no {{url}}, {{url_noscheme}} or {{url_encoded}}"
    sample = value
    for placeholder, filler in _PLACEHOLDERS.items():
        sample = sample.replace(placeholder, filler)
    if m := re.search(r"[{}\"'<>\\`]", sample):
        return f"{value!r} holds {m.group()!r} (the placeholders are {{url}}, {{url_noscheme}} and {{url_encoded}})"
    return url_problem(sample)


def _selector(value: str) -> str | None:
    """A CSS selector as the extractor runs it (lexbor): a bad one failed every page of the feed."""
    from selectolax.lexbor import LexborHTMLParser, SelectolaxError  # 25 ms: only when a rule is set

    try:
        LexborHTMLParser("<p></p>").css(value)
    except SelectolaxError:
        return f"{value!r} is not a CSS selector"
    return None


def _raises(check: Callable[[str], object]) -> Rule:
    """The rule of a function that raises ValueError, with the message, for a bad value (time zones)."""
    def rule(value: str) -> str | None:
        try:
            check(value)
        except ValueError as exc:
            return str(exc)
        return None
    return rule


def _edition(value: str) -> str | None:
    return None if value in VARIANTS[1:] else f"{value!r} is not one of {', '.join(VARIANTS[1:])}"


def _branch(value: str) -> str | None:
    """A branch name git takes, never taken for an option (a leading '-')."""
    if _BRANCH.fullmatch(value) and ".." not in value and not value.endswith((".", ".lock")):
        return None
    return f"{value!r} is not a branch name (letters, digits, '.', '_', '-' and '/'; no leading '-' or '.', no '..')"


def _remote(value: str) -> str | None:
    """A remote is an argument to git: one starting with '-' would be an option (`--upload-pack=`
    runs a command)."""
    if not value.strip() or value.startswith("-"):
        return f"{value!r} is not a git remote (a URL or a path)"
    return _text(value)


_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _address(value: str) -> str | None:
    """A bare mail address (`a@example.org`): it goes into a header and the SMTP envelope."""
    return None if _ADDRESS.fullmatch(value) and not _CONTROL.search(value) else f"{value!r} is not a mail address (name@host)"


def _env_name(value: str) -> str | None:
    return None if _ENV_NAME.fullmatch(value) else f"{value!r} is not an environment variable name"


def host_port(value: str) -> tuple[str, int] | None:
    """(host, port) of `host:port` (`[::1]:25` for IPv6), or None when it is not one."""
    host, sep, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or _SPACE_OR_CONTROL.search(host) or "/" in host or not port.isascii() or not port.isdigit():
        return None
    return (host, int(port)) if 0 < int(port) < 65536 else None


def _smtp(value: str) -> str | None:
    return None if host_port(value) else f"{value!r} must be host:port, e.g. \"smtp.example.org:587\""


_GIT_ADDRESS = re.compile(r"git@[A-Za-z0-9.-]+:[A-Za-z0-9._~/+-]+")


def _mirror_url(value: str) -> str | None:
    """A reader-facing address: http(s), or `git@host:path` (plain characters only: it is shown
    as code, never as a link)."""
    if value.startswith("git@"):
        return None if _GIT_ADDRESS.fullmatch(value) else f"{value!r} is not a git@host:path address"
    return url_problem(value)


def _identity(value: str) -> str | None:
    """A commit author's name or email: git refuses an empty one, which failed every publish."""
    return "must not be empty" if not value.strip() else _text(value)


_SECONDS = _within(0.0, 3600.0, above=True)
_MINUTES = _within(0.0, 365 * 24 * 60.0, above=True)
_BYTES = _within(1, GiB)

_RULES: dict[type, dict[str, Rule]] = {
    Config: {
        "timezone": _raises(zone), "page_retries": _within(0, 100), "interval": _MINUTES, "editions": _each(_edition),
        "takedown_days": _within(0.0, 3650.0), "takedown_budget": _within(0, 100_000), "removed_marker": _text,
        "feeds_out": _within(0, 10_000),
    },
    FetchSettings: {
        "user_agent": _header_value, "timeout": _SECONDS, "connect_timeout": _SECONDS, "max_feed_bytes": _BYTES,
        "max_page_bytes": _BYTES, "max_image_bytes": _BYTES, "max_redirects": _within(0, 100),
        "concurrency": _within(1, 1000), "per_host": _within(1, 1000), "proxy": _optional(_proxy),
        "headers": _headers,
    },
    LimitSettings: {
        "work_seconds": _optional(_within(0.0, 24 * 3600.0, above=True)), "max_article_bytes": _BYTES,
        "max_items": _within(1, 1_000_000), "max_pages": _within(1, 100_000),
    },
    RevisionSettings: {"max_per_day": _within(1, 1000)},
    DisplaySettings: {"timezone": _raises(display_zone)},
    DigestSettings: {
        "smtp": _optional(_smtp), "sender": _optional(_address), "to": _each(_address), "user": _optional(_identity),
        "password_env": _env_name, "timeout": _SECONDS, "max_bytes": _within(0, GiB),
    },
    ImageSettings: {"proxy": _template, "fallbacks": _each(_template), "referers": _referers,
                    "max_width": _within(16, 16_383), "quality": _within(1, 100)},
    PublishSettings: {
        "remotes": _each(_remote), "branch": _optional(_branch), "author_name": _identity, "author_email": _identity,
        "retries": _within(0, 100), "site_url": _optional(url_problem),
        "warn_size_mb": _within(1, 1_000_000), "warn_folder_entries": _within(1, 100_000_000),
    },
    Mirror: {"name": title_problem, "url": _mirror_url},
    SiteRule: {"body": _optional(_selector), "lead_image": _optional(_selector), "caption": _optional(_selector),
               "remove": _each(_selector)},
    FeedConfig: {
        "id": feed_id_problem, "url": url_problem, "title": _optional(title_problem), "timezone": _optional(_raises(zone)),
        "proxy": _optional(_proxy), "headers": _headers, "interval": _optional(_MINUTES),
    },
}


# --- reading -------------------------------------------------------------------------------


def load(path: Path) -> Config:
    """Read and validate `path`; ConfigError names the file, line and key of any problem."""
    return parse(_read(path), path)


def _read(path: Path) -> str:
    """The file's text, without the byte order mark that Windows editors put in front."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("configuration file not found", path) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a configuration file", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration: {exc}", path) from None


def parse(text: str, path: Path | None = None) -> Config:
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"invalid TOML: {exc}", path, int(m.group(1)) if m else None) from None
    reader = _Reader(text, path)
    feeds_raw = data.pop("feeds", [])
    if not isinstance(feeds_raw, list):
        raise reader.error((), "feeds", "must be a list of [[feeds]] tables")
    config = reader.build(Config, data, (), skip=frozenset({"feeds", "path"}))
    feeds = tuple(reader.build(FeedConfig, raw, ("feeds", i)) for i, raw in enumerate(feeds_raw))
    reader.check_ids(feeds)
    return dataclasses.replace(config, feeds=feeds, path=path)


def _key(f: dataclasses.Field) -> str:
    """The TOML key of a field: its name, unless that is a Python keyword (`from`)."""
    return f.metadata.get("key", f.name)


def _digest_problem(d: DigestSettings, given: set[str]) -> tuple[str, str] | None:
    """(key, problem) of [digest] settings that cannot work together: a server and no one to mail,
    recipients and no server, a password that would cross the network unencrypted."""
    if d.smtp and not d.sender:
        return "from", "is required with smtp"
    if d.smtp and not d.to:
        return "to", "is required with smtp (a list of addresses)"
    if not d.smtp and (d.sender or d.to or d.user):
        return next(k for k in ("from", "to", "user") if k in given), "needs smtp (host:port) to mail the digest"
    if d.ssl and "starttls" in given:
        return "starttls", "not with ssl = true (the connection is encrypted from the start)"
    if d.user and d.starttls == "never" and not d.ssl:
        return "starttls", "\"never\" would send the password of user unencrypted"
    return None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


class _Reader:
    """Builds dataclasses from TOML tables, checking keys and types, locating errors by line."""

    def __init__(self, text: str, path: Path | None):
        self.lines = text.splitlines()
        self.path = path

    def error(self, where: tuple, key: str, message: str) -> ConfigError:
        dotted = "".join(f"[{w}]" if isinstance(w, int) else f".{w}" for w in (*where, key)).lstrip(".")
        line = self._line(where, key)
        if line is None and len(where) > 1 and isinstance(where[-1], int):  # an inline table in a list
            line = self._line(where[:-2], str(where[-2]))
        return ConfigError(f"{dotted}: {message}", self.path, line)

    def _line(self, where: tuple, key: str) -> int | None:
        """Line of `key` in the table at `where` (e.g. ("feeds", 2, "rules")), by a plain scan."""
        names = [w for w in where if not isinstance(w, int)]
        index = next((w for w in where if isinstance(w, int)), None)
        header = ".".join(names)
        current, count, fallback = "", -1, None
        for n, line in enumerate(self.lines, 1):
            s = line.strip()
            if m := re.match(r"^\[\[\s*([^\]]+?)\s*\]\]", s):
                current = m.group(1)
                if names and current == names[0]:
                    count += 1
                continue
            if m := re.match(r"^\[\s*([^\]]+?)\s*\]", s):
                current = m.group(1)
                continue
            in_table = current == header and (index is None or count == index)
            if in_table and re.match(rf"^[\"']?{re.escape(key)}[\"']?\s*=", s):
                return n
            if in_table and fallback is None:
                fallback = n
        return fallback

    def build(self, cls: type, raw: Any, where: tuple, skip: frozenset[str] = frozenset()) -> Any:
        if not isinstance(raw, dict):
            raise self.error(where[:-1], str(where[-1]) if where else "", "must be a table")
        fields = {_key(f): f for f in dataclasses.fields(cls) if f.name not in skip}
        hints = _hints(cls)
        unknown = sorted(set(raw) - set(fields))
        if unknown:
            raise self.error(where, unknown[0], f"unknown key (known: {', '.join(sorted(fields))})")
        values = {}
        for key, value in raw.items():
            name = fields[key].name
            values[name] = self._value(hints[name], value, (*where, key), fields[key].metadata)
        missing = [key for key, f in fields.items() if f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING and f.name not in values]
        if missing:
            raise self.error(where, missing[0], "is required")
        obj = cls(**values)
        self._check(obj, where, set(raw))
        return obj

    def _value(self, hint: Any, value: Any, where: tuple, meta: Mapping) -> Any:
        key, parent = str(where[-1]), where[:-1]
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        for option in options:
            if option is type(None):
                continue
            if dataclasses.is_dataclass(option):
                return self.build(typing.cast(type, option), value, where)
            origin = typing.get_origin(option)
            if origin is tuple and dataclasses.is_dataclass(item := typing.get_args(option)[0]):
                if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                    raise self.error(parent, key, "must be a list of tables")
                return tuple(self.build(typing.cast(type, item), v, (*where, i)) for i, v in enumerate(value))
            if origin is tuple:
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise self.error(parent, key, "must be a list of strings")
                return tuple(value)
            if origin is dict:
                if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                    raise self.error(parent, key, "must be a table of strings")
                return dict(value)
            if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if option is int and isinstance(value, int) and not isinstance(value, bool):
                return value
            if option in (str, bool) and type(value) is option:
                if "choices" in meta and value not in meta["choices"]:
                    raise self.error(parent, key, f"must be one of {', '.join(map(repr, meta['choices']))}, not {value!r}")
                return value
        expected = " or ".join(getattr(o, "__name__", str(o)) for o in options if o is not type(None))
        raise self.error(parent, key, f"must be {expected}, not {type(value).__name__} {value!r}")

    def _check(self, obj: Any, where: tuple, given: set[str]) -> None:
        """Checks that need more than a type (`_RULES`), and those between two keys."""
        keys = {f.name: _key(f) for f in dataclasses.fields(obj)}
        for name, rule in _RULES[type(obj)].items():
            if problem := rule(getattr(obj, name)):
                raise self.error(where, keys[name], problem)
        if isinstance(obj, DigestSettings) and (clash := _digest_problem(obj, given)):
            raise self.error(where, *clash)
        # Only when set: the default per_host (2) with `concurrency = 1` is what the user meant.
        if isinstance(obj, FetchSettings) and "per_host" in given and obj.per_host > obj.concurrency:
            raise self.error(where, "per_host", f"must be at most concurrency ({obj.concurrency}), not {obj.per_host}")

    def check_ids(self, feeds: Iterable[FeedConfig]) -> None:
        """Ids name folders: two that differ only in case are one folder on Windows and macOS."""
        seen: dict[str, str] = {}
        for i, feed in enumerate(feeds):
            other = seen.get(feed.id.lower())
            if other is not None:
                raise self.error(("feeds", i), "id", f"duplicate feed id {feed.id!r}" if other == feed.id else
                                 f"{feed.id!r} differs from the id {other!r} only in case: one folder on Windows and macOS")
            seen[feed.id.lower()] = feed.id


# --- editing -------------------------------------------------------------------------------


def write_default(path: Path) -> None:
    _replace(path, default_text())


def add_feed(path: Path, feed_id: str, url: str, title: str | None) -> None:
    """Append a [[feeds]] table, keeping the rest of the file (comments included) as it is."""
    add_feeds(path, [(feed_id, url, title)])


def add_feeds(path: Path, feeds: Iterable[tuple[str, str, str | None]]) -> None:
    """Append [[feeds]] tables (id, url, title) in one write; nothing is written if the result
    would not load.

    Appended as text (each value quoted by tomlkit), not through tomlkit's document: that
    renders the array of tables again at every append, and 10,000 feeds took minutes.
    """
    text = _read(path) if path.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    _write_checked(path, text + "".join(_feed_table(*feed) for feed in feeds))


def _feed_table(feed_id: str, url: str, title: str | None) -> str:
    title_line = f"title = {_toml_str(title)}\n" if title else ""
    return f"\n[[feeds]]\nid = {_toml_str(feed_id)}\n{title_line}url = {_toml_str(url)}\n"


def _write_checked(path: Path, text: str) -> None:
    """Write `text` only if it loads: an edit never leaves a mirror that every command refuses."""
    parse(text, path)
    _replace(path, text)


def remove_feed(path: Path, feed_id: str) -> bool:
    """Drop the feed's table; False when there was none."""
    doc = tomlkit.parse(_read(path))
    feeds = doc.get("feeds", [])
    for i, table in enumerate(feeds):
        if table.get("id") == feed_id:
            del feeds[i]
            _replace(path, tomlkit.dumps(doc))
            return True
    return False


def set_feed_key(path: Path, feed_id: str, key: str, value: Any) -> None:
    """Change one key of one feed (used when a feed moved permanently). The new address comes
    from the network: ConfigError, and the file unchanged, when the result would not load."""
    doc = tomlkit.parse(_read(path))
    for t in doc.get("feeds", []):
        if t.get("id") == feed_id:
            t[key] = value
    _write_checked(path, tomlkit.dumps(doc))


_TMP_PREFIX = ".nm-tmp-"  # as archive.py's files being written: git-ignored (archive imports this module)


def _replace(path: Path, text: str) -> None:
    """Write the configuration whole or not at all: it is the user's only copy, and a full disk
    or a kill in the middle of `add` must not leave half of it. A temporary file beside it,
    fsync, rename; the file keeps its mode, and a symbolic link to it stays one."""
    target = path.resolve()
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None  # a new file: os.open's 0o666 under the umask, as write_text would
    tmp = target.with_name(f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        try:
            view = memoryview(text.encode("utf-8"))
            while view:
                view = view[os.write(fd, view):]
            if mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
