"""`newsmirror serve`: the local web reader — the static site, plus server-side search.

The static site works without any server; on a machine that has the archive, this adds what a
browser alone cannot do well on a large archive: ranked full-text search over the SQLite index
(`/search?q=` as a page, `/api/search?q=` as JSON). It only reads; it binds to 127.0.0.1 unless
told otherwise. Its pages share the site's origin, so what they write is held to the site's
rule: a source link only when it is http(s) (`safe_link`), every text escaped.

The site links the published files beside it (`../articles/<id>/<n>.md`, `../feeds/<id>.xml`):
served at the root, those links reach the archive's root (a browser stops `..` there), so a path
the site does not hold is looked up among the published files, and nothing else of the folder.
"""

from __future__ import annotations

import html
import os
from datetime import datetime, tzinfo
from pathlib import PurePath

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ..archive import Archive
from ..dates import UTC8, iso
from ..editions import OPENCC
from ..render.links import safe_link
from ..render.site import SITE_DIR
from ..search import Hit, SearchError, open_search


def create_app(archive: Archive, zone: tzinfo = UTC8, store_url: str | None = None) -> Starlette:
    """The reader for one archive (its site must have been built: `newsmirror site`); days in `zone`,
    the display zone; search in the index `store_url` ([store] url) names."""

    def hits(request: Request) -> list[Hit]:
        query = request.query_params.get("q", "").strip()
        if not query:
            return []
        try:
            limit = max(1, min(200, int(request.query_params.get("limit", "50"))))
        except ValueError:
            limit = 50
        with open_search(archive.state_dir, store_url) as index:
            return index.search(query, feed=request.query_params.get("feed") or None, limit=limit)

    async def api(request: Request) -> JSONResponse:
        try:
            found = hits(request)
        except SearchError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse([{"feed": h.feed_id, "number": h.number, "title": h.title, "link": safe_link(h.link),
                              "published": iso(h.published), "page": f"articles/{h.feed_id}/{h.number}.html",
                              "snippet": h.snippet, "highlights": h.highlights} for h in found])

    async def page(request: Request) -> HTMLResponse:
        query = request.query_params.get("q", "").strip()
        try:
            found, error = hits(request), ""
        except SearchError as exc:
            found, error = [], str(exc)
        items = "".join(_result(h, zone) for h in found)
        summary = html.escape(error) if error else (f"{len(found)} 条结果" if query else "")
        return HTMLResponse(
            '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>搜索</title>'
            '<link rel="stylesheet" href="assets/site.css"></head><body><main>'
            '<p><a href="index.html">新闻镜像</a></p><form action="search" method="get" role="search">'
            f'<input type="search" name="q" value="{html.escape(query, quote=True)}" aria-label="搜索"> '
            f'<button type="submit">搜索</button></form><p class="meta">{summary}</p><ol class="results">{items}</ol>'
            "</main></body></html>")

    return Starlette(routes=[
        Route("/api/search", api),
        Route("/search", page),
        Mount("/", _Files(archive.root)),
    ])


PUBLISHED = frozenset({"README.md", "articles", "lists", "feeds", "media"})  # what the mirror publishes
# Feeds re-published under feeds/ (a browser shows them as what they are); Markdown as text.
MEDIA_TYPES = {".md": "text/markdown; charset=utf-8", ".xml": "application/rss+xml; charset=utf-8",
               ".atom": "application/atom+xml; charset=utf-8", ".json": "application/feed+json; charset=utf-8"}


def readable(rel: PurePath) -> bool:
    """Whether serve may answer with the file at `rel` (relative to the archive, links resolved):
    the site and the published files, those of edition trees too; never the configuration (it
    may hold proxy credentials), the state, `.git` or any other hidden file."""
    parts = rel.parts
    if any(part.startswith(".") for part in parts):
        return False
    if parts[:1] == (SITE_DIR,):
        return True
    if parts[:1] and parts[0] in OPENCC:  # zh-Hant/articles/...: an edition tree
        parts = parts[1:]
    return bool(parts) and parts[0] in PUBLISHED


class _Files(StaticFiles):
    """The site at the root, then the published files of the archive beside it, read-only."""

    def __init__(self, root: PurePath):
        super().__init__(directory=root / SITE_DIR, html=True, check_dir=False)
        self.root = root

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        # Links are resolved first: a link inside the folder to newsmirror.toml is refused too.
        root = os.path.realpath(self.root)
        for base in (os.path.join(root, SITE_DIR), root):
            full = os.path.realpath(os.path.join(base, path))
            if not readable(PurePath(os.path.relpath(full, root))):  # outside the folder: "../..."
                continue
            try:
                return full, os.stat(full)
            except (FileNotFoundError, NotADirectoryError):
                continue
        return "", None

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        path = PurePath(full_path)
        if media_type := MEDIA_TYPES.get(path.suffix):
            response.headers["content-type"] = media_type
        response.headers["x-content-type-options"] = "nosniff"
        if not path.is_relative_to(os.path.realpath(self.root / SITE_DIR)):
            # What outlets sent never runs on the reader's origin: an SVG copied to media/ and
            # opened by itself would run its scripts there.
            response.headers["content-security-policy"] = "script-src 'none'"
        return response


def _result(h: Hit, zone: tzinfo) -> str:
    """One result of the search page: a link to the site's own page, never to the source."""
    page = html.escape(f"articles/{h.feed_id}/{h.number}.html", quote=True)
    return (f'<li><a href="{page}">{html.escape(h.title)}</a> '
            f'<small>{html.escape(h.feed_id)} · {datetime.fromtimestamp(h.published / 1000, zone):%Y-%m-%d}</small>'
            f"<p>{html.escape(h.marked(chr(1), chr(2))).replace(chr(1), '<mark>').replace(chr(2), '</mark>')}</p></li>")
