"""The mirror's configuration: `newsmirror.toml` read once into frozen dataclasses.

Every key is checked here, at the edge, so that the rest of the code can trust its settings;
a bad key or value is reported with its file and line (exit status 2 at the command line).
Editing (`add`, `remove`) goes through tomlkit so that the user's comments survive.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from . import __version__
from .dates import DEFAULT_TIMEZONE, zone

CONFIG_NAME = "newsmirror.toml"
DEFAULT_PROXY = "https://images.weserv.nl?url={url_noscheme}"
VARIANTS = ("original", "zh-Hans", "zh-Hant", "zh-TW", "zh-HK")  # Chinese script editions (OpenCC)
FEED_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MiB = 1024 * 1024


class ConfigError(Exception):
    """A configuration problem a user can fix: names the file, the line and the key."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None):
        where = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
        super().__init__(f"{where}{message}")


def _choices(*values: str) -> dict:
    return {"choices": values}


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
class LimitSettings:
    """Bounds on the work one feed may cause in one pass, whatever it sends."""

    work_seconds: float | None = None  # parsing, extraction and cleaning of one feed; None: 3 x [fetch] timeout
    max_article_bytes: int = 2 * MiB  # one article's stored body; a longer one is cut at a block boundary
    max_items: int = 1000  # new items taken from one feed per pass; the rest wait, oldest first
    max_pages: int = 100  # article pages fetched per feed per pass; the rest wait


@dataclass(frozen=True)
class ImageSettings:
    """How image URLs in articles are rewritten: through a proxy, to a local copy, or kept."""

    mode: str = field(default="proxy", metadata=_choices("proxy", "local", "keep"))
    proxy: str = DEFAULT_PROXY
    fallbacks: tuple[str, ...] = ()
    referers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishSettings:
    """Git mirrors: after a pass that changed files, one commit, then a push to every remote."""

    remotes: tuple[str, ...] = ()
    branch: str = "main"
    author_name: str = "newsmirror"
    author_email: str = "newsmirror@localhost"
    retries: int = 3
    site_url: str | None = None  # where site/ is served: re-published feeds link the mirror's copies


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
class Config:
    """The whole configuration of one mirror folder."""

    feeds: tuple[FeedConfig, ...] = ()
    fetch: FetchSettings = field(default_factory=FetchSettings)
    images: ImageSettings = field(default_factory=ImageSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
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

    def work_seconds(self) -> float:
        """Seconds of parsing, extraction and cleaning one feed may take in one pass."""
        return self.limits.work_seconds or 3 * self.fetch.timeout

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
        "# concurrency = 16          # requests at once",
        "# per_host = 2              # requests at once to one host",
        '# proxy = "socks5://127.0.0.1:1080"   # also HTTP(S)_PROXY / ALL_PROXY',
        "",
        "[images]",
        '# mode = "proxy"            # "proxy", "local" (copies under media/) or "keep"',
        f'# proxy = "{DEFAULT_PROXY}"',
        '# fallbacks = ["https://wsrv.nl/?url={url_encoded}"]',
        "",
    ]
    lines += [
        "[publish]",
        "# Git remotes (URLs or paths) to push the mirror to after every pass that changed files.",
        '# remotes = ["git@github.com:you/news.git", "/srv/git/news.git"]',
        '# branch = "main"',
        '# author_name = "newsmirror"',
        '# author_email = "newsmirror@localhost"',
        "# retries = 3",
        "# Where site/ is served; the re-published feeds under feeds/ then link the mirror's copies.",
        '# site_url = "https://you.github.io/news/site/"',
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


# --- reading -------------------------------------------------------------------------------


def load(path: Path) -> Config:
    """Read and validate `path`; ConfigError names the file, line and key of any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("configuration file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration: {exc}", path) from None
    return parse(text, path)


def parse(text: str, path: Path | None = None) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"invalid TOML: {exc}", path, int(m.group(1)) if m else None) from None
    reader = _Reader(text, path)
    feeds_raw = data.pop("feeds", [])
    if not isinstance(feeds_raw, list):
        raise reader.error((), "feeds", "must be a list of [[feeds]] tables")
    config = reader.build(Config, data, (), skip={"feeds", "path"})
    feeds = tuple(reader.build(FeedConfig, raw, ("feeds", i)) for i, raw in enumerate(feeds_raw))
    seen: set[str] = set()
    for i, feed in enumerate(feeds):
        if feed.id in seen:
            raise reader.error(("feeds", i), "id", f"duplicate feed id {feed.id!r}")
        seen.add(feed.id)
    return dataclasses.replace(config, feeds=feeds, path=path)


class _Reader:
    """Builds dataclasses from TOML tables, checking keys and types, locating errors by line."""

    def __init__(self, text: str, path: Path | None):
        self.lines = text.splitlines()
        self.path = path

    def error(self, where: tuple, key: str, message: str) -> ConfigError:
        dotted = "".join(f"[{w}]" if isinstance(w, int) else f".{w}" for w in (*where, key)).lstrip(".")
        return ConfigError(f"{dotted}: {message}", self.path, self._line(where, key))

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

    def build(self, cls: type, raw: Any, where: tuple, skip: set[str] = frozenset()) -> Any:
        if not isinstance(raw, dict):
            raise self.error(where[:-1], str(where[-1]) if where else "", "must be a table")
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
        hints = typing.get_type_hints(cls)
        unknown = sorted(set(raw) - set(fields))
        if unknown:
            raise self.error(where, unknown[0], f"unknown key (known: {', '.join(sorted(fields))})")
        values = {}
        for name, value in raw.items():
            values[name] = self._value(hints[name], value, (*where, name), fields[name].metadata)
        missing = [f.name for f in fields.values() if f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING and f.name not in values]
        if missing:
            raise self.error(where, missing[0], "is required")
        obj = cls(**values)
        self._check(obj, where)
        return obj

    def _value(self, hint: Any, value: Any, where: tuple, meta: typing.Mapping) -> Any:
        key, parent = str(where[-1]), where[:-1]
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        for option in options:
            if option is type(None):
                continue
            if dataclasses.is_dataclass(option):
                return self.build(option, value, where)
            origin = typing.get_origin(option)
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

    def _check(self, obj: Any, where: tuple) -> None:
        """Checks that need more than a type: ranges, formats, known zones."""
        def positive(*names: str) -> None:
            for name in names:
                if getattr(obj, name) <= 0:
                    raise self.error(where, name, "must be greater than 0")

        if isinstance(obj, FeedConfig):
            if not FEED_ID.match(obj.id):
                raise self.error(where, "id", "must be 1-64 letters, digits, '-' or '_', starting with a letter or digit")
            if not re.match(r"^https?://", obj.url):
                raise self.error(where, "url", f"must be an http(s) URL, not {obj.url!r}")
        if isinstance(obj, (FeedConfig, Config)) and obj.timezone is not None:
            try:
                zone(obj.timezone)
            except ValueError as exc:
                raise self.error(where, "timezone", str(exc)) from None
        if isinstance(obj, FetchSettings):
            positive("timeout", "connect_timeout", "max_feed_bytes", "max_page_bytes", "max_image_bytes",
                     "concurrency", "per_host")
        if isinstance(obj, ImageSettings):
            for name, template in [("proxy", obj.proxy), *(("fallbacks", t) for t in obj.fallbacks)]:
                if not re.search(r"\{url(_noscheme|_encoded)?\}", template):
                    raise self.error(where, name, f"{template!r} has no {{url}}, {{url_noscheme}} or {{url_encoded}}")
        if isinstance(obj, (FeedConfig, Config)) and obj.interval is not None and obj.interval <= 0:
            raise self.error(where, "interval", "must be greater than 0")
        if isinstance(obj, Config):
            for edition in obj.editions:
                if edition not in VARIANTS[1:]:
                    raise self.error(where, "editions", f"{edition!r} is not one of {', '.join(VARIANTS[1:])}")
            if obj.takedown_days < 0 or obj.takedown_budget < 0:
                raise self.error(where, "takedown_days" if obj.takedown_days < 0 else "takedown_budget", "must not be negative")
        if isinstance(obj, PublishSettings) and (obj.retries < 0 or not re.fullmatch(r"[A-Za-z0-9._/-]+", obj.branch)):
            raise self.error(where, "retries" if obj.retries < 0 else "branch", "is not valid")
        if isinstance(obj, Config) and obj.feeds_out < 0:
            raise self.error(where, "feeds_out", "must not be negative")
        if isinstance(obj, Config) and obj.page_retries < 0:
            raise self.error(where, "page_retries", "must not be negative")


# --- editing -------------------------------------------------------------------------------


def write_default(path: Path) -> None:
    path.write_text(default_text(), encoding="utf-8")


def add_feed(path: Path, feed_id: str, url: str, title: str | None) -> None:
    """Append a [[feeds]] table, keeping the rest of the file (comments included) as it is."""
    add_feeds(path, [(feed_id, url, title)])


def add_feeds(path: Path, feeds: Iterable[tuple[str, str, str | None]]) -> None:
    """Append [[feeds]] tables (id, url, title) in one write; nothing is written if the result
    would not load."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    doc = tomlkit.parse(text)
    if "feeds" not in doc:
        doc.add("feeds", tomlkit.aot())
    for feed_id, url, title in feeds:
        table = tomlkit.table()
        table.add("id", feed_id)
        if title:
            table.add("title", title)
        table.add("url", url)
        doc["feeds"].append(table)
    parse(tomlkit.dumps(doc), path)  # never write a file that would not load
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")


def remove_feed(path: Path, feed_id: str) -> bool:
    """Drop the feed's table; False when there was none."""
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    feeds = doc.get("feeds", [])
    for i, table in enumerate(feeds):
        if table.get("id") == feed_id:
            del feeds[i]
            path.write_text(tomlkit.dumps(doc), encoding="utf-8")
            return True
    return False


def set_feed_key(path: Path, feed_id: str, key: str, value: Any) -> None:
    """Change one key of one feed (used when a feed moved permanently)."""
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    for t in doc.get("feeds", []):
        if t.get("id") == feed_id:
            t[key] = value
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
