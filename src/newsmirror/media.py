"""Images on the network: local copies, and which image proxy serves which host.

Local copies (`images.mode = "local"`): each image downloaded once into the archive,
content-addressed by SHA-256 (`media/<aa>/<sha256>.<ext>`), so one image used by many articles
or feeds is stored once; the content type is checked (an HTML error page is not an image), the
size bounded, and hot-link-protected hosts get the Referer they expect (sites.REFERERS).

A copy is what a reader behind a slow, filtered link can load: resized to `images.max_width`
(never enlarged, EXIF orientation applied) and re-encoded as WebP (transparency kept) or JPEG
(transparency on white), metadata stripped but for the colour profile. The name is the hash of
the *source* bytes, not of the output: the same image reached by another URL is found before it
is decoded, a change of settings or of Pillow's encoder never stores a second copy, and the
paths already written in articles stay valid. Animated images are kept as they are (a first
frame would lose what they show; re-encoding animations costs a frame at a time). SVG is kept
as it is (vector: no pixels to bound; `serve` forbids its scripts). An image over MAX_PIXELS is
refused from its header, before anything is decoded; one Pillow cannot read keeps its URL, like
any image that cannot be had.

Decoding runs in threads (asyncio.to_thread), CONVERSIONS at once: Pillow's decoders, resizing
and encoders are C that releases the GIL, their time is bounded by the pixel limit (no
pathological input as a parser's regular expressions have, which is why those run in killable
worker processes), and sending megabytes of image to a worker would only add copies.

Proxy fallbacks (`images.fallbacks`): a proxy may refuse some hosts; one sample image per host
is requested through each template in turn, and the first that answers with an image serves
that host's images (remembered for a week).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import warnings
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from . import archive as files
from . import urls as links
from .config import FetchSettings, ImageSettings
from .fetch import Fetcher, FetchError
from .images import apply_template, proxy_hosts, templates
from .sites import referer_for
from .store import Store

if TYPE_CHECKING:
    from PIL import Image

PROBE_EVERY = 7 * 24 * 3600 * 1000
IMAGE_ACCEPT = "image/avif,image/webp,image/*;q=0.9"

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
               "image/avif": "avif", "image/svg+xml": "svg", "image/bmp": "bmp"}
_OUTPUTS = {"webp": ("WEBP", "webp"), "jpeg": ("JPEG", "jpg")}  # images.format -> (Pillow format, extension)
MAX_PIXELS = 40_000_000  # 8000 x 5000: ~160 MB decoded; a larger image is refused before decoding
CONVERSIONS = max(1, os.cpu_count() or 1)  # images decoded at once: memory stays a few x MAX_PIXELS


class ImageError(ValueError):
    """An image that cannot be copied: unreadable, or too large to decode."""


def recompress(data: bytes, settings: ImageSettings) -> tuple[bytes, str] | None:
    """(bytes, extension) of the copy to store, or None when `data` is kept as it is (animated).

    Raises ImageError for an image Pillow cannot read or one over MAX_PIXELS.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError  # loaded when a local copy is made

    # MAX_PIXELS, checked below, is stricter than the limit Pillow warns of on stderr.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    unreadable = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
    try:
        source = Image.open(io.BytesIO(data))  # the header only
    except UnidentifiedImageError:
        raise ImageError("not an image (no known format)") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"too large to decode ({exc})") from None
    except unreadable as exc:
        raise ImageError(f"not a readable image ({exc})") from None
    if source.width * source.height > MAX_PIXELS:
        raise ImageError(f"too large to decode ({source.width} x {source.height} pixels)")
    if getattr(source, "is_animated", False):
        return None
    pillow_format, extension = _OUTPUTS[settings.format]
    out = io.BytesIO()
    try:
        source.draft("RGB", (settings.max_width, settings.max_width))  # JPEG: decoded at a fraction of the size
        image = _flat(ImageOps.exif_transpose(source), keep_alpha=pillow_format == "WEBP")  # decodes
        if image.width > settings.max_width:
            height = max(1, round(image.height * settings.max_width / image.width))
            image = image.resize((settings.max_width, height), Image.Resampling.LANCZOS)
        image.save(out, pillow_format, quality=settings.quality, icc_profile=source.info.get("icc_profile"),
                   optimize=pillow_format == "JPEG")
    except unreadable as exc:
        raise ImageError(f"not a readable image ({exc})") from None
    return out.getvalue(), extension


def _flat(image: Image.Image, keep_alpha: bool) -> Image.Image:
    """RGB(A) pixels: transparency kept (`keep_alpha`) or laid on white, as a browser shows it."""
    from PIL import Image

    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    if keep_alpha:
        return rgba
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _stored(folder: Path, digest: str, kind: str) -> str | None:
    """The name of the copy already made of the source with this hash, whatever the format it
    was made in (a copy kept as it is, or made before copies were re-encoded, has the source's)."""
    names = (f"{digest}.{extension}" for extension in ("webp", "jpg", _EXTENSIONS[kind]))
    return next((name for name in names if (folder / name).exists()), None)


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
    missing = list(dict.fromkeys(u for u in urls if u not in known))
    conversions = asyncio.Semaphore(CONVERSIONS)
    sources: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

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
        async with sources[digest]:  # the same bytes by several URLs in this pass: decoded once
            return url, *await _copy(response.content, kind, digest, root, images, conversions), now

    rows = await asyncio.gather(*(one(u) for u in missing))
    if rows:
        store.save_images(rows)
    known.update({url: path for url, path, _, _ in rows})
    return {url: path for url, path in known.items() if path}


async def _copy(data: bytes, kind: str, digest: str, root: Path, images: ImageSettings,
                conversions: asyncio.Semaphore) -> tuple[str | None, str | None]:
    """(path relative to `root`, None) of the copy of the source with this hash, made unless it
    exists; (None, error) when it cannot be made."""
    folder = f"media/{digest[:2]}"
    if name := _stored(root / folder, digest, kind):
        return f"{folder}/{name}", None
    extension = _EXTENSIONS[kind]
    if kind != "image/svg+xml":
        try:
            async with conversions:
                copy = await asyncio.to_thread(recompress, data, images)
        except ImageError as exc:
            return None, str(exc)
        if copy is not None:
            data, extension = copy
    relative = f"{folder}/{digest}.{extension}"
    await asyncio.to_thread(files.write_bytes, root / relative, data)
    return relative, None


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
