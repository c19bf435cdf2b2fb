"""URL handling: WHATWG serialization for the house format, joining, and canonical forms.

Everything goes through ada (a WHATWG-conformant parser) so that links written into articles
match what a browser would request, and so that two spellings of one link compare equal.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import ada_url
from ada_url.ada_adapter import ParseAttributes

# Query parameters that only track the reader; removing them never changes the page.
_TRACKING = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|_ga|_gl|"
    r"spm|isappinstalled|share_token|ref_src|cmpid|ocid|at_medium|at_campaign|at_custom\d*)$",
    re.IGNORECASE,
)
# Path spellings of an article's AMP or mobile copy, folded onto the article itself.
_AMP_PATH = re.compile(r"(/amp(?=/|$)|\.amp(?=\.html?$|$)|/amp\.html$)")
_MOBILE_HOST = re.compile(r"^(m|mobile|amp)\.")


def serialize(url: str) -> str:
    """The WHATWG serialization of `url`, or `url` with spaces encoded when it does not parse."""
    url = url.strip()
    try:
        return ada_url.normalize_url(url)
    except ValueError:
        return quote(url, safe="/:?#[]@!$&'()*+,;=%~")


def join(base: str, ref: str) -> str:
    """`ref` resolved against `base` (absolute URLs pass through); `ref` unchanged if it cannot be."""
    ref = ref.strip()
    if not ref:
        return ref
    try:
        return ada_url.join_url(base, ref) if base else ada_url.normalize_url(ref)
    except ValueError:
        return ref


def _parts(url: str, *names: str) -> ParseAttributes | None:
    """Some components of a parsed URL, None when it does not parse (one call into ada, not
    one per component as through its URL object)."""
    try:
        return ada_url.parse_url(url, attributes=names)
    except ValueError:
        return None


def http_url(base: str, ref: str) -> str | None:
    """`ref` resolved against `base`, in WHATWG serialization, if that is an http(s) URL; None
    for any other scheme (`javascript:`, `data:`, `mailto:`..., however spelled: the parser
    drops tabs, line breaks and leading spaces as a browser does) and for what does not parse."""
    ref = ref.strip()
    if not ref:
        return None
    try:
        href = ada_url.join_url(base, ref) if base else ada_url.normalize_url(ref)
    except ValueError:
        return None
    # A serialization starts with the scheme, lower-cased: one call into ada, not two.
    return href if href.startswith(("http://", "https://")) else None


def is_http(url: str) -> bool:
    """True for a parseable http(s) URL: the only kind newsmirror ever fetches."""
    parts = _parts(url, "protocol")
    return parts is not None and parts["protocol"] in ("http:", "https:")


def http_host(url: str) -> str | None:
    """The host name of an http(s) URL; None for any other URL (one parse for both questions)."""
    parts = _parts(url, "protocol", "hostname")
    return parts["hostname"] if parts is not None and parts["protocol"] in ("http:", "https:") else None


def host(url: str) -> str:
    """The host name of `url` ('' when it has none)."""
    parts = _parts(url, "hostname")
    return parts["hostname"] if parts is not None else ""


def canonical(url: str) -> str:
    """A comparison key: http = https, lower-case host, no www/m/amp prefix, no tracking
    parameters or fragment, AMP paths folded. Two links with one key are one article."""
    u = _parts(url.strip(), "href", "protocol", "hostname", "port", "pathname", "search")
    if u is None:
        return url.strip()
    if u["protocol"] not in ("http:", "https:"):
        return u["href"]
    hostname = _MOBILE_HOST.sub("", u["hostname"].removeprefix("www."))
    path = _AMP_PATH.sub("", u["pathname"]) or "/"
    params = [p for p in u["search"].lstrip("?").split("&") if p and not _TRACKING.match(p.split("=", 1)[0])]
    query = ("?" + "&".join(sorted(params))) if params else ""
    if path.endswith("/") and len(path) > 1:
        path = path.rstrip("/")
    port = f":{u['port']}" if u["port"] else ""
    return f"//{hostname}{port}{path}{query}"


def slug(url: str) -> str:
    """A feed id made from the host: `https://www.voachinese.com/x` -> `voachinese-com`."""
    name = host(url).removeprefix("www.") or "feed"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "feed"
