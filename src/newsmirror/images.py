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

# Image proxies in common use: a URL already pointing at one is never wrapped again.
KNOWN_PROXIES = frozenset({"images.weserv.nl", "wsrv.nl", "i0.wp.com", "i1.wp.com", "i2.wp.com", "i3.wp.com",
                           "imageproxy.pimg.tw", "proxy.duckduckgo.com", "camo.githubusercontent.com"})


def apply_template(template: str, url: str) -> str:
    """Fill `{url}`, `{url_noscheme}` (no `https://`) and `{url_encoded}` in a proxy template."""
    return (template.replace("{url_noscheme}", re.sub(r"^https?://", "", url))
            .replace("{url_encoded}", quote(url, safe=""))
            .replace("{url}", url))


def proxy_hosts(settings: ImageSettings) -> frozenset[str]:
    configured = {urls.host(apply_template(t, "x")) for t in (settings.proxy, *settings.fallbacks)}
    return KNOWN_PROXIES | {h for h in configured if h}


def rewriter(settings: ImageSettings, local: Mapping[str, str] | None = None,
             refused: frozenset[str] = frozenset()) -> Callable[[str], str | None]:
    """The `rewrite_image` callable for the clean stage.

    `local` maps image URLs to their relative paths in `local` mode (an image that could not be
    copied keeps its URL). `refused` holds image hosts the main proxy is known to refuse: those
    go through the first fallback template instead.
    """
    hosts = proxy_hosts(settings)

    def rewrite(url: str) -> str | None:
        if not urls.is_http(url):
            return None if url.startswith("data:") else url
        if settings.mode == "keep" or urls.host(url) in hosts:
            return url
        if settings.mode == "local":
            return (local or {}).get(url, url)
        template = settings.proxy
        if settings.fallbacks and urls.host(url) in refused:
            template = settings.fallbacks[0]
        return apply_template(template, url)

    return rewrite
