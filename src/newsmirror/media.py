"""Local image copies (`images.mode = "local"`): each image downloaded once into the archive.

Content-addressed by SHA-256 (`media/<aa>/<sha256>.<ext>`), so one image used by many articles
or feeds is stored once; the content type is checked (an HTML error page is not an image), the
size bounded, and hot-link-protected hosts get the Referer they expect (sites.REFERERS).
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from . import archive as files
from .config import FetchSettings, ImageSettings
from .fetch import Fetcher, FetchError
from .sites import referer_for
from .store import Store

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
                                         accept="image/avif,image/webp,image/*;q=0.9")
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
