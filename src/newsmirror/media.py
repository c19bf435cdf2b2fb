"""Images on the network: local copies, and which image proxy serves which host.

Local copies (`images.mode = "local"`): each image downloaded once into the archive,
content-addressed by SHA-256 (`media/<aa>/<sha256>.<ext>`), so one image used by many articles
or feeds is stored once; the content type is checked (an HTML error page is not an image), the
size bounded, and hot-link-protected hosts get the Referer they expect (sites.REFERERS).

Proxy fallbacks (`images.fallbacks`): a proxy may refuse some hosts; one sample image per host
is requested through each template in turn, and the first that answers with an image serves
that host's images (remembered for a week).
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from . import archive as files
from . import urls as links
from .config import FetchSettings, ImageSettings
from .fetch import Fetcher, FetchError
from .images import apply_template, proxy_hosts, templates
from .sites import referer_for
from .store import Store

PROBE_EVERY = 7 * 24 * 3600 * 1000
IMAGE_ACCEPT = "image/avif,image/webp,image/*;q=0.9"

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
               "image/avif": "avif", "image/svg+xml": "svg", "image/bmp": "bmp"}


def _sniff(data: bytes) -> str | None:
    """The image type from its first bytes, for servers that label images wrongly."""
    signatures = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG", "image/png"), (b"GIF8", "image/gif"),
                  (b"BM", "image/bmp"))
    for magic, kind in signatures:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


async def localize(urls: list[str], root: Path, store: Store, fetcher: Fetcher, fetch: FetchSettings,
                   images: ImageSettings, now: int) -> dict[str, str]:
    """Copies of `urls` under `root/media/`; url -> path relative to the archive root.

    An image that cannot be had is remembered as failed (and keeps its URL in the article).
    """
    known = store.images(urls)
    missing = [u for u in urls if u not in known]

    async def one(url: str) -> tuple[str, str | None, str | None, int]:
        referer = referer_for(url, images.referers)
        try:
            response = await fetcher.get(url, fetch.max_image_bytes, headers={"Referer": referer} if referer else None,
                                         accept=IMAGE_ACCEPT)
        except FetchError as exc:
            return url, None, str(exc), now
        declared = response.content_type.split(";")[0].strip().lower()
        kind = _sniff(response.content) or (declared if declared in _EXTENSIONS else None)
        if kind is None:
            return url, None, f"not an image ({declared or 'no content type'})", now
        digest = hashlib.sha256(response.content).hexdigest()
        relative = f"media/{digest[:2]}/{digest}.{_EXTENSIONS[kind]}"
        target = root / relative
        if not target.exists():
            await asyncio.to_thread(files.write_bytes, target, response.content)
        return url, relative, None, now

    rows = await asyncio.gather(*(one(u) for u in missing))
    if rows:
        store.save_images(rows)
    known.update({url: path for url, path, _, _ in rows})
    return {url: path for url, path in known.items() if path}


async def choose_proxies(urls: list[str], store: Store, fetcher: Fetcher, fetch: FetchSettings,
                         images: ImageSettings, now: int) -> dict[str, int]:
    """Image host -> index of the first template (images.proxy, then fallbacks) that serves it."""
    skip = proxy_hosts(images)
    samples: dict[str, str] = {}
    for url in urls:
        host = links.host(url)
        if host and host not in skip:
            samples.setdefault(host, url)
    known = store.proxy_choices(samples, now - PROBE_EVERY)
    order = templates(images)

    async def probe(host: str, sample: str) -> tuple[str, int]:
        for index, template in enumerate(order):
            try:
                response = await fetcher.get(apply_template(template, sample), fetch.max_image_bytes, accept=IMAGE_ACCEPT)
            except FetchError:
                continue
            if _sniff(response.content) or response.content_type.startswith("image/"):
                return host, index
        return host, 0  # none serves it: keep the main proxy, the reader's browser may fare better

    found = dict(await asyncio.gather(*(probe(h, s) for h, s in samples.items() if h not in known)))
    if found:
        store.save_proxy_choices(found, now)
    return {**known, **found}
