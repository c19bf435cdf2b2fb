"""The daily digest: `digests/D.md` and `digests/D.html`, the articles published on one day, and a mail of them.

E-mail reaches readers when every web host of the mirror is blocked. The HTML is one
self-contained file (a style element, no scripts, images by their http(s) proxy address,
never a `media/` path: a mail has no folder beside it); the Markdown is its text, and the
mail's text/plain part. Both are functions of the state alone, so running it again for a
day rewrites the same bytes. Bodies come from the state, sanitized when stored; titles and
everything else not HTML are escaped here.
"""

from __future__ import annotations

import html
import os
import re
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from . import archive as files
from . import editions
from .archive import Archive
from .config import Config, DigestSettings, ImageSettings, host_port
from .dates import display, offset_label
from .history import Version
from .htmltokens import Tag, is_tag, split, tag_name
from .images import apply_template, templates
from .model import Article
from .render.links import safe_link
from .render.markdown import link, one_line, text_line
from .store import Store

FOLDER = "digests"
TITLE = "新闻镜像"  # the site's name (render/site.py SITE_TITLE), without loading the site's renderer
MAX_ARTICLES = 2000  # read and listed in one digest, the earliest; a mirror of hundreds of busy feeds counts the rest
REMOVED = "已被删除"
STYLE = ("body{font-family:'PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC',sans-serif;"
         "max-width:42em;margin:0 auto;padding:1em;line-height:1.7;color:#222}"
         "h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}h3{font-size:1.1em;margin-bottom:0}"
         ".meta{color:#777;font-size:.9em;margin-top:.2em}img{max-width:100%;height:auto}a{color:#0645ad}")


class MailError(Exception):
    """The digest could not be mailed: one line saying why (the files are written all the same)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """An article as the digest shows it: `full` when its body is included, else title and link."""

    article: Article
    full: bool


@dataclass(frozen=True, slots=True)
class Digest:
    """One day's digest, everything its files and mail are rendered from."""

    day: date
    zone: tzinfo
    sections: tuple[tuple[str, tuple[Entry, ...]], ...]  # (feed title, its articles by time), feeds in config order
    unlisted: int  # past MAX_ARTICLES

    @property
    def count(self) -> int:
        return sum(len(entries) for _, entries in self.sections) + self.unlisted

    @property
    def full(self) -> int:
        return sum(e.full for _, entries in self.sections for e in entries)

    @property
    def subject(self) -> str:
        return f"{TITLE} {self.day.isoformat()}：{self.count} 篇文章"


# --- decisions (pure) --------------------------------------------------------------------


def parse_day(text: str) -> date:
    """`YYYY-MM-DD` (only that: the name of the files); ValueError otherwise."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a day (YYYY-MM-DD, e.g. 2024-05-07)")


def yesterday(now_ms: int, zone: tzinfo) -> date:
    """The day before `now_ms` in `zone`: what a daily run at any hour of today sums up."""
    return datetime.fromtimestamp(now_ms / 1000, zone).date() - timedelta(days=1)


def bounds(day: date, zone: tzinfo) -> tuple[int, int]:
    """[start, end) of `day` in `zone`, in ms (23 or 25 hours on a day summer time changes)."""
    def midnight(d: date) -> int:
        return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp() * 1000)
    return midnight(day), midnight(day + timedelta(days=1))


def choose(articles: Iterable[Article], order: list[str], titles: Mapping[str, str], max_bytes: int
           ) -> tuple[tuple[str, tuple[Entry, ...]], ...]:
    """The digest's sections: articles (oldest first) grouped by feed, feeds in `order` (ids
    not in it after, by id). Bodies go in while their HTML totals at most `max_bytes`, in
    section order; a body that does not fit leaves its article a title and a link, and a
    later, smaller one may still fit."""
    by_feed: dict[str, list[Article]] = defaultdict(list)
    for a in articles:
        by_feed[a.feed_id].append(a)
    ids = [i for i in order if i in by_feed] + sorted(by_feed.keys() - set(order))
    room, sections = max_bytes, []
    for feed_id in ids:
        entries = []
        for a in by_feed[feed_id]:
            size = len(a.body.encode("utf-8"))
            full = size <= room
            room -= size if full else 0
            entries.append(Entry(a, full))
        sections.append((titles.get(feed_id, feed_id), tuple(entries)))
    return tuple(sections)


def mail_images(body: str, rewrite: Callable[[str], str | None]) -> str:
    """`body` with each image's `src` made `rewrite(src)`, or the image left out when that is
    None (a local copy whose source is unknown: a mail has no folder to find it in)."""
    out = []
    for piece in split(body):
        if is_tag(piece) and tag_name(piece) == "img":
            tag = Tag.parse(piece)
            src = rewrite(tag.get("src") or "")
            if src is None:
                continue
            tag.set("src", src)
            piece = tag.html()
        out.append(piece)
    return "".join(out)


def local_path(src: str) -> str | None:
    """`media/...` of an image's local copy as an article's body refers to it (`../../media/...`)."""
    path = src
    while path.startswith("../"):
        path = path[3:]
    return path if path.startswith("media/") else None


def markdown(d: Digest) -> str:
    """The digest as Markdown: the `.md` file and the mail's text/plain part."""
    lines = [f"# {TITLE} · {d.day.isoformat()}", "", _summary(d), ""]
    for title, entries in d.sections:
        lines += [f"## {text_line(one_line(title))}", ""]
        for e in entries:
            a = e.article
            heading = link(one_line(a.title), safe_link(a.link)) if safe_link(a.link) else text_line(one_line(a.title))
            if not e.full:
                lines += [f"- {heading} · {_meta(a, d.zone)}", ""]
                continue
            lines += [f"### {heading}", "", _meta(a, d.zone), ""]
            text = Version(0, 0, "", a.body).text.partition("\n\n")[2]
            lines += [x for paragraph in text.splitlines() for x in (text_line(paragraph), "")]
    if d.unlisted:
        lines += [_unlisted(d), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def to_html(d: Digest) -> str:
    """The digest as one self-contained HTML document (no script, no file beside it)."""
    e = html.escape
    parts = [f'<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8">'
             f'<meta name="viewport" content="width=device-width, initial-scale=1">'
             f"<title>{e(TITLE)} {d.day.isoformat()}</title><style>{STYLE}</style></head>\n<body>\n"
             f"<h1>{e(TITLE)} · {d.day.isoformat()}</h1>\n<p class=\"meta\">{e(_summary(d))}</p>\n"]
    for title, entries in d.sections:
        parts.append(f"<h2>{e(one_line(title))}</h2>\n")
        for entry in entries:
            a = entry.article
            href = safe_link(a.link)
            name = e(one_line(a.title))
            heading = f'<a href="{e(href)}">{name}</a>' if href else name
            meta = f'<p class="meta">{e(_meta(a, d.zone))}</p>'
            if entry.full:
                parts.append(f"<h3>{heading}</h3>{meta}\n<div>{a.body}</div>\n")
            else:
                parts.append(f"<p>{heading}</p>{meta}\n")
    if d.unlisted:
        parts.append(f'<p class="meta">{e(_unlisted(d))}</p>\n')
    parts.append("</body></html>\n")
    return "".join(parts)


def _summary(d: Digest) -> str:
    zone = offset_label(datetime(d.day.year, d.day.month, d.day.day, 12, tzinfo=d.zone).utcoffset() or timedelta())
    shown = "" if d.full == d.count else f"，{d.full} 篇全文，其余仅列标题和链接"
    return f"{d.count} 篇文章（发布于 {d.day.isoformat()}，{zone}）{shown}"


def _meta(a: Article, zone: tzinfo) -> str:
    return display(a.published, zone) + (f" · {REMOVED}" if a.removed_at else "")


def _unlisted(d: Digest) -> str:
    return f"另有 {d.unlisted} 篇未列出（每份摘要最多 {MAX_ARTICLES} 篇）"


# --- I/O: the state, the files, the mail -------------------------------------------------


def build(config: Config, store: Store, day: date) -> Digest:
    """The digest of `day` (in `[display] timezone`) from the state."""
    zone = config.display.zone
    rows, total = store.published_between(*bounds(day, zone), MAX_ARTICLES)
    feeds = {f.id: f for f in config.feeds}
    local = {p for r in rows for piece in split(r.body) if is_tag(piece) and tag_name(piece) == "img"
             if (p := local_path(Tag.parse(piece).get("src") or ""))}
    sources = store.image_sources(local) if local else {}
    titles, rewriters, variants = {}, {}, {}
    for feed_id in dict.fromkeys(r.feed_id for r in rows):
        conf = feeds.get(feed_id)
        variants[feed_id] = config.variant_for(conf) if conf else config.variant
        title = (conf and conf.title) or store.feed(feed_id).title or feed_id
        titles[feed_id] = editions.converter(variants[feed_id])(title)
        rewriters[feed_id] = image_rewriter(config.images_for(conf) if conf else config.images, sources)
    articles = [editions.article(Article(r.feed_id, r.number, r.title, r.link, r.published,
                                         mail_images(r.body, rewriters[r.feed_id]), r.removed_at), variants[r.feed_id])
                for r in rows]
    return Digest(day, zone, choose(articles, list(feeds), titles, config.digest.max_bytes), total - len(rows))


def image_rewriter(settings: ImageSettings, sources: Mapping[str, str]) -> Callable[[str], str | None]:
    """Images for a mail: http(s) ones as stored (through the proxy the settings named, or kept);
    local copies (`sources`: path -> image URL) back to their source through the proxy of
    `settings`; anything else left out."""
    proxy = templates(settings)[0]

    def rewrite(src: str) -> str | None:
        if safe_link(src):
            return src
        path = local_path(src)
        source = sources.get(path) if path else None
        proxied = apply_template(proxy, source) if source else ""
        return proxied if safe_link(proxied) else None

    return rewrite


def write(archive: Archive, d: Digest) -> tuple[str, str]:
    """Write `digests/D.md` and `.html` (untouched when they hold the same bytes); their texts."""
    text, page = markdown(d), to_html(d)
    folder = archive.root / FOLDER
    files.write(folder / f"{d.day.isoformat()}.md", text)
    files.write(folder / f"{d.day.isoformat()}.html", page)
    return text, page


def message(settings: DigestSettings, d: Digest, text: str, page: str) -> EmailMessage:
    """multipart/alternative: the Markdown as text/plain, the HTML as text/html."""
    msg = EmailMessage()
    msg["Subject"] = d.subject
    msg["From"] = settings.sender or ""
    msg["To"] = ", ".join(settings.to)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=(settings.sender or "newsmirror@localhost").rpartition("@")[2])
    msg.set_content(text)
    msg.add_alternative(page, subtype="html")
    return msg


def send(settings: DigestSettings, msg: EmailMessage) -> None:
    """Mail `msg` through `settings.smtp`: TLS from the start (`ssl`), else STARTTLS when the server
    offers it (`starttls = "always"`: or fail); a password is never sent unencrypted. MailError,
    one line, on any failure."""
    assert settings.smtp is not None
    where = host_port(settings.smtp)
    assert where is not None
    host, port = where
    try:
        _send(settings, host, port, msg)
    except (MailError, smtplib.SMTPException, OSError) as exc:
        raise MailError(f"cannot mail the digest through {settings.smtp}: {_why(exc, settings)}") from None


def _why(exc: Exception, settings: DigestSettings) -> str:
    """What went wrong with the server, in a few words."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login as {settings.user!r} refused ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"every recipient refused ({', '.join(exc.recipients)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, TimeoutError):
        return f"no answer within {settings.timeout:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


def _send(settings: DigestSettings, host: str, port: int, msg: EmailMessage) -> None:
    context = ssl.create_default_context()  # system CAs; SSL_CERT_FILE names another (a private CA)
    client = (smtplib.SMTP_SSL(host, port, timeout=settings.timeout, context=context) if settings.ssl
              else smtplib.SMTP(host, port, timeout=settings.timeout))
    with client:
        client.ehlo()
        encrypted = settings.ssl
        if not encrypted and settings.starttls != "never":
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
                encrypted = True
            elif settings.starttls == "always":
                raise MailError('the server does not offer STARTTLS (starttls = "always")')
        if settings.user:
            if not encrypted:
                raise MailError("the server does not offer STARTTLS; the password is not sent unencrypted")
            password = os.environ.get(settings.password_env)
            if not password:
                raise MailError(f"the environment variable {settings.password_env} (the password of {settings.user!r}) is not set")
            client.login(settings.user, password)
        refused = client.send_message(msg)
    if refused:
        raise MailError(f"refused for {', '.join(sorted(refused))} (mailed to the others)")


def _reply(code: int, text: bytes | str) -> str:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(said.split())}"
