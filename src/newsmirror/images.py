"""Image URLs in articles: through an image proxy, to a local copy, or kept as they are.

Readers behind a block often cannot reach the publishers' image hosts, so by default every
image goes through a proxy they can reach (images.weserv.nl, as the original mirror did).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import quote

from . import urls
from .config import ImageSettings
from .htmltokens import Tag, is_text, split

LOCAL = "../../media/"  # how a body names a local copy (building.py): from articles/<feed>/ to media/

# Image proxies in common use: a URL already pointing at one is never wrapped again.
KNOWN_PROXIES = frozenset({"images.weserv.nl", "wsrv.nl", "i0.wp.com", "i1.wp.com", "i2.wp.com", "i3.wp.com",
                           "imageproxy.pimg.tw", "proxy.duckduckgo.com", "camo.githubusercontent.com"})


def apply_template(template: str, url: str) -> str:
    """Fill `{url}`, `{url_noscheme}` (no `https://`) and `{url_encoded}` in a proxy template
    (each worked out only when the template holds it: this runs for every image)."""
    if "{url_noscheme}" in template:
        template = template.replace("{url_noscheme}", _SCHEME.sub("", url))
    if "{url_encoded}" in template:
        template = template.replace("{url_encoded}", quote(url, safe=""))
    return template.replace("{url}", url)


_SCHEME = re.compile(r"^https?://")


def proxy_hosts(settings: ImageSettings) -> frozenset[str]:
    configured = {urls.host(apply_template(t, "x")) for t in templates(settings)}
    return KNOWN_PROXIES | {h for h in configured if h}


def templates(settings: ImageSettings) -> tuple[str, ...]:
    """The proxy templates in order of preference."""
    return (settings.proxy, *settings.fallbacks)


def rewriter(settings: ImageSettings, local: Mapping[str, str] | None = None,
             choices: Mapping[str, int] | None = None) -> Callable[[str], str | None]:
    """The `rewrite_image` callable for the clean stage.

    `local` maps image URLs to their relative paths in `local` mode (an image that could not be
    copied keeps its URL). `choices` maps image hosts to the template (index into `templates`)
    that serves them, for hosts the main proxy refuses.
    """
    hosts = proxy_hosts(settings)
    order = templates(settings)

    def rewrite(url: str) -> str | None:
        host = urls.http_host(url)
        if host is None:
            return None if url.startswith("data:") else url
        if settings.mode == "keep" or host in hosts:
            return url
        if settings.mode == "local":
            return (local or {}).get(url, url)
        return apply_template(order[(choices or {}).get(host, 0)], url)

    return rewrite


def relocate(body: str, up: int) -> str:
    """`body` on a page `up` folders deeper than articles/<feed>/ (the site's
    site/articles/<feed>/, an edition's zh-Hant/articles/<feed>/): the paths of its local copies
    lead to the one media/ from there, so that a clone, a git host's view and the site all
    find the image. Other pieces are kept byte for byte."""
    if LOCAL not in body:
        return body
    pieces = split(body)
    for i, piece in enumerate(pieces):
        if LOCAL in piece and not is_text(piece):
            tag = Tag.parse(piece)
            if tag.name == "img" and (src := tag.get("src") or "").startswith(LOCAL):
                tag.set("src", "../" * up + src)
                pieces[i] = tag.html()
    return "".join(pieces)
