"""Dates as feeds really write them, turned into milliseconds since the epoch (UTC).

The rule for a date without a zone (`2018-09-18 14:38:10`, common in Chinese feeds): it is read
in the feed's `timezone` (default Asia/Shanghai, UTC+8, where most such feeds are produced).
RFC 822 zone names follow RFC 822 (`CST` is US Central, as feedparser reads it).
"""

from __future__ import annotations

import email.utils
import os
import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"
# The days of list pages, the site and search results: the original mirror dated its lists in
# UTC+8, whatever the feed's zone, and the readers it serves live there.
UTC8 = timezone(timedelta(hours=8))

# ISO 8601 and its relatives: 2024-05-07T21:14:35Z, 2018-09-18 14:38:10, 2018/9/18 14:38,
# 2018年9月18日 14:38, with an optional fraction and an optional zone.
_ISO = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:(?:[T\s]+|\s*)(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:[.,](\d+))?)?\s*秒?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*$",
    re.IGNORECASE,
)
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})(\d{2})?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$")
# "(CST)", "(China Standard Time)": RFC 822 comments after the zone, as JavaScript's Date writes them.
_COMMENT = re.compile(r"\s*\([^()]*\)\s*$")
# "GMT+8", "UTC+08:00" and "+8" after an RFC 822 date: email.utils does not know them.
_GMT_OFFSET = re.compile(r"\s(?:GMT|UTC)?\s*([+-])(\d{1,2})(?::?(\d{2}))?\s*$", re.IGNORECASE)


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The tzinfo for an IANA name or a fixed offset like `+08:00`; ValueError if unknown."""
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", name.strip())
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))
    if name.upper() in ("UTC", "GMT", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _offset(text: str | None) -> tzinfo | None:
    if not text:
        return None
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return timezone(timedelta(minutes=sign * minutes))


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def parse_date(text: str | None, default_tz: tzinfo | str = DEFAULT_TIMEZONE) -> int | None:
    """Milliseconds since the epoch for a feed date, or None when it is not a date.

    >>> parse_date("Tue, 07 May 2024 17:14:35 -0400")
    1715116475000
    >>> parse_date("2024-05-08 05:14:35")          # no zone: Asia/Shanghai
    1715116475000
    """
    if not text or not text.strip():
        return None
    tz = zone(default_tz) if isinstance(default_tz, str) else default_tz
    # Every run of white space made one space first: the patterns allow white space between any
    # two parts, and tried every way to share a long run of it out among them (a date and 2,000
    # spaces took 29 s).
    text = _COMMENT.sub("", " ".join(text.split())).strip()
    m = _ISO.match(text) or _COMPACT.match(text)
    if m:
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in m.groups()[:6])
        frac = m.group(7) if m.re is _ISO else None
        micro = int((frac or "0")[:6].ljust(6, "0"))
        zone_text = m.groups()[-1]
        try:
            return _ms(datetime(year, month, day, hour, minute, second, micro, tzinfo=_offset(zone_text) or tz))
        except ValueError:  # no such day, or an offset of a day or more ("+99:00")
            return None
    if m := _RFC822_PLAIN.fullmatch(text):  # how nearly every RSS feed writes it: no parsing library needed
        return _plain_rfc822(m)
    return _rfc822(text, tz)


# "Wed, 08 May 2024 10:00:00 GMT" and "... +0800": the common case of RFC 822, read here at a
# tenth of email.utils' cost; anything else (other zones, two-digit years...) goes there.
_RFC822_PLAIN = re.compile(r"(?:[A-Za-z]{3},\s*)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (GMT|UTC?|[+-]\d{4})")
_MONTHS = {name: number for number, name in
           enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


def _plain_rfc822(m: re.Match[str]) -> int | None:
    month = _MONTHS.get(m[2].lower())
    zone_text = m[7]
    minutes = 0 if zone_text[0] not in "+-" else (int(zone_text[1:3]) * 60 + int(zone_text[3:])) * (1 if zone_text[0] == "+" else -1)
    try:
        return _ms(datetime(int(m[3]), month or 0, int(m[1]), int(m[4]), int(m[5]), int(m[6]),
                            tzinfo=timezone(timedelta(minutes=minutes))))
    except ValueError:
        return None


def _rfc822(text: str, tz: tzinfo) -> int | None:
    # "GMT+8", "GMT+0100", "UTC+08:00", "+8" -> "+0800", the one form email.utils reads.
    text = _GMT_OFFSET.sub(lambda m: f" {m.group(1)}{int(m.group(2)):02d}{m.group(3) or '00'}", text)
    try:
        parts = email.utils.parsedate_tz(text)
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: a 20-digit year or offset
        parts = None
    if not parts:
        return None
    try:
        naive = datetime(*parts[:6])
    except (ValueError, OverflowError):
        return None
    # email.utils reports offset 0 for a missing zone too; look for one after the time.
    if not re.search(r"\d:\d{2}(?::\d{2})?\s*[A-Za-z+-]", text):
        return _ms(naive.replace(tzinfo=tz))
    try:
        return _ms(naive.replace(tzinfo=timezone(timedelta(seconds=parts[9] or 0))))
    except (ValueError, OverflowError):  # an offset of a day or more ("+9999"): no date
        return None


def http_date(ms: int) -> str:
    """RFC 1123 in GMT, as the header block of a page-built article shows it."""
    return email.utils.formatdate(ms / 1000, usegmt=True)


def iso(ms: int | None) -> str | None:
    """ISO 8601 in UTC with a Z, for JSON output."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def month_day_utc8(ms: int) -> str:
    """`M-D` of a date in UTC+8, as list pages show it (no leading zeros)."""
    dt = datetime.fromtimestamp(ms / 1000, UTC8)
    return f"{dt.month}-{dt.day}"


def offset_label(offset: timedelta) -> str:
    """`UTC+8`, `UTC-3:30`, `UTC`: an offset as people read it. Never a zone abbreviation: CST
    is China's and America's Central, and most zones' abbreviations are bare offsets anyway."""
    minutes = int(offset / timedelta(minutes=1))
    if not minutes:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def display(ms: int, tz: tzinfo) -> str:
    """`2024-05-08 05:14 UTC+8`: every time a person reads (CLI, site, logs), in the zone of
    `[display] timezone` and labelled with the offset in force then (summer time included)."""
    local = datetime.fromtimestamp(ms / 1000, tz)
    return f"{local:%Y-%m-%d %H:%M} {offset_label(local.utcoffset() or timedelta())}"


def display_zone(name: str) -> ZoneInfo:
    """The zone `[display] timezone` names: IANA only (`Asia/Shanghai`, `UTC`), because the
    site's search shows days in it too, through the browser's Intl, which takes those names.
    ValueError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as \"Asia/Shanghai\" or \"UTC\")") from exc


def now_ms() -> int:
    """Now, in milliseconds since the epoch (the unit of every time in the state).

    `NEWSMIRROR_NOW` (an ISO 8601 time with its offset) stands in for the clock, so that tests
    and simulations (bench/repo_growth.py) can run passes on chosen days (a new year, above all)."""
    fixed = os.environ.get("NEWSMIRROR_NOW")
    return _fixed_now(fixed) if fixed else int(time.time() * 1000)


@lru_cache(maxsize=8)
def _fixed_now(text: str) -> int:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValueError(f"NEWSMIRROR_NOW={text!r} is not an ISO 8601 time with an offset (2025-12-31T23:30:00+08:00)")
    return int(when.timestamp() * 1000)
